import FoundationEssentials

/// A tenant as the emulator serves it; the format is documented in docs/azure.md.
///
/// Only identities and the differences from the REST specification examples are written in a
/// scenario: vault, key and role-assignment bodies are the fixtures, patched.
struct Scenario: Decodable, Sendable {
    struct Application: Decodable, Sendable {
        var clientId: String
        var clientSecret: String?
        /// A workload identity's federated token: the accepted `client_assertion`.
        var federatedAssertion: String?
        var objectId: String
    }

    struct ManagedIdentity: Decodable, Sendable {
        var objectId: String
        /// What `X-IDENTITY-HEADER` must carry on the App Service endpoint.
        var identityHeader: String?
    }

    struct User: Decodable, Sendable {
        var objectId: String
        /// Role template ids held directly.
        var directoryRoles: [String]?
        /// Roles held through role-assignable groups.
        var groupRoles: [GroupRole]?
        /// Role template ids the user may activate in PIM.
        var eligibleRoles: [String]?
        /// What the ARM permissions API answers for the user at any scope (default `*/read`).
        var armActions: [String]?
    }

    struct GroupRole: Decodable, Sendable {
        var groupId: String
        var roleTemplateId: String
    }

    struct ServicePrincipal: Decodable, Sendable {
        var appId: String?
        var objectId: String
        var accountEnabled: Bool?
        var appOwnerOrganizationId: String?
    }

    /// A directory group and its members' object ids (transitive membership is not modelled).
    struct Group: Decodable, Sendable {
        var id: String
        var members: [String]
    }

    /// A deny assignment: who it reaches, where, and which data actions it removes.
    struct DenyAssignment: Decodable, Sendable {
        var name: String
        var principals: [String]
        var excludePrincipals: [String]?
        var dataActions: [String]
        var notDataActions: [String]?
        /// As for role assignments (`vault`, `subscription`, …, or absolute).
        var scope: String?
        var doNotApplyToChildScopes: Bool?
    }

    struct Key: Decodable, Sendable {
        var name: String
        var version: String?
        var kty: String?
        var keySize: Int?
        var keyOps: [String]?
        /// Patched over the fixture's attributes (`enabled`, `exp`, `recoveryLevel`…).
        var attributes: JSONValue?
        /// Versions before the current one (`version`), each with its own attributes.
        var olderVersions: [KeyVersion]?
        /// The body of `GET /keys/{name}/rotationpolicy`; absent: a policy without a Rotate action.
        var rotationPolicy: JSONValue?
    }

    struct KeyVersion: Decodable, Sendable {
        var version: String
        var attributes: JSONValue?
    }

    /// A soft-deleted key or vault: dates as Key Vault writes them (data plane: seconds since 1970;
    /// ARM: ISO 8601).
    struct DeletedKey: Decodable, Sendable {
        var name: String
        var deletedDate: Int
        var scheduledPurgeDate: Int
    }

    struct DeletedVault: Decodable, Sendable {
        var subscriptionId: String
        var resourceGroup: String
        var name: String
        var location: String?
        var deletionDate: String
        var scheduledPurgeDate: String
        /// `managedHSM` for a deleted Managed HSM.
        var kind: String?
    }

    struct RoleAssignment: Decodable, Sendable {
        var principalId: String
        /// A role definition GUID.
        var roleDefinitionId: String
        /// `vault`, `key:<name>`, `subscription`, `resourceGroup`, or an absolute scope.
        var scope: String?
        /// `ServicePrincipal` by default; `Group` when `principalId` is one of `groups`.
        var principalType: String?
    }

    struct Vault: Decodable, Sendable {
        var subscriptionId: String
        var resourceGroup: String
        var name: String
        var location: String?
        /// Patched over the fixture vault's `properties` (`null` removes a field).
        var properties: JSONValue?
        /// `forbidden` answers 403 to every data-plane call made with a token; `firewall` answers 403
        /// ForbiddenByFirewall (cmk's own address is outside the vault's firewall).
        var dataPlane: String?
        /// The tenant the vault's challenge names (another tenant than the scenario's: a mismatch).
        var tenantId: String?
        var denyAssignments: [DenyAssignment]?
        /// The `resource` the 401 challenge names; by default the vault suffix's audience.
        var challengeResource: String?
        var keys: [Key]?
        var roleAssignments: [RoleAssignment]?
        /// `managedHSM` for a Managed HSM (host `{name}.managedhsm.azure.net`, ARM `managedHSMs`).
        var kind: String?
        /// Names of the vault's secrets and certificates (each certificate also gets its managed
        /// key and secret, as Key Vault makes them).
        var secrets: [String]?
        var certificates: [String]?
        var deletedKeys: [DeletedKey]?
        /// A Managed HSM's local role assignments; `scope` is `/`, `/keys` or `/keys/{name}`.
        var hsmRoleAssignments: [RoleAssignment]?
        /// Custom local role definitions, served after the built-in ones.
        var hsmRoleDefinitions: [JSONValue]?

        var isHSM: Bool { kind?.lowercased() == "managedhsm" }
        /// `vaults` or `managedHSMs`, as in the ARM id.
        var armKind: String { isHSM ? "managedHSMs" : "vaults" }
    }

    /// A fault on one route: `route` is a route id (`arm.vault`) or `*`.
    struct Fault: Decodable, Sendable {
        var route: String
        /// How many matching requests pass untouched first (1: the second request is the first hit).
        var after: Int?
        /// How many requests it hits; nil for all of them.
        var times: Int?
        var status: Int?
        var retryAfter: Int?
        var malformed: Bool?
        var drop: Bool?
        var delayMs: Int?
        /// Answers with a redirect (`status`, default 307) to this URL: a client must not follow
        /// it with the request's bearer token.
        var location: String?
    }

    var tenantId: String
    var latencyMs: Int?
    /// Seconds from issue to a token's `exp` claim (default: tokens valid until 2100).
    var tokenLifetime: Int?
    var applications: [Application]?
    var managedIdentity: ManagedIdentity?
    var instance: JSONValue?
    var user: User?
    var servicePrincipal: ServicePrincipal?
    var subscriptions: [String]?
    var vaults: [Vault]?
    var groups: [Group]?
    /// Custom role definitions, served beside the built-in ones (full ARM bodies).
    var roleDefinitions: [JSONValue]?
    var deletedVaults: [DeletedVault]?
    /// Role assignments per page (0 or absent: one page).
    var rolePageSize: Int?
    var faults: [Fault]?

    static func load(_ path: String) throws -> Scenario {
        guard let bytes = readFile(path) else { throw EmulatorError("cannot read scenario \(path)") }
        do {
            return try JSONDecoder().decode(Scenario.self, from: Data(bytes))
        } catch {
            throw EmulatorError("scenario \(path) is not valid: \(error)")
        }
    }
}

struct EmulatorError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
