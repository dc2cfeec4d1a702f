#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#else
    #error("cmk's HTTP client needs Glibc or Musl")
#endif

/// The HTTP client every provider uses: one place for the endpoint override, trust roots,
/// proxies and deadlines.
///
/// Plain http (loopback, instance metadata) goes over a small socket transport; https is handed
/// to `libcmk-https.so` (C over the system's libcurl), loaded on the first https request only.
public struct HTTPClient: Sendable {
    /// `CMK_CA_BUNDLE`: PEM trust roots used for https instead of the system's.
    public static let caBundleVariable = "CMK_CA_BUNDLE"

    /// The variables the client reads.
    public static let environmentVariables =
        [EndpointOverride.environmentVariable, caBundleVariable] + ProxySettings.environmentVariables

    /// Nil unless `CMK_ENDPOINT_OVERRIDE` is set (and loopback).
    public let endpointOverride: EndpointOverride?
    /// Nil: the system's trust roots.
    public let caBundle: String?
    public let proxies: ProxySettings

    /// Reads the override, `CMK_CA_BUNDLE` and the proxy variables from `environment`; a
    /// non-loopback override or a CA bundle that cannot be read is an error.
    public init(environment: [String: String]) throws(HTTPError) {
        endpointOverride = try EndpointOverride(environment: environment)
        proxies = ProxySettings(environment: environment)
        if let path = environment[Self.caBundleVariable], !path.isEmpty {
            // Cheap on purpose: every provider makes a client, detection included. The CLI reads
            // the file's content once (`caBundleProblem`); libcurl reports a bundle it cannot use.
            if let problem = Self.caBundleProblem(path, readingContent: false) {
                throw HTTPError(.invalidSetting, "\(Self.caBundleVariable)=\(path): \(problem)")
            }
            caBundle = path
        } else {
            caBundle = nil
        }
    }

    /// A client for the current process environment.
    public init() throws(HTTPError) {
        try self.init(environment: currentEnvironment(only: Self.environmentVariables))
    }

    /// Why `path` cannot serve as a CA bundle, or nil when it can: a readable regular file and,
    /// when `readingContent`, one that holds a PEM certificate.
    public static func caBundleProblem(_ path: String, readingContent: Bool = true) -> String? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return "\(errnoText()); give a readable PEM file of trust roots" }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0, status.st_mode & S_IFMT == S_IFREG else {
            return "not a regular file; give a PEM file of trust roots"
        }
        guard readingContent else { return nil }
        var buffer = [UInt8](repeating: 0, count: 64 << 10)  // the first certificate starts near the top
        let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        guard count > 0, String(decoding: buffer[0..<count], as: UTF8.self).contains("-----BEGIN CERTIFICATE-----")
        else {
            return "holds no PEM certificate (-----BEGIN CERTIFICATE-----)"
        }
        return nil
    }

    /// The URL a request to `url` will really go to (after the override).
    public func effectiveURL(_ url: String) throws(HTTPError) -> String {
        let parts = try URLParts(parsing: url)
        return (endpointOverride?.rewrite(parts) ?? parts).url
    }

    /// The proxy a request to `url` would go through, or nil for a direct connection.
    public func proxy(for url: String) throws(HTTPError) -> String? {
        proxies.proxy(for: try URLParts(parsing: url))
    }

    /// Sends `request` and waits at most `request.timeout` for the whole response.
    ///
    /// Redirects are never followed (by either transport): a 3xx is returned as it is, so that a
    /// bearer token goes only where the token policy sent it.
    public func send(_ request: HTTPRequest) async throws(HTTPError) -> HTTPResponse {
        try Self.checkHeaders(request.headers)
        let original = try URLParts(parsing: request.url)
        let target = endpointOverride?.rewrite(original) ?? original
        let deadline = ContinuousClock.now + request.timeout
        let result: Result<HTTPResponse, HTTPError>
        if target.scheme == "http" {
            result = await runOnOwnThread {
                Result { () throws(HTTPError) in try SocketTransport.perform(request, to: target, deadline: deadline) }
            }
        } else {
            result = await HTTPSTransport.perform(
                request,
                url: target.url,
                host: original.authority,
                proxy: proxies.proxy(for: original),
                caBundle: caBundle,
                deadline: deadline
            )
        }
        return try result.get()
    }
}

extension HTTPClient {
    /// Refuses header names and values that would end the header early or add one: a token with
    /// a CR or LF (from `az`, a file, a reply) must not inject headers into the request.
    static func checkHeaders(_ headers: [String: String]) throws(HTTPError) {
        for (name, value) in headers {
            let badName = name.isEmpty || name.utf8.contains { $0 <= 0x20 || $0 == 0x7F || $0 == UInt8(ascii: ":") }
            let badValue = value.utf8.contains { ($0 < 0x20 && $0 != 0x09) || $0 == 0x7F }
            if badName || badValue {
                // The value may be a secret: name the header, never print its value.
                throw HTTPError(.invalidRequest, "the \(badName ? "name" : "value") of header '\(name.prefix(40))' holds a control character; not sent")
            }
        }
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
