import CMKCore
import FoundationEssentials

/// The Azure CLI's signed-in account: `az account get-access-token --resource … --output json`.
///
/// `az` is a Python program (≈1 s); it runs with a deadline and is killed past it. Its stdout is
/// the token, so stdout is never repeated; a failure shows the first line of stderr at most.
struct AzureCLICredential: TokenCredential {
    static let timeout: Duration = .seconds(20)

    let executable: String
    let environment: [String: String]
    /// The tenant to ask for (`AZURE_TENANT_ID`, else the vault's): az signs in there when the
    /// account belongs to it, instead of into its default tenant.
    var tenant: (@Sendable () async -> String?)? = nil

    var name: String { "Azure CLI (az)" }

    /// The account az is signed in to can change between calls (`az login`); its tokens are kept
    /// per tenant asked for, until they expire, as az's own cache keeps them.
    func identity() async -> String { "azure-cli|\(executable)|\(await tenant?() ?? "")" }

    func token(for resource: String, http: AzureHTTP) async -> Result<AccessToken, CallFailure> {
        let deadline = min(ContinuousClock.now + Self.timeout, http.deadline)
        let arguments = ["account", "get-access-token", "--resource", resource, "--output", "json"]
        var output: Subprocess.Output
        do {
            if let tenant = await tenant?(), Self.isTenant(tenant) {
                output = try await Subprocess.run(
                    executable,
                    arguments + ["--tenant", tenant],
                    environment: environment,
                    deadline: deadline
                )
                // Not a member of that tenant: the default tenant's token still lets the checks
                // say which tenant is wrong.
                if output.status == 0 { return Self.reply(output, resource) }
            }
            output = try await Subprocess.run(executable, arguments, environment: environment, deadline: deadline)
        } catch {
            return .failure(CallFailure(.unavailable, "Azure CLI: \(error.reason)"))
        }
        guard output.status == 0 else {
            let text = String(decoding: output.stderr, as: UTF8.self)
            if text.contains("az login") {
                return .failure(CallFailure(.unavailable, "Azure CLI is not signed in: run az login"))
            }
            let firstLine = text.split(separator: "\n").first.map { String($0.prefix(160)) } ?? "no message"
            return .failure(CallFailure(.signIn, "Azure CLI exited with status \(output.status): \(firstLine)"))
        }
        return Self.reply(output, resource)
    }

    private static func reply(_ output: Subprocess.Output, _ resource: String) -> Result<AccessToken, CallFailure> {
        guard let reply = try? JSONDecoder().decode(Reply.self, from: Data(output.stdout)) else {
            return .failure(CallFailure(.malformed, "Azure CLI printed something that is not a token reply"))
        }
        return .success(AccessToken(value: reply.accessToken, resource: resource))
    }

    /// Only a tenant id or domain goes on az's command line.
    private static func isTenant(_ text: String) -> Bool {
        (1...253).contains(text.count) && text.allSatisfy { $0.isASCIIAlphanumeric || $0 == "-" || $0 == "." }
    }

    private struct Reply: Decodable {
        var accessToken: String
    }
}
