import CMKCore

/// GET (or, with a body, POST) JSON with a bearer token: the one path every authenticated read takes.
struct AuthorizedJSON: Sendable {
    /// Pages followed at most, so that a service looping its `nextLink` cannot hold the run.
    static let maxPages = 20

    let http: AzureHTTP
    let tokens: TokenCache
    let cloud: AzureCloud

    func get<Value: Decodable>(
        _ type: Value.Type,
        _ url: String,
        resource: String,
        audience: TokenPolicy.Audience,
        headers: [String: String] = [:],
        body: [UInt8]? = nil
    ) async -> Result<Value, CallFailure> {
        // Decided before signing in, so that a refused destination does not even cost a sign-in.
        if case .refused(let why) = TokenPolicy.verdict(
            url: url,
            audience: audience,
            cloud: cloud,
            overrideActive: http.overrideActive
        ) {
            return .failure(CallFailure(.refused, "no token sent to \(AzureHTTP.label(HTTPRequest(url: url))): \(why)"))
        }
        let token: AccessToken
        switch await tokens.token(for: resource) {
        case .success(let value): token = value
        case .failure(let failure): return .failure(failure)
        }
        var request = HTTPRequest(url: url, headers: ["Accept": "application/json"].merging(headers) { $1 })
        if let body {
            // A query sent as JSON (Resource Graph): the only non-GET read.
            request.method = "POST"
            request.headers["Content-Type"] = "application/json"
            request.body = body
        }
        let response = await http.send(request, bearer: (token, audience), cloud: cloud)
        return http.decode(type, response, label: AzureHTTP.label(request))
    }

    /// Every item of a paged list, following `nextLink` (which must pass the same token policy).
    func all<Item: Sendable>(
        _ firstURL: String,
        resource: String,
        audience: TokenPolicy.Audience,
        page: @Sendable (String) async -> Result<(items: [Item], next: String?), CallFailure>
    ) async -> Result<[Item], CallFailure> {
        var items: [Item] = []
        var next: String? = firstURL
        var count = 0
        while let url = next, count < Self.maxPages {
            switch await page(url) {
            case .success(let answer):
                items += answer.items
                next = answer.next
                count += 1
            case .failure(let failure):
                return .failure(failure)
            }
        }
        return .success(items)
    }
}
