/// Azure Resource Manager shapes, as in the REST API specification examples.
struct ARMList<Item: Decodable & Sendable>: Decodable, Sendable {
    var value: [Item]
    var nextLink: String?
}

struct ARMSubscription: Decodable, Sendable {
    var subscriptionId: String
}

struct ARMResource: Decodable, Sendable {
    var id: String
}

/// `Microsoft.KeyVault/vaults/{v}`. A missing field means "default or unknown", never false.
struct ARMVault: Decodable, Sendable {
    struct Properties: Decodable, Sendable {
        var enableSoftDelete: Bool?
        var enablePurgeProtection: Bool?
        var enableRbacAuthorization: Bool?
        var accessPolicies: [AccessPolicy]?
        /// `Enabled` or `Disabled`; absent means enabled.
        var publicNetworkAccess: String?
        var networkAcls: NetworkACLs?
        var privateEndpointConnections: [PrivateEndpointConnection]?
    }

    var id: String
    var properties: Properties
}

/// The vault firewall: `defaultAction` Deny turns it on; `bypass` AzureServices lets trusted Microsoft services in.
struct NetworkACLs: Decodable, Sendable {
    struct IPRule: Decodable, Sendable { var value: String }
    struct VirtualNetworkRule: Decodable, Sendable { var id: String }

    var defaultAction: String?
    var bypass: String?
    var ipRules: [IPRule]?
    var virtualNetworkRules: [VirtualNetworkRule]?
}

struct PrivateEndpointConnection: Decodable, Sendable {
    var id: String?
}

struct AccessPolicy: Decodable, Sendable {
    struct Permissions: Decodable, Sendable {
        var keys: [String]?
    }

    var objectId: String
    /// Set for a compound identity: the entry grants only when that application acts for `objectId`.
    var applicationId: String?
    var permissions: Permissions
}

/// One hit of a Resource Graph query (`resultFormat` objectArray, the default since 2021-03-01).
struct ResourceGraphAnswer: Decodable, Sendable {
    var data: [ARMResource]
}

/// `…/vaults/{v}/keys/{k}`: readable with Reader rights when the data plane is forbidden.
struct ARMKey: Decodable, Sendable {
    struct Properties: Decodable, Sendable {
        var kty: String?
        var keySize: Int?
        var keyOps: [String]?
        var attributes: KeyAttributes?
        /// `https://{vault}:443/keys/{name}/{version}`: which version this answer is about.
        var keyUriWithVersion: String?
        var rotationPolicy: RotationPolicy?
    }

    var name: String
    var properties: Properties
}

/// A name from an ARM list (`…/vaults/{v}/secrets`).
struct ARMNamed: Decodable, Sendable {
    var name: String
}

/// `/subscriptions/{s}/providers/Microsoft.KeyVault/deletedVaults` (or `deletedManagedHSMs`): a
/// vault or HSM kept by soft delete.
struct ARMDeletedVault: Decodable, Sendable {
    struct Properties: Decodable, Sendable {
        var vaultId: String?
        /// A deleted Managed HSM's id.
        var mhsmId: String?
        var location: String?
        /// ISO 8601 date-times.
        var deletionDate: String?
        var scheduledPurgeDate: String?
    }

    var name: String
    var properties: Properties
}

struct RoleAssignment: Decodable, Sendable {
    struct Properties: Decodable, Sendable {
        var roleDefinitionId: String
        var principalId: String
        /// `ServicePrincipal`, `Group`, `User`: a group-held assignment names the group.
        var principalType: String?
        var scope: String
    }

    var properties: Properties

    /// The role definition's GUID, the last segment of `roleDefinitionId`.
    var roleID: String { properties.roleDefinitionId.split(separator: "/").last.map { $0.lowercased() } ?? "" }
}
