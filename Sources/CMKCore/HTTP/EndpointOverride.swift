/// The one test seam for all HTTP: `CMK_ENDPOINT_OVERRIDE=http://127.0.0.1:PORT` or `https://127.0.0.1:PORT`.
///
/// Every outbound request, instance metadata included, goes to that origin with the original host
/// as the first path segment: `https://h/p?q` → `http://127.0.0.1:PORT/h/p?q`. An https origin
/// keeps the production transport (TLS, trust roots, proxies) in the path: `https://h/p?q` →
/// `https://127.0.0.1:PORT/h/p?q`. Only loopback origins are accepted, so a typo can never send
/// traffic (or a token) off the machine.
public struct EndpointOverride: Sendable, Equatable {
    public static let environmentVariable = "CMK_ENDPOINT_OVERRIDE"

    package var origin: URLParts

    /// Reads the override from an environment; nil when unset, an error when set but not loopback http.
    public init?(environment: [String: String]) throws(HTTPError) {
        guard let raw = environment[Self.environmentVariable], !raw.isEmpty else { return nil }
        let parts: URLParts
        do {
            parts = try URLParts(parsing: raw)
        } catch {
            throw HTTPError(
                .overrideRefused,
                "\(Self.environmentVariable)='\(raw)' is not a URL; use http://127.0.0.1:PORT or https://127.0.0.1:PORT"
            )
        }
        guard parts.isLoopback, parts.target == "/" else {
            throw HTTPError(
                .overrideRefused,
                "\(Self.environmentVariable)='\(raw)' is refused: only a loopback origin such as http://127.0.0.1:PORT"
                    + " or https://127.0.0.1:PORT is accepted"
            )
        }
        origin = parts
    }

    /// The loopback URL that stands for `original`.
    package func rewrite(_ original: URLParts) -> URLParts {
        URLParts(
            scheme: origin.scheme,
            host: origin.host,
            port: origin.port,
            target: "/\(original.authority)\(original.target)"
        )
    }

    /// The origin as a string, e.g. `http://127.0.0.1:8080`.
    public var originURL: String { "\(origin.scheme)://\(origin.authority)" }
}
