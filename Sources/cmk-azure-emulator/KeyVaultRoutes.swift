import LoopbackServer

/// The Key Vault data plane: the 401 challenge, a key, the key list.
extension AzureEmulator {
    static let defaultVersion = "0123456789abcdef0123456789abcdef"

    func keyVault(_ route: Route, host: String, _ request: ServerRequest) -> ServerResponse {
        let name: String
        switch route {
        case .vaultKey(let vault, _, _), .vaultKeys(let vault): name = vault
        default: return Self.error(404, "NotFound", "no Key Vault route")
        }
        guard let vault = scenario.vaults?.first(where: { $0.name.lowercased() == name.lowercased() }) else {
            // An unknown vault does not resolve in DNS; the nearest thing here is a dropped connection.
            return .dropConnection
        }
        let resource = vault.challengeResource ?? CloudHosts.vaultAudience(host)
        guard tokens.validate(request.headers["authorization"], audience: resource) != nil else {
            let authority = "https://\(CloudHosts.of(host).login)/\(vault.tenantId ?? scenario.tenantId)"
            return Self.error(
                401,
                "Unauthorized",
                "AKV10000: Request is missing a Bearer or PoP token.",
                headers: ["WWW-Authenticate": "Bearer authorization=\"\(authority)\", resource=\"\(resource)\""]
            )
        }
        if vault.dataPlane == "forbidden" {
            return Self.error(403, "Forbidden", "Caller is not authorized to perform action on resource.")
        }
        if vault.dataPlane == "firewall" {
            return .json(
                JSONValue.object([
                    "error": .object([
                        "code": .string("Forbidden"),
                        "message": .string(
                            "Client address is not authorized and caller is not a trusted service.\r\n"
                                + "Client address: 127.0.0.1"
                        ),
                        "innererror": .object(["code": .string("ForbiddenByFirewall")]),
                    ])
                ]).text,
                status: 403
            )
        }
        switch route {
        case .vaultKey(_, let keyName, let version):
            guard let key = vault.keys?.first(where: { $0.name.lowercased() == keyName.lowercased() }),
                version == nil || version?.lowercased() == (key.version ?? Self.defaultVersion)
            else {
                return Self.error(
                    404,
                    "KeyNotFound",
                    "A key with (name/id) \(keyName) was not found in this key vault."
                )
            }
            return .json(dataPlaneKeyBody(key, host: host).text)
        default:
            let value = (vault.keys ?? []).map { key in
                JSONValue.object([
                    "kid": .string("https://\(host)/keys/\(key.name)"),
                    "attributes": templates.dataPlaneKey["attributes"].map {
                        $0.merging(key.attributes ?? .object([:]))
                    }
                        ?? .object([:]),
                ])
            }
            return .json(JSONValue.object(["value": .array(value), "nextLink": .null]).text)
        }
    }

    private func dataPlaneKeyBody(_ key: Scenario.Key, host: String) -> JSONValue {
        var jwk: [String: JSONValue] = [
            "kid": .string("https://\(host)/keys/\(key.name)/\(key.version ?? Self.defaultVersion)")
        ]
        if let kty = key.kty { jwk["kty"] = .string(kty) }
        if let operations = key.keyOps { jwk["key_ops"] = .array(operations.map(JSONValue.string)) }
        if let kty = key.kty, !kty.hasPrefix("RSA") {
            jwk["n"] = .null
            jwk["e"] = .null
            jwk["crv"] = .string("P-256")
        } else if let size = key.keySize, size != 2048 {
            // The fixture's modulus is 2048 bits; other sizes get a synthetic modulus of that length.
            jwk["n"] = .string(
                TokenIssuer.base64URL([0xc5] + (1..<(size / 8)).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 7) })
            )
        }
        var patch: [String: JSONValue] = ["key": .object(jwk)]
        if let attributes = key.attributes { patch["attributes"] = attributes }
        return templates.dataPlaneKey.merging(.object(patch))
    }
}
