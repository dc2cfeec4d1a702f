import CMKCore
import FoundationEssentials

/// The Azure CLI's signed-in account: `az account get-access-token --resource … --output json`.
///
/// `az` is a Python program (≈1 s); it runs with a deadline and is killed past it. Its stdout is
/// the token, so stdout is never repeated; a failure shows the first line of stderr at most,
/// with anything that looks like a token or a secret taken out (``redacted(_:)``).
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
            let firstLine = text.split(separator: "\n").first.map { Self.redacted(String($0)) } ?? "no message"
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

    /// The longest message kept from az's stderr.
    static let messageLimit = 200

    /// `line` with every JWT (`eyJ…`) and every long base64-like run replaced by `[redacted]`,
    /// control characters dropped, and cut to `messageLimit` characters.
    ///
    /// az's errors have been seen to repeat the request, and a request can carry a token or a
    /// client secret. A run counts as secret-like when it is 32 or more characters of the base64,
    /// base64url and Azure-secret alphabets (letters, digits, `+/=_-.~`) with upper case, lower
    /// case and digits in it: tokens and secrets are, words, paths, GUIDs and URLs almost never are.
    static func redacted(_ line: String) -> String {
        func isRunCharacter(_ c: Character) -> Bool {
            c.isASCII && (c.isLetter || c.isNumber || "+/=_-.~".contains(c))
        }
        var result = ""
        var run = ""
        func flush() {
            let secretLike =
                run.count >= 32 && run.contains(where: \.isUppercase) && run.contains(where: \.isLowercase)
                && run.contains(where: \.isNumber)
            let jwtLike = run.count >= 10 && (run.hasPrefix("eyJ") || run.contains(".eyJ"))
            result += secretLike || jwtLike ? "[redacted]" : run
            run = ""
        }
        for character in line {
            if isRunCharacter(character) {
                run.append(character)
            } else {
                flush()
                if !character.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
                    result.append(character)
                }
            }
        }
        flush()
        return result.count > messageLimit ? String(result.prefix(messageLimit - 1)) + "…" : result
    }

    /// Only a tenant id or domain goes on az's command line.
    private static func isTenant(_ text: String) -> Bool {
        (1...253).contains(text.count) && text.allSatisfy { $0.isASCIIAlphanumeric || $0 == "-" || $0 == "." }
    }

    private struct Reply: Decodable {
        var accessToken: String
    }
}
