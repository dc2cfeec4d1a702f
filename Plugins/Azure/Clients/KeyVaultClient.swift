import CMKCore

/// Key Vault data-plane reads, after the 401 challenge says which audience the vault wants.
///
/// The challenge is read without a token; a token goes to the vault only when ``TokenPolicy``
/// accepts the resource the challenge names for this host.
struct KeyVaultClient: Sendable {
    static let apiVersion = "7.5"

    let api: AuthorizedJSON
    let key: KeyIdentifier

    private var keyURL: String { Self.keyURL(key) }

    private static func keyURL(_ key: KeyIdentifier) -> String { "\(key.uri)?api-version=\(apiVersion)" }

    /// The unauthenticated request's challenge (also how the tenant is learnt without signing in).
    static func challenge(for key: KeyIdentifier, http: AzureHTTP) async -> Result<BearerChallenge, CallFailure> {
        let request = HTTPRequest(url: keyURL(key), headers: ["Accept": "application/json"])
        let label = AzureHTTP.label(request)
        switch await http.send(request, cloud: key.cloud) {
        case .failure(let failure):
            return .failure(failure)
        case .success(let response):
            guard response.status == 401, let header = response.header("www-authenticate"),
                let challenge = BearerChallenge(header: header)
            else {
                return .failure(
                    CallFailure(
                        .malformed,
                        "\(label) answered \(response.status) without a Bearer challenge",
                        status: response.status
                    )
                )
            }
            return .success(challenge)
        }
    }

    /// The version the identifier names (the current one when it names none).
    func read(_ challenge: BearerChallenge) async -> Result<DataPlaneKey, CallFailure> {
        await get(DataPlaneKey.self, keyURL, challenge)
    }

    /// The key's current version: compared with a pinned one to tell whether it is still the latest.
    func readCurrent(_ challenge: BearerChallenge) async -> Result<DataPlaneKey, CallFailure> {
        await get(DataPlaneKey.self, "\(key.vaultURL)/keys/\(key.keyName)?api-version=\(Self.apiVersion)", challenge)
    }

    /// The key's rotation policy; nil when the key has none (404).
    func rotationPolicy(_ challenge: BearerChallenge) async -> Result<RotationPolicy?, CallFailure> {
        let url = "\(key.vaultURL)/keys/\(key.keyName)/rotationpolicy?api-version=\(Self.apiVersion)"
        let result = await get(RotationPolicy.self, url, challenge)
        if case .failure(let failure) = result, failure.status == 404 { return .success(nil) }
        return result.map { $0 }
    }

    /// The key among the soft-deleted ones; nil when it is not there either (404).
    func deletedKey(_ challenge: BearerChallenge) async -> Result<DeletedKey?, CallFailure> {
        let result = await get(
            DeletedKey.self,
            "\(key.vaultURL)/deletedkeys/\(key.keyName)?api-version=\(Self.apiVersion)",
            challenge
        )
        if case .failure(let failure) = result, failure.status == 404 { return .success(nil) }
        return result.map { $0 }
    }

    /// The names of every key in the vault.
    func keyNames(_ challenge: BearerChallenge) async -> Result<[String], CallFailure> {
        await names("keys", challenge)
    }

    /// The names of every `keys`, `secrets` or `certificates` object, leaving out the key and
    /// secret a certificate manages (the certificate is counted instead).
    func names(_ collection: String, _ challenge: BearerChallenge) async -> Result<[String], CallFailure> {
        await all(DataPlaneObjectList.self, "\(key.vaultURL)/\(collection)?api-version=\(Self.apiVersion)", challenge) {
            (items: $0.value, next: $0.nextLink)
        }
        .map { $0.filter { $0.managed != true }.compactMap(\.name) }
    }

    /// A Managed HSM's local role assignments of `principalID` at, above and below the HSM's root.
    func hsmRoleAssignments(
        _ challenge: BearerChallenge,
        principalID: String
    ) async -> Result<[HSMRoleAssignment], CallFailure> {
        let filter = PercentEncoding.encode("principalId eq '\(principalID)'")
        let url =
            "\(key.vaultURL)/providers/Microsoft.Authorization/roleAssignments?api-version=\(Self.apiVersion)"
            + "&$filter=\(filter)"
        return await all(HSMList<HSMRoleAssignment>.self, url, challenge) { (items: $0.value, next: $0.nextLink) }
    }

    /// A Managed HSM's local role definitions, built-in and custom.
    func hsmRoleDefinitions(_ challenge: BearerChallenge) async -> Result<[HSMRoleDefinition], CallFailure> {
        let url = "\(key.vaultURL)/providers/Microsoft.Authorization/roleDefinitions?api-version=\(Self.apiVersion)"
        return await all(HSMList<HSMRoleDefinition>.self, url, challenge) { (items: $0.value, next: $0.nextLink) }
    }

    private func get<Value: Decodable>(
        _ type: Value.Type,
        _ url: String,
        _ challenge: BearerChallenge
    ) async -> Result<Value, CallFailure> {
        guard let resource = challenge.resource else {
            return .failure(CallFailure(.malformed, "the vault's challenge names no resource"))
        }
        return await api.get(type, url, resource: resource, audience: .keyVault(challengeResource: resource))
    }

    private func all<Page: Decodable & Sendable, Item: Sendable>(
        _ type: Page.Type,
        _ url: String,
        _ challenge: BearerChallenge,
        items: @escaping @Sendable (Page) -> (items: [Item], next: String?)
    ) async -> Result<[Item], CallFailure> {
        guard let resource = challenge.resource else {
            return .failure(CallFailure(.malformed, "the vault's challenge names no resource"))
        }
        let audience = TokenPolicy.Audience.keyVault(challengeResource: resource)
        return await api.all(url, resource: resource, audience: audience) { [api] url in
            await api.get(Page.self, url, resource: resource, audience: audience).map(items)
        }
    }
}
