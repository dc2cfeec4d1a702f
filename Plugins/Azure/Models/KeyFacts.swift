/// What the key checks need, from the data plane or, when that is forbidden, from ARM.
struct KeyFacts: Sendable {
    /// `data plane` or `management plane`, for the evidence line.
    var source: String
    var kty: String?
    var bits: Int?
    var operations: [String]?
    var attributes: KeyAttributes?

    init(_ key: DataPlaneKey) {
        source = "data plane"
        kty = key.key.kty
        // The size is the modulus's bit length: the data plane does not state it.
        bits = key.key.n.flatMap(Base64URL.decode).map(Base64URL.bitLength)
        operations = key.key.key_ops
        attributes = key.attributes
    }

    init(_ key: ARMKey) {
        source = "management plane"
        kty = key.properties.kty
        bits = key.properties.keySize
        operations = key.properties.keyOps
        attributes = key.properties.attributes
    }
}
