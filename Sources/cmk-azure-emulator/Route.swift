/// What a request is for, from its original host and path; `id` names it in faults and the log.
enum Route: Sendable, Equatable {
    case loginToken(tenant: String)
    case instanceMetadata
    case metadataToken
    case appServiceToken
    case subscriptions
    case resources(subscription: String)
    case vault(VaultPath)
    case armKey(VaultPath, name: String)
    case armKeyVersion(VaultPath, name: String, version: String)
    case armKeys(VaultPath)
    case armSecrets(VaultPath)
    case deletedVaults(subscription: String, hsm: Bool)
    case roleAssignments(VaultPath)
    case denyAssignments(VaultPath)
    case permissions(VaultPath)
    case roleDefinition(id: String)
    case resourceGraph
    case servicePrincipal(appID: String)
    case servicePrincipalGroups(objectID: String)
    case memberOf
    case transitiveRoleAssignments
    case roleEligibility
    case vaultKey(vault: String, name: String, version: String?)
    case vaultKeys(vault: String)
    case rotationPolicy(vault: String, name: String)
    case deletedKey(vault: String, name: String)
    /// `secrets` or `certificates`.
    case vaultObjects(vault: String, collection: String)
    /// A Managed HSM's local RBAC: `roleAssignments` or `roleDefinitions`.
    case hsmRoles(vault: String, collection: String)
    case notFound

    /// A vault's ARM path parts.
    struct VaultPath: Sendable, Equatable {
        /// `vaults` or `managedhsms`, lowercased.
        var kind: String
        var subscription: String
        var resourceGroup: String
        var name: String
    }

    var id: String {
        switch self {
        case .loginToken: "login.token"
        case .instanceMetadata: "imds.instance"
        case .metadataToken: "imds.token"
        case .appServiceToken: "appservice.token"
        case .subscriptions: "arm.subscriptions"
        case .resources: "arm.resources"
        case .vault: "arm.vault"
        case .armKey: "arm.key"
        case .armKeyVersion: "arm.keyVersion"
        case .armKeys: "arm.keys"
        case .armSecrets: "arm.secrets"
        case .deletedVaults: "arm.deletedVaults"
        case .roleAssignments: "arm.roleAssignments"
        case .denyAssignments: "arm.denyAssignments"
        case .permissions: "arm.permissions"
        case .roleDefinition: "arm.roleDefinition"
        case .resourceGraph: "arm.resourceGraph"
        case .servicePrincipal: "graph.servicePrincipal"
        case .servicePrincipalGroups: "graph.servicePrincipalGroups"
        case .memberOf: "graph.memberOf"
        case .transitiveRoleAssignments: "graph.transitiveRoleAssignments"
        case .roleEligibility: "graph.roleEligibility"
        case .vaultKey: "vault.key"
        case .vaultKeys: "vault.keys"
        case .rotationPolicy: "vault.rotationPolicy"
        case .deletedKey: "vault.deletedKey"
        case .vaultObjects(_, let collection): "vault.\(collection)"
        case .hsmRoles(_, let collection): "hsm.\(collection)"
        case .notFound: "not-found"
        }
    }

    init(method: String, host: String, path: String) {
        let segments = path.split(separator: "/").map(String.init)
        let lower = segments.map { $0.lowercased() }
        if host == "169.254.169.254" {
            self =
                lower == ["metadata", "instance"]
                ? .instanceMetadata
                : lower == ["metadata", "identity", "oauth2", "token"] ? .metadataToken : .notFound
        } else if lower.count >= 2, lower.suffix(2) == ["msi", "token"] {
            self = .appServiceToken
        } else if host.hasPrefix("login.") {
            self =
                method == "POST" && lower.count == 4 && Array(lower[1...]) == ["oauth2", "v2.0", "token"]
                ? .loginToken(tenant: segments[0]) : .notFound
        } else if host.hasPrefix("management.") {
            self = Self.management(segments, lower)
        } else if host.hasPrefix("graph.") || host.hasPrefix("microsoftgraph.") {
            let prefix = "servicePrincipals(appId='"
            if segments.count == 2, segments[0] == "v1.0", segments[1].hasPrefix(prefix), segments[1].hasSuffix("')") {
                self = .servicePrincipal(appID: String(segments[1].dropFirst(prefix.count).dropLast(2)))
            } else if lower.count == 4, lower[0] == "v1.0", lower[1] == "serviceprincipals",
                lower[3] == "transitivememberof"
            {
                self = .servicePrincipalGroups(objectID: segments[2])
            } else {
                switch lower {
                case ["v1.0", "me", "memberof"]: self = .memberOf
                case ["v1.0", "rolemanagement", "directory", "transitiveroleassignments"]:
                    self = .transitiveRoleAssignments
                case ["v1.0", "rolemanagement", "directory", "roleeligibilityscheduleinstances"]:
                    self = .roleEligibility
                default: self = .notFound
                }
            }
        } else if host.contains(".vault.") || host.contains(".managedhsm.") {
            let vault = String(host.prefix { $0 != "." })
            switch lower.count {
            case 1 where lower[0] == "keys": self = .vaultKeys(vault: vault)
            case 1 where lower[0] == "secrets" || lower[0] == "certificates":
                self = .vaultObjects(vault: vault, collection: lower[0])
            case 2 where lower[0] == "keys": self = .vaultKey(vault: vault, name: segments[1], version: nil)
            case 2 where lower[0] == "deletedkeys": self = .deletedKey(vault: vault, name: segments[1])
            case 3 where lower[0] == "keys" && lower[2] == "rotationpolicy":
                self = .rotationPolicy(vault: vault, name: segments[1])
            case 3 where lower[0] == "keys": self = .vaultKey(vault: vault, name: segments[1], version: segments[2])
            case 3
            where lower[0] == "providers" && lower[1] == "microsoft.authorization"
                && (lower[2] == "roleassignments" || lower[2] == "roledefinitions"):
                self = .hsmRoles(
                    vault: vault,
                    collection: lower[2] == "roleassignments" ? "roleAssignments" : "roleDefinitions"
                )
            default: self = .notFound
            }
        } else {
            self = .notFound
        }
    }

    private static func management(_ segments: [String], _ lower: [String]) -> Route {
        if lower == ["subscriptions"] { return .subscriptions }
        if lower == ["providers", "microsoft.resourcegraph", "resources"] { return .resourceGraph }
        if lower.count >= 4, lower.suffix(4).dropLast() == ["providers", "microsoft.authorization", "roledefinitions"] {
            return .roleDefinition(id: segments[segments.count - 1])
        }
        if lower.count == 3, lower[0] == "subscriptions", lower[2] == "resources" {
            return .resources(subscription: segments[1])
        }
        if lower.count == 5, lower[0] == "subscriptions", lower[2] == "providers", lower[3] == "microsoft.keyvault",
            lower[4] == "deletedvaults" || lower[4] == "deletedmanagedhsms"
        {
            return .deletedVaults(subscription: segments[1], hsm: lower[4] == "deletedmanagedhsms")
        }
        guard lower.count >= 8, lower[0] == "subscriptions", lower[2] == "resourcegroups", lower[4] == "providers",
            lower[5] == "microsoft.keyvault", lower[6] == "vaults" || lower[6] == "managedhsms"
        else { return .notFound }
        let vault = VaultPath(kind: lower[6], subscription: segments[1], resourceGroup: segments[3], name: segments[7])
        let rest = Array(lower.dropFirst(8))
        switch rest.count {
        case 0: return .vault(vault)
        case 1 where rest[0] == "keys": return .armKeys(vault)
        case 1 where rest[0] == "secrets": return .armSecrets(vault)
        case 2 where rest[0] == "keys": return .armKey(vault, name: segments[9])
        case 4 where rest[0] == "keys" && rest[2] == "versions":
            return .armKeyVersion(vault, name: segments[9], version: segments[11])
        case 3 where rest == ["providers", "microsoft.authorization", "roleassignments"]: return .roleAssignments(vault)
        case 3 where rest == ["providers", "microsoft.authorization", "denyassignments"]: return .denyAssignments(vault)
        case 3 where rest == ["providers", "microsoft.authorization", "permissions"]: return .permissions(vault)
        default: return .notFound
        }
    }
}
