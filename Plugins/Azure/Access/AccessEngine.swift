/// Whether a principal can read, wrap and unwrap one key, decided as Azure decides it.
///
/// Pure functions over decoded values, so that every rule is tested with a table of cases and the
/// checks only ask "can this principal use this key, and through what?". The HTTP calls that
/// gather the facts stay in the clients.
///
/// RBAC: an assignment counts when its scope holds the key (the key, the vault, its resource
/// group, its subscription, a management group or `/`) and its role definition's `dataActions`
/// cover an action that its `notDataActions` do not take away; a deny assignment that reaches the
/// principal at such a scope removes the action whatever the roles say.
enum AccessEngine {
    static let keyRead = "Microsoft.KeyVault/vaults/keys/read"
    static let keyWrap = "Microsoft.KeyVault/vaults/keys/wrap/action"
    static let keyUnwrap = "Microsoft.KeyVault/vaults/keys/unwrap/action"
    static let required = [keyRead, keyWrap, keyUnwrap]
    /// The Entra "Everyone" principal of system deny assignments.
    static let everyone = "00000000-0000-0000-0000-000000000000"
    /// Data actions a CMK grantee has no use for; a role that grants one is wider than needed.
    static let beyondKeys = [
        "Microsoft.KeyVault/vaults/secrets/getSecret/action", "Microsoft.KeyVault/vaults/certificates/read",
    ]
    static let leastPrivilegeRole = "Key Vault Crypto Service Encryption User"

    /// The key whose access is asked about, by its ARM path.
    struct Target: Sendable {
        var subscription: String
        var resourceGroup: String
        var vaultPath: String
        var keyName: String

        init(vault: VaultResourceID, keyName: String) {
            subscription = "/subscriptions/\(vault.subscriptionID)".lowercased()
            resourceGroup = "\(subscription)/resourcegroups/\(vault.resourceGroup.lowercased())"
            vaultPath = vault.path.lowercased()
            self.keyName = keyName.lowercased()
        }
    }

    /// Where an assignment sits relative to the key; higher levels reach more than this vault.
    enum Level: Int, Sendable, Comparable {
        case key, vault, resourceGroup, subscription, managementGroup, root

        static func < (lhs: Level, rhs: Level) -> Bool { lhs.rawValue < rhs.rawValue }

        var name: String {
            switch self {
            case .key: "key"
            case .vault: "vault"
            case .resourceGroup: "resource group"
            case .subscription: "subscription"
            case .managementGroup: "management group"
            case .root: "root (/)"
            }
        }
    }

    /// The level of `scope` when it holds the key; nil for a scope elsewhere (another key, another vault).
    ///
    /// A management group is taken as holding the vault: ARM only lists, at the vault's scope,
    /// the assignments of management groups above it.
    static func level(of scope: String, for target: Target) -> Level? {
        var scope = scope.lowercased()
        while scope.count > 1, scope.hasSuffix("/") { scope.removeLast() }
        if scope == "/" { return .root }
        if scope.hasPrefix("/providers/microsoft.management/managementgroups/") { return .managementGroup }
        if scope == target.subscription { return .subscription }
        if scope == target.resourceGroup { return .resourceGroup }
        if scope == target.vaultPath { return .vault }
        if scope == "\(target.vaultPath)/keys/\(target.keyName)" { return .key }
        return nil
    }

    /// One assignment that gives the principal some of the required actions.
    struct Grant: Sendable, Equatable {
        var roleName: String
        var scope: String
        var level: Level
        /// The group that holds the assignment, when it is not the principal's own.
        var group: String?
        var actions: [String]
        /// Why it is wider than needed (empty when it is not).
        var wider: [String]

        var described: String {
            "\(roleName) at \(scope)" + (group.map { " (through group \($0))" } ?? "")
        }
    }

    struct Denial: Sendable, Equatable {
        var name: String
        var scope: String
        var actions: [String]
    }

    /// The answer for an RBAC vault.
    struct RBACVerdict: Sendable, Equatable {
        var grants: [Grant]
        var denials: [Denial]
        /// Required actions no grant gives, or a denial removes.
        var missing: [String]
        /// Role definitions that could not be read: their assignments may grant more than counted.
        var unreadRoles: [String]

        var granted: Bool { missing.isEmpty }
        var wider: [Grant] { grants.filter { !$0.wider.isEmpty } }
    }

    /// Evaluates `assignments` (ARM's `assignedTo` listing: the principal's own and its groups')
    /// with their `definitions` (by role GUID, lowercased) and the `denials` listed at the vault.
    static func rbac(
        principal: String,
        groups: Set<String>,
        assignments: [RoleAssignment],
        definitions: [String: RoleDefinition],
        denyAssignments: [DenyAssignment],
        target: Target
    ) -> RBACVerdict {
        let me = principal.lowercased()
        let groups = Set(groups.map { $0.lowercased() })
        var grants: [Grant] = []
        var unread: [String] = []
        for assignment in assignments {
            guard let level = level(of: assignment.properties.scope, for: target) else { continue }
            guard let definition = definitions[assignment.roleID] else {
                unread.append(assignment.roleID)
                continue
            }
            let permissions = definition.properties.permissions
            let actions = required.filter { ActionPattern.allowsData(permissions, $0) }
            guard !actions.isEmpty else { continue }
            var wider: [String] = []
            let beyond = beyondKeys.filter { ActionPattern.allowsData(permissions, $0) }
            if !beyond.isEmpty {
                wider.append(
                    beyond.contains(beyondKeys[0])
                        ? "it also reads secrets" : "it also grants vault operations beyond keys"
                )
            }
            if level >= .subscription {
                wider.append("at \(level.name) scope it reaches every vault below, not only this one")
            }
            let holder = assignment.properties.principalId.lowercased()
            let viaGroup =
                holder != me || assignment.properties.principalType?.lowercased() == "group"
                ? assignment.properties.principalId : nil
            grants.append(
                Grant(
                    roleName: definition.roleName,
                    scope: assignment.properties.scope,
                    level: level,
                    group: viaGroup,
                    actions: actions,
                    wider: wider
                )
            )
        }
        let reached = groups.union([me, everyone])
        var denials: [Denial] = []
        for deny in denyAssignments {
            let properties = deny.properties
            guard let level = level(of: properties.scope, for: target) else { continue }
            if properties.doNotApplyToChildScopes == true, level != .key { continue }
            let principals = Set((properties.principals ?? []).map { $0.id.lowercased() })
            let excluded = Set((properties.excludePrincipals ?? []).map { $0.id.lowercased() })
            guard !principals.isDisjoint(with: reached), excluded.isDisjoint(with: groups.union([me])) else { continue }
            let actions = required.filter { ActionPattern.allowsData(properties.permissions, $0) }
            if !actions.isEmpty {
                denials.append(Denial(name: deny.displayName, scope: properties.scope, actions: actions))
            }
        }
        let given = Set(grants.flatMap(\.actions))
        let removed = Set(denials.flatMap(\.actions))
        let missing = required.filter { !given.contains($0) || removed.contains($0) }
        return RBACVerdict(
            grants: grants.sorted { $0.level < $1.level },
            denials: denials,
            missing: missing,
            unreadRoles: Array(Set(unread)).sorted()
        )
    }

    /// The answer for an access-policy vault.
    struct PolicyVerdict: Sendable, Equatable {
        /// Who the counting entries are for: `its own entry`, `group <id>`.
        var through: [String]
        var missing: [String]
        /// Entries for the principal with an `applicationId`: they grant only on-behalf-of, so never count.
        var compoundIgnored: Bool

        var granted: Bool { missing.isEmpty }
    }

    static let policyPermissions = ["get", "wrapKey", "unwrapKey"]

    /// Evaluates access-policy entries for `principal` and the groups it belongs to; `all` covers every permission.
    static func accessPolicies(_ policies: [AccessPolicy], principal: String, groups: Set<String>) -> PolicyVerdict {
        let me = principal.lowercased()
        let groups = Set(groups.map { $0.lowercased() })
        var granted: Set<String> = []
        var through: [String] = []
        var compound = false
        for policy in policies {
            let holder = policy.objectId.lowercased()
            guard holder == me || groups.contains(holder) else { continue }
            if let application = policy.applicationId, !application.isEmpty {
                compound = true
                continue
            }
            let keys = (policy.permissions.keys ?? []).map { $0.lowercased() }
            let gives = keys.contains("all") ? policyPermissions.map { $0.lowercased() } : keys
            let useful = gives.filter { policyPermissions.map { $0.lowercased() }.contains($0) }
            guard !useful.isEmpty else { continue }
            granted.formUnion(useful)
            let who = holder == me ? "its own entry" : "group \(policy.objectId)"
            if !through.contains(who) { through.append(who) }
        }
        return PolicyVerdict(
            through: through,
            missing: policyPermissions.filter { !granted.contains($0.lowercased()) },
            compoundIgnored: compound
        )
    }
}
