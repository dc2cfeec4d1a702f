/// What the key checks need, from the data plane or, when that is forbidden, from ARM.
struct KeyFacts: Sendable {
    /// `data plane` or `management plane`, for the evidence line.
    var source: String
    /// The version this answer is about (the current one for a versionless read).
    var version: String?
    var kty: String?
    var bits: Int?
    var operations: [String]?
    var attributes: KeyAttributes?
    /// Only ARM states it with the key; the data plane has its own call.
    var rotationPolicy: RotationPolicy?

    init(_ key: DataPlaneKey) {
        source = "data plane"
        version = key.key.kid.flatMap(Self.lastSegment)
        kty = key.key.kty
        // The size is the modulus's bit length: the data plane does not state it.
        bits = key.key.n.flatMap(Base64URL.decode).map(Base64URL.bitLength)
        operations = key.key.key_ops
        attributes = key.attributes
    }

    init(_ key: ARMKey) {
        source = "management plane"
        version = key.properties.keyUriWithVersion.flatMap(Self.lastSegment)
        kty = key.properties.kty
        bits = key.properties.keySize
        operations = key.properties.keyOps
        attributes = key.properties.attributes
        rotationPolicy = key.properties.rotationPolicy
    }

    private static func lastSegment(_ uri: String) -> String? {
        uri.split(separator: "/").last.map { $0.lowercased() }
    }
}
