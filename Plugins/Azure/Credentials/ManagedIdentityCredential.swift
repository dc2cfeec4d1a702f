import CMKCore
import FoundationEssentials

/// The machine's managed identity: App Service's local endpoint, or instance metadata on a VM.
///
/// Used only when Azure was detected (or asked for), so that off Azure nothing is ever sent to
/// the metadata address. A missing identity (400) or no answer makes it unavailable, not failed.
struct ManagedIdentityCredential: TokenCredential {
    enum Endpoint: Sendable {
        /// `IDENTITY_ENDPOINT` with the `IDENTITY_HEADER` secret (App Service, Functions, Container Apps).
        case appService(url: String, header: String)
        case instanceMetadata
    }

    static let instanceMetadataURL = "http://169.254.169.254/metadata/identity/oauth2/token"

    let endpoint: Endpoint
    /// A user-assigned identity's client id (`AZURE_CLIENT_ID`), if any.
    let clientID: String?
    let cloud: AzureCloud

    var name: String {
        let which = clientID.map { ", client id \(abbreviated($0))" } ?? ""
        switch endpoint {
        case .appService: return "managed identity (App Service endpoint\(which))"
        case .instanceMetadata: return "managed identity (instance metadata\(which))"
        }
    }

    func identity() async -> String {
        switch endpoint {
        case .appService(let url, _): "managed-identity|\(url)|\(clientID ?? "")"
        case .instanceMetadata: "managed-identity|imds|\(clientID ?? "")"
        }
    }

    func token(for resource: String, http: AzureHTTP) async -> Result<AccessToken, CallFailure> {
        var query = [("resource", resource)]
        if let clientID { query.append(("client_id", clientID)) }
        let request: HTTPRequest
        switch endpoint {
        case .appService(let url, let header):
            query.insert(("api-version", "2019-08-01"), at: 0)
            request = HTTPRequest(url: "\(url)?\(PercentEncoding.form(query))", headers: ["X-IDENTITY-HEADER": header])
        case .instanceMetadata:
            query.insert(("api-version", "2018-02-01"), at: 0)
            request = HTTPRequest(
                url: "\(Self.instanceMetadataURL)?\(PercentEncoding.form(query))",
                headers: ["Metadata": "true"]
            )
        }
        let label = "managed identity sign-in for \(resource)"
        let response = await http.send(request, cloud: cloud, timeout: .seconds(3))
        switch response {
        case .failure(let failure):
            return .failure(CallFailure(.unavailable, "\(label): \(failure.reason)"))
        case .success(let answer) where answer.status == 400 || answer.status == 404:
            return .failure(CallFailure(.unavailable, "\(label): no managed identity is assigned (\(answer.status))"))
        case .success(let answer) where !(200..<300).contains(answer.status):
            return .failure(CallFailure(.signIn, "\(label) answered \(answer.status)", status: answer.status))
        case .success:
            return http.decode(TokenReply.self, response, label: label).map {
                AccessToken(value: $0.access_token, resource: resource)
            }
        }
    }

    /// Only a local endpoint may receive `IDENTITY_HEADER`: the platform serves it on loopback.
    static func isLocalEndpoint(_ url: String) -> Bool {
        guard let parts = try? URLParts(parsing: url) else { return false }
        return parts.isLoopback || parts.host.hasPrefix("169.254.")
    }

    private struct TokenReply: Decodable {
        var access_token: String
    }
}
