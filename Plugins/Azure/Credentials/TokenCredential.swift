/// One way of signing in, as in the Azure SDKs' DefaultAzureCredential chain.
protocol TokenCredential: Sendable {
    /// What the report's `credential` says (`environment (client secret, client id 1111…)`); never a secret.
    var name: String { get }

    /// A token for `resource`; `.unavailable` lets the chain try the next credential.
    func token(for resource: String, http: AzureHTTP) async -> Result<AccessToken, CallFailure>

    /// Who signs in, in full (never a secret): two credentials with the same identity get the same
    /// tokens, so ``SignInCache`` shares them.
    func identity() async -> String
}

/// `1111…`: enough of an id to recognise it, as the report's credential line shows it.
func abbreviated(_ id: String) -> String { id.count > 4 ? "\(id.prefix(4))…" : id }

/// `https://vault.azure.net/.default`, the v2 scope for a v1 resource.
func defaultScope(_ resource: String) -> String {
    (resource.hasSuffix("/") ? String(resource.dropLast()) : resource) + "/.default"
}
