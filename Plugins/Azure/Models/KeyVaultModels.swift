/// Key Vault data-plane shapes (api-version 7.5), as in the REST API specification examples.
struct DataPlaneKey: Decodable, Sendable {
    struct JSONWebKey: Decodable, Sendable {
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
    /// Not-before and expiry, seconds since 1970.
    var nbf: Int?
    var exp: Int?
    /// `Recoverable+Purgeable` and the like: tells soft delete and purge protection apart.
    var recoveryLevel: String?
}

/// One page of `GET /keys`.
struct DataPlaneKeyList: Decodable, Sendable {
    struct Item: Decodable, Sendable {
        var kid: String
    }

    var value: [Item]
    var nextLink: String?
}
