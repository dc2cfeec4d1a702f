import CMKCore
import FoundationEssentials

@_cdecl("cmk_provider_entry")
public func cmk_provider_entry() -> UnsafeRawPointer { exportProvider(AzureProvider.self) }

/// Azure Key Vault customer-managed keys for the vendor's platform: detection, status, ticket.
///
/// Loaded on every `cmk` start, so it imports FoundationEssentials at most; https (libcurl) is
/// loaded by CMKCore only when a request really goes out.
struct AzureProvider: CloudKeyProvider {
    static let name = "azure"
    static let version = "1.0.0"
    static let summary = "Azure Key Vault customer-managed keys: consent, key, vault and access checks"
    static var options: [ProviderOption] { AzureOptions.declared }

    /// Time kept back from the host's deadline to encode and return the report.
    static let reserve: Duration = .milliseconds(100)

    /// Sign-ins kept while this provider is loaded: shared by the runs of a `--watch` and the
    /// targets of a `--targets` run that sign in as the same identity.
    let signIns = SignInCache()

    func detect(_ request: DetectionRequest) async -> Detection {
        // Every variable the client reads (override, CA bundle, proxies), as for status; made only
        // when a local hit is to be confirmed, so an off-Azure start reads and parses none of them.
        await AzureDetector().detect(request, client: { try? HTTPClient() })
    }

    func status(_ request: StatusRequest) async throws -> StatusReport {
        let options = try AzureOptions(request.options)
        let environment = currentEnvironment()
        let cloud = options.key?.cloud ?? request.platform?.details["cloud"].flatMap(AzureCloud.named) ?? .publicCloud
        let http = try Self.http(environment, request)
        // Read without a token even when no one is signed in: the challenge names the tenant.
        let challenge = options.key.map { key in Task { await KeyVaultClient.challenge(for: key, http: http) } }
        let chain = CredentialChain(
            choice: options.credential,
            environment: environment,
            azureDetected: request.platform?.strength == .strong,
            cloud: cloud,
            vaultTenant: challenge.map { challenge in { @Sendable in try? await challenge.value.get().tenant } }
        )
        let tokens = TokenCache(chain: chain, http: http, shared: signIns)
        var findings: LiveStatus.Findings?
        if !chain.candidates.isEmpty {
            findings = await LiveStatus(
                key: options.key,
                vaultID: options.vaultID,
                tokens: tokens,
                http: http,
                cloud: cloud
            )
            .run(challenge: challenge)
        }
        let tenant = Self.tenant(environment, challenge: await challenge?.value, findings: findings)
        let context = CheckContext(
            cloud: cloud,
            key: options.key,
            vaultID: findings?.vault?.id ?? options.vaultID,
            tenant: tenant,
            command: request.command ?? "cmk",
            configPath: request.configPath ?? "~/.config/cmk/config"
        )
        let checks = StatusChecks.assemble(
            context: context,
            findings: findings,
            vaultTenant: try? await challenge?.value.get().tenant,
            signIn: Self.signInHelp(chain, options),
            outages: http.outages.all,
            signInFailures: await tokens.failures(),
            now: Date()
        )
        return StatusReport(checks: checks, credential: await tokens.credentialName(), key: options.key?.uri)
    }

    func ticket(_ request: StatusRequest) async throws -> String {
        let options = try AzureOptions(request.options)
        guard let key = options.key else {
            throw ProviderError.usage(
                "the ticket needs the key identifier: give --key-uri URI, CMK_AZURE_KEY_URI or key-uri under [azure]"
            )
        }
        let environment = currentEnvironment()
        let http = try Self.http(environment, request)
        let challenge = await KeyVaultClient.challenge(for: key, http: http)
        return TicketText.make(key: key, tenant: Self.tenant(environment, challenge: challenge, findings: nil))
    }

    private static func http(
        _ environment: [String: String],
        _ request: StatusRequest
    ) throws(ProviderError) -> AzureHTTP {
        do {
            let client = try HTTPClient(environment: environment)
            let deadline = ContinuousClock.now + .milliseconds(request.deadlineMilliseconds) - reserve
            return AzureHTTP(client: client, deadline: deadline)
        } catch {
            throw ProviderError.failed(error.reason)
        }
    }

    /// `AZURE_TENANT_ID`, else the vault's challenge, else the token's `tid`.
    private static func tenant(
        _ environment: [String: String],
        challenge: Result<BearerChallenge, CallFailure>?,
        findings: LiveStatus.Findings?
    ) -> String? {
        let candidates = [environment["AZURE_TENANT_ID"], try? challenge?.get().tenant, findings?.tenant]
        return candidates.compactMap { $0 }.first { tenant in
            !tenant.isEmpty && tenant.count <= 253
                && tenant.allSatisfy { $0.isASCIIAlphanumeric || $0 == "-" || $0 == "." }
        }
    }

    /// Why the live checks could not run and how to make them run.
    private static func signInHelp(_ chain: CredentialChain, _ options: AzureOptions) -> StatusChecks.SignInHelp {
        let summary =
            options.credential == .none
            ? "Not checked: sign-in is off (--credential none)"
            : "No Azure sign-in is set up" + (chain.notes.isEmpty ? "" : " (" + chain.notes.joined(separator: "; ") + ")")
        let off = options.credential == .none
        return StatusChecks.SignInHelp(
            summary: summary,
            how: off ? "Run without --credential none (or CMK_AZURE_CREDENTIAL=none) to check these" : "Set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET, or run az login. What the checks "
                + "read needs: Reader on the vault's subscription (the vault, its role assignments); Key Vault Reader "
                + "or Key Vault Crypto User on the vault (the key's data plane); for an application, Microsoft Graph "
                + "Application.Read.All (the vendor's service principal) and RoleManagement.Read.Directory (roles)",
            off: off
        )
    }
}
