import CMKCore
import FoundationEssentials

/// An application signing in with the client-credentials grant: a secret (environment) or a
/// federated token file (workload identity).
///
/// The request carries the proof, so it goes only to the cloud's login host (``TokenPolicy``);
/// the token endpoint's error body is never repeated, only its error codes.
struct ClientCredential: TokenCredential {
    enum Proof: Sendable {
        case secret(String)
        /// Read again on each sign-in: Kubernetes rotates the projected token.
        case federatedTokenFile(String)
    }

    static let federatedTokenFileVariable = "AZURE_FEDERATED_TOKEN_FILE"

    let tenant: String
    let clientID: String
    let proof: Proof
    let cloud: AzureCloud

    var name: String {
        switch proof {
        case .secret: "environment (client secret, client id \(abbreviated(clientID)))"
        case .federatedTokenFile: "workload identity (client id \(abbreviated(clientID)))"
        }
    }

    func identity() async -> String {
        switch proof {
        case .secret: "client-secret|\(cloud.loginHost)|\(tenant)|\(clientID)"
        case .federatedTokenFile(let path): "workload-identity|\(cloud.loginHost)|\(tenant)|\(clientID)|\(path)"
        }
    }

    func token(for resource: String, http: AzureHTTP) async -> Result<AccessToken, CallFailure> {
        var fields = [("grant_type", "client_credentials"), ("client_id", clientID), ("scope", defaultScope(resource))]
        switch proof {
        case .secret(let secret):
            fields.append(("client_secret", secret))
        case .federatedTokenFile(let path):
            let assertion: String
            switch await readTextFile(path, namedBy: Self.federatedTokenFileVariable) {
            case .failure(let error):
                return .failure(CallFailure(.signIn, "workload identity: \(error.reason)"))
            case .success(let text):
                assertion = text.trimmingWhitespace()
            }
            guard !assertion.isEmpty else {
                return .failure(
                    CallFailure(.signIn, "workload identity: \(Self.federatedTokenFileVariable)=\(path) is empty")
                )
            }
            fields.append(("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"))
            fields.append(("client_assertion", assertion))
        }
        let request = HTTPRequest(
            method: "POST",
            url: "https://\(cloud.loginHost)/\(tenant)/oauth2/v2.0/token",
            headers: ["Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"],
            body: Array(PercentEncoding.form(fields).utf8)
        )
        // The body holds the proof: the same policy as for a token decides where it may go.
        if case .refused(let why) = TokenPolicy.verdict(
            url: request.url,
            audience: .login,
            cloud: cloud,
            overrideActive: http.overrideActive
        ) {
            return .failure(CallFailure(.refused, "sign-in not attempted: \(why)"))
        }
        let label = "sign-in at \(cloud.loginHost) for \(resource)"
        let response = await http.send(request, cloud: cloud)
        if case .success(let answer) = response, !(200..<300).contains(answer.status) {
            let code = AzureErrorCode.extract(answer.body).map { ": \($0)" } ?? ""
            return .failure(
                CallFailure(.signIn, "\(label) was refused (\(answer.status)\(code))", status: answer.status)
            )
        }
        return http.decode(TokenReply.self, response, label: label).map {
            AccessToken(value: $0.access_token, resource: resource)
        }
    }

    private struct TokenReply: Decodable {
        var access_token: String
    }
}
