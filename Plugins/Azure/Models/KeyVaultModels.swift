/// Key Vault data-plane shapes (api-version 7.5), as in the REST API specification examples.
struct DataPlaneKey: Decodable, Sendable {
    struct JSONWebKey: Decodable, Sendable {
        /// `https://{vault}/keys/{name}/{version}`: the version this answer is about.
        var kid: String?
        var kty: String?
        var key_ops: [String]?
        /// RSA modulus, base64url: its bit length is the key size.
        var n: String?
    }

    var key: JSONWebKey
    var attributes: KeyAttributes?
}

/// A key's attributes; the same names in the data plane and under ARM `properties.attributes`.
struct KeyAttributes: Decodable, Sendable {
    var enabled: Bool?
    /// Not-before, expiry and creation, seconds since 1970.
    var nbf: Int?
    var exp: Int?
    var created: Int?
    /// `Recoverable+Purgeable` and the like: tells soft delete and purge protection apart.
    var recoveryLevel: String?
}

/// One page of `GET /keys`, `/secrets` or `/certificates`: keys name themselves by `kid`, the
/// others by `id`; `managed` entries are the key and secret behind a certificate.
struct DataPlaneObjectList: Decodable, Sendable {
    struct Item: Decodable, Sendable {
        var kid: String?
        var id: String?
        var managed: Bool?

        var name: String? { (kid ?? id)?.split(separator: "/").last.map(String.init) }
    }

    var value: [Item]
    var nextLink: String?
}

/// `GET /keys/{name}/rotationpolicy`; ARM carries the same under the key's `properties.rotationPolicy`.
///
/// The data plane writes the action type `Rotate`/`Notify`, ARM `rotate`/`notify`: compared
/// case-insensitively.
struct RotationPolicy: Decodable, Sendable {
    struct LifetimeAction: Decodable, Sendable {
        struct Trigger: Decodable, Sendable {
            /// ISO 8601 durations (`P30D`, `P1Y6M`).
            var timeAfterCreate: String?
            var timeBeforeExpiry: String?
        }

        struct Action: Decodable, Sendable {
            var type: String?
        }

        var trigger: Trigger?
        var action: Action?
    }

    struct Attributes: Decodable, Sendable {
        /// The expiry each new version gets (`P2Y`).
        var expiryTime: String?
    }

    var lifetimeActions: [LifetimeAction]?
    var attributes: Attributes?
}

/// `GET /deletedkeys/{name}`: a soft-deleted key, recoverable until its purge date.
struct DeletedKey: Decodable, Sendable {
    /// Seconds since 1970.
    var deletedDate: Int?
    var scheduledPurgeDate: Int?
}

/// A Managed HSM's local role assignment (`{hsm}/providers/Microsoft.Authorization/roleAssignments`).
struct HSMRoleAssignment: Decodable, Sendable {
    struct Properties: Decodable, Sendable {
        /// `/`, `/keys` or `/keys/{name}`.
        var scope: String
        var roleDefinitionId: String
        var principalId: String
    }

    var properties: Properties

    var roleID: String { properties.roleDefinitionId.split(separator: "/").last.map { $0.lowercased() } ?? "" }
}

/// A Managed HSM's local role definition: its data actions decide what an assignment grants.
struct HSMRoleDefinition: Decodable, Sendable {
    struct Properties: Decodable, Sendable {
        struct Permission: Decodable, Sendable {
            var dataActions: [String]?
            var notDataActions: [String]?
        }

        var roleName: String?
        var permissions: [Permission]?
    }

    /// The definition's GUID.
    var name: String
    var properties: Properties?
}

struct HSMList<Item: Decodable & Sendable>: Decodable, Sendable {
    var value: [Item]
    var nextLink: String?
}
