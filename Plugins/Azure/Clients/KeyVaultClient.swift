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

    func read(_ challenge: BearerChallenge) async -> Result<DataPlaneKey, CallFailure> {
        guard let resource = challenge.resource else {
            return .failure(CallFailure(.malformed, "the vault's challenge names no resource"))
        }
        return await api.get(
            DataPlaneKey.self,
            keyURL,
            resource: resource,
            audience: .keyVault(challengeResource: resource)
        )
    }

    /// The names of every key in the vault.
    func keyNames(_ challenge: BearerChallenge) async -> Result<[String], CallFailure> {
        guard let resource = challenge.resource else {
            return .failure(CallFailure(.malformed, "the vault's challenge names no resource"))
        }
        let audience = TokenPolicy.Audience.keyVault(challengeResource: resource)
        let items = await api.all(
            "\(key.vaultURL)/keys?api-version=\(Self.apiVersion)",
            resource: resource,
            audience: audience
        ) { [api] url in
            await api.get(DataPlaneKeyList.self, url, resource: resource, audience: audience)
                .map { (items: $0.value, next: $0.nextLink) }
        }
        return items.map { $0.compactMap { $0.kid.split(separator: "/").last.map(String.init) } }
    }
}
