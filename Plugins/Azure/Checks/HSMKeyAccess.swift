import CMKCore

/// app-key-access for a Managed HSM: its own local RBAC, not ARM's.
///
/// An HSM authorises data-plane calls with role assignments kept in the HSM itself, at scope
/// `/`, `/keys` or `/keys/{name}`. A role counts when its definition's data actions (with `*`
/// wildcards) cover reading the key and wrapping and unwrapping with it, and its not-data
/// actions do not take them away; without the definitions, only the built-in Managed HSM Crypto
/// Service Encryption User is taken as granting.
enum HSMKeyAccess {
    static let serviceEncryptionUser = "33413926-3206-4cdd-b39a-83574fe37a17"
    static let roleName = "Managed HSM Crypto Service Encryption User"
    static let requiredActions = [
        "Microsoft.KeyVault/managedHsm/keys/read/action", "Microsoft.KeyVault/managedHsm/keys/wrap/action",
        "Microsoft.KeyVault/managedHsm/keys/unwrap/action",
    ]

    /// What the HSM says: the principal's assignments and, when readable, the role definitions.
    struct Grants: Sendable {
        var assignments: [HSMRoleAssignment]
        var definitions: [HSMRoleDefinition]?
    }

    static func evaluate(_ grants: Result<Grants, CallFailure>, objectID: String, context: CheckContext) -> Check {
        let id = CheckID.appKeyAccess.rawValue
        let value: Grants
        switch grants {
        case .success(let found): value = found
        case .failure(let failure):
            return StaticChecks.unknown(
                .appKeyAccess,
                "Cannot read the Managed HSM's local role assignments: \(failure.reason)",
                remediation: "Check with: az keyvault role assignment list --hsm-name \(context.vaultName) "
                    + "--assignee-object-id \(objectID)"
            )
        }
        let keyScope = "/keys/\(context.keyName.lowercased())"
        let granting = value.assignments.first { assignment in
            var scope = assignment.properties.scope.lowercased()
            while scope.count > 1, scope.hasSuffix("/") { scope.removeLast() }
            return [keyScope, "/keys", "/"].contains(scope)
                && assignment.properties.principalId.lowercased() == objectID.lowercased()
                && grantsKeyUse(assignment.roleID, definitions: value.definitions)
        }
        guard let granting else {
            return Check(
                id: id,
                state: .actionRequired,
                summary: "The vendor's application (object id \(objectID)) holds no Managed HSM local role that lets "
                    + "it read \(context.keyName) and wrap and unwrap with it",
                remediation: command(context, objectID)
            )
        }
        let name =
            value.definitions?.first { $0.name.lowercased() == granting.roleID }?.properties?.roleName
            ?? (granting.roleID == serviceEncryptionUser ? roleName : granting.roleID)
        return Check(
            id: id,
            state: .ok,
            summary: "The vendor's application holds \(name) at \(granting.properties.scope) in the Managed HSM"
        )
    }

    static func command(_ context: CheckContext, _ objectID: String) -> String {
        "az keyvault role assignment create --hsm-name \(context.vaultName) --role \"\(roleName)\" "
            + "--assignee-object-id \(objectID) --scope /keys/\(context.keyName)"
    }

    /// Whether the role lets its holder read, wrap and unwrap with keys.
    static func grantsKeyUse(_ roleID: String, definitions: [HSMRoleDefinition]?) -> Bool {
        guard let definition = definitions?.first(where: { $0.name.lowercased() == roleID }) else {
            return roleID == serviceEncryptionUser
        }
        let permissions = definition.properties?.permissions ?? []
        return requiredActions.allSatisfy { action in
            permissions.contains { permission in
                (permission.dataActions ?? []).contains { matches($0, action) }
                    && !(permission.notDataActions ?? []).contains { matches($0, action) }
            }
        }
    }

    /// `Microsoft.KeyVault/managedHsm/keys/*` against an action, case-insensitively.
    static func matches(_ pattern: String, _ action: String) -> Bool {
        let parts = pattern.lowercased().split(separator: "*", omittingEmptySubsequences: false)
        var rest = Substring(action.lowercased())
        guard let first = parts.first, rest.hasPrefix(first) else { return false }
        rest = rest.dropFirst(first.count)
        if parts.count == 1 { return rest.isEmpty }
        for part in parts.dropFirst().dropLast() {
            guard let range = rest.firstRange(of: part) else { return false }
            rest = rest[range.upperBound...]
        }
        return rest.hasSuffix(parts.last!)
    }
}
