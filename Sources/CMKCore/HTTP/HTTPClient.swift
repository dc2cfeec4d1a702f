#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#else
    #error("cmk's HTTP client needs Glibc or Musl")
#endif

/// The HTTP client every provider uses: one place for the endpoint override and deadlines.
///
/// Plain http (loopback, instance metadata) goes over a small socket transport; https is handed
/// to `libcmk-https.so`, loaded on the first https request only.
public struct HTTPClient: Sendable {
    /// Nil unless `CMK_ENDPOINT_OVERRIDE` is set (and loopback).
    public let endpointOverride: EndpointOverride?

    /// Reads `CMK_ENDPOINT_OVERRIDE` from `environment`; a non-loopback override is an error.
    public init(environment: [String: String]) throws(HTTPError) {
        endpointOverride = try EndpointOverride(environment: environment)
    }

    /// A client for the current process environment.
    public init() throws(HTTPError) {
        try self.init(environment: currentEnvironment(only: [EndpointOverride.environmentVariable]))
    }

    /// The URL a request to `url` will really go to (after the override).
    public func effectiveURL(_ url: String) throws(HTTPError) -> String {
        let parts = try URLParts(parsing: url)
        return (endpointOverride?.rewrite(parts) ?? parts).url
    }

    /// Sends `request` and waits at most `request.timeout` for the whole response.
    public func send(_ request: HTTPRequest) async throws(HTTPError) -> HTTPResponse {
        let original = try URLParts(parsing: request.url)
        let target = endpointOverride?.rewrite(original) ?? original
        let deadline = ContinuousClock.now + request.timeout
        let result: Result<HTTPResponse, HTTPError>
        if target.scheme == "http" {
            result = await runOnOwnThread {
                Result { () throws(HTTPError) in try SocketTransport.perform(request, to: target, deadline: deadline) }
            }
        } else {
            result = await HTTPSTransport.perform(request, url: target.url, deadline: deadline)
        }
        return try result.get()
    }
}

/// The variables of the process environment, or only the named ones.
public func currentEnvironment(only names: [String]? = nil) -> [String: String] {
    if let names {
        var result: [String: String] = [:]
        for name in names { if let value = getenv(name) { result[name] = String(cString: value) } }
        return result
    }
    var result: [String: String] = [:]
    var cursor = environ
    while let entry = cursor.pointee {
        let text = String(cString: entry)
        if let equals = text.firstIndex(of: "=") {
            result[String(text[..<equals])] = String(text[text.index(after: equals)...])
        }
        cursor += 1
    }
    return result
}
