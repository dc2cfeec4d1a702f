import LoopbackServer

/// The Key Vault and Managed HSM data plane: the 401 challenge, keys and their versions, rotation
/// policies, deleted keys, secrets and certificates, and a Managed HSM's local RBAC.
extension AzureEmulator {
    static let defaultVersion = "0123456789abcdef0123456789abcdef"
    /// Managed HSM Crypto Service Encryption User, as the HSM lists it among its built-in roles.
    static let hsmServiceEncryptionUser = JSONValue.object([
        "id": .string(
            "Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/"
                + "33413926-3206-4cdd-b39a-83574fe37a17"
        ),
        "name": .string("33413926-3206-4cdd-b39a-83574fe37a17"),
        "type": .string("Microsoft.Authorization/roleDefinitions"),
        "properties": .object([
            "roleName": .string("Managed HSM Crypto Service Encryption User"), "type": .string("AKVBuiltInRole"),
            "assignableScopes": .array([.string("/")]),
            "permissions": .array([
                .object([
                    "actions": .array([]), "notActions": .array([]), "notDataActions": .array([]),
                    "dataActions": .array(
                        ["read", "wrap", "unwrap"].map { .string("Microsoft.KeyVault/managedHsm/keys/\($0)/action") }
                    ),
                ])
            ]),
        ]),
    ])

    func keyVault(_ route: Route, host: String, _ request: ServerRequest) -> ServerResponse {
        let name: String
        switch route {
        case .vaultKey(let vault, _, _), .vaultKeys(let vault), .rotationPolicy(let vault, _),
            .deletedKey(let vault, _), .vaultObjects(let vault, _), .hsmRoles(let vault, _):
            name = vault
        default: return Self.error(404, "NotFound", "no Key Vault route")
        }
        let isHSMHost = host.contains(".managedhsm.")
        guard
            let vault = scenario.vaults?.first(where: {
                $0.name.lowercased() == name.lowercased() && $0.isHSM == isHSMHost
            })
        else {
            // An unknown (or deleted) vault does not resolve in DNS; the nearest thing here is a dropped connection.
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
            guard let key = Self.key(keyName, in: vault) else { return Self.keyNotFound(keyName) }
            let current = key.version ?? Self.defaultVersion
            if version == nil || version?.lowercased() == current {
                return .json(dataPlaneKeyBody(key, version: current, attributes: key.attributes, host: host).text)
            }
            guard let older = key.olderVersions?.first(where: { $0.version.lowercased() == version?.lowercased() })
            else { return Self.keyNotFound(keyName) }
            return .json(dataPlaneKeyBody(key, version: older.version, attributes: older.attributes, host: host).text)
        case .rotationPolicy(_, let keyName):
            guard let key = Self.key(keyName, in: vault) else { return Self.keyNotFound(keyName) }
            let base = JSONValue.object([
                "id": .string("https://\(host)/keys/\(key.name)/rotationpolicy"),
                "lifetimeActions": .array([
                    .object([
                        "trigger": .object(["timeBeforeExpiry": .string("P30D")]),
                        "action": .object(["type": .string("Notify")]),
                    ])
                ]),
                "attributes": .object([:]),
            ])
            return .json(key.rotationPolicy.map { base.merging($0) }?.text ?? base.text)
        case .deletedKey(_, let keyName):
            guard let deleted = vault.deletedKeys?.first(where: { $0.name.lowercased() == keyName.lowercased() })
            else {
                return Self.error(404, "KeyNotFound", "Deleted Key not found: \(keyName)")
            }
            return .json(
                JSONValue.object([
                    "recoveryId": .string("https://\(host)/deletedkeys/\(deleted.name)"),
                    "deletedDate": .number(Double(deleted.deletedDate)),
                    "scheduledPurgeDate": .number(Double(deleted.scheduledPurgeDate)),
                    "key": .object(["kid": .string("https://\(host)/keys/\(deleted.name)/\(Self.defaultVersion)")]),
                    "attributes": .object(["enabled": .bool(true), "recoveryLevel": .string("Recoverable")]),
                ]).text
            )
        case .vaultObjects(_, let collection):
            let certificates = vault.certificates ?? []
            let names = collection == "secrets" ? vault.secrets ?? [] : certificates
            var value = names.map { name in
                JSONValue.object([
                    "id": .string("https://\(host)/\(collection)/\(name)"),
                    "attributes": .object(["enabled": .bool(true)]),
                ])
            }
            // A certificate's own secret, as Key Vault lists it.
            if collection == "secrets" {
                value += certificates.map { name in
                    .object(["id": .string("https://\(host)/secrets/\(name)"), "managed": .bool(true)])
                }
            }
            return .json(JSONValue.object(["value": .array(value), "nextLink": .null]).text)
        case .hsmRoles(_, let collection):
            guard vault.isHSM else { return Self.error(404, "NotFound", "a vault has no local RBAC") }
            return .json(hsmRoles(collection, vault, request).text)
        default:
            var value = (vault.keys ?? []).map { key in
                JSONValue.object([
                    "kid": .string("https://\(host)/keys/\(key.name)"),
                    "attributes": templates.dataPlaneKey["attributes"].map {
                        $0.merging(key.attributes ?? .object([:]))
                    }
                        ?? .object([:]),
                ])
            }
            // A certificate's own key, as Key Vault lists it.
            value += (vault.certificates ?? []).map { name in
                .object(["kid": .string("https://\(host)/keys/\(name)"), "managed": .bool(true)])
            }
            return .json(JSONValue.object(["value": .array(value), "nextLink": .null]).text)
        }
    }

    private static func key(_ name: String, in vault: Scenario.Vault) -> Scenario.Key? {
        vault.keys?.first { $0.name.lowercased() == name.lowercased() }
    }

    private static func keyNotFound(_ name: String) -> ServerResponse {
        error(404, "KeyNotFound", "A key with (name/id) \(name) was not found in this key vault.")
    }

    /// The HSM's role assignments (filtered by `principalId eq '…'`) or its role definitions.
    private func hsmRoles(_ collection: String, _ vault: Scenario.Vault, _ request: ServerRequest) -> JSONValue {
        guard collection == "roleAssignments" else {
            return .object(["value": .array([Self.hsmServiceEncryptionUser] + (vault.hsmRoleDefinitions ?? []))])
        }
        let principal = Self.quoted(after: "principalId eq ", in: request.query["$filter"] ?? "")?.lowercased()
        let value = (vault.hsmRoleAssignments ?? []).enumerated().filter {
            principal == nil || $0.element.principalId.lowercased() == principal
        }
        .map { index, assignment -> JSONValue in
            .object([
                "id": .string("/providers/Microsoft.Authorization/roleAssignments/hsm-assignment-\(index)"),
                "name": .string("hsm-assignment-\(index)"), "type": .string("Microsoft.Authorization/roleAssignments"),
                "properties": .object([
                    "scope": .string(assignment.scope ?? "/"),
                    "roleDefinitionId": .string(
                        "Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/"
                            + assignment.roleDefinitionId
                    ),
                    "principalId": .string(assignment.principalId),
                ]),
            ])
        }
        return .object(["value": .array(value)])
    }

    private func dataPlaneKeyBody(
        _ key: Scenario.Key,
        version: String,
        attributes: JSONValue?,
        host: String
    ) -> JSONValue {
        var jwk: [String: JSONValue] = ["kid": .string("https://\(host)/keys/\(key.name)/\(version)")]
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
        if let attributes { patch["attributes"] = attributes }
        return templates.dataPlaneKey.merging(.object(patch))
    }
}
