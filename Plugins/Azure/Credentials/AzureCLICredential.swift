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

    var name: String { "Azure CLI (az)" }

    func token(for resource: String, http: AzureHTTP) async -> Result<AccessToken, CallFailure> {
        let deadline = min(ContinuousClock.now + Self.timeout, http.deadline)
        let output: Subprocess.Output
        do {
            output = try await Subprocess.run(
                executable,
                ["account", "get-access-token", "--resource", resource, "--output", "json"],
                environment: environment,
                deadline: deadline
            )
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
        guard let reply = try? JSONDecoder().decode(Reply.self, from: Data(output.stdout)) else {
            return .failure(CallFailure(.malformed, "Azure CLI printed something that is not a token reply"))
        }
        return .success(AccessToken(value: reply.accessToken, resource: resource))
    }

    private struct Reply: Decodable {
        var accessToken: String
    }
}
