/// An HTTP request as providers make it; the client applies the endpoint override and deadline.
public struct HTTPRequest: Sendable, Equatable {
    public var method: String
    /// Absolute URL: `https://host/path?query` or `http://host:port/path`.
    public var url: String
    public var headers: [String: String]
    public var body: [UInt8]
    /// Deadline for this request alone, enforced by the client (not by the transport's own timers).
    public var timeout: Duration

    public init(
        method: String = "GET",
        url: String,
        headers: [String: String] = [:],
        body: [UInt8] = [],
        timeout: Duration = .seconds(5)
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
    }
}

public struct HTTPResponse: Sendable, Equatable {
    public var status: Int
    /// Header names lowercased; repeated headers joined with ", ".
    public var headers: [String: String]
    public var body: [UInt8]

    public init(status: Int, headers: [String: String] = [:], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public func header(_ name: String) -> String? { headers[name.lowercased()] }
    public var bodyText: String { String(decoding: body, as: UTF8.self) }
}

/// Why a request produced no response. Equality by code.
public struct HTTPError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        fileprivate var name: String
        public var description: String { name }

        public static let invalidURL = Code(name: "invalid-url")
        public static let overrideRefused = Code(name: "override-refused")
        public static let connectionFailed = Code(name: "connection-failed")
        public static let timedOut = Code(name: "timed-out")
        public static let malformedResponse = Code(name: "malformed-response")
        public static let transportUnavailable = Code(name: "transport-unavailable")
        /// The server's certificate did not verify against the trust roots (or its name is wrong).
        public static let certificateUntrusted = Code(name: "certificate-untrusted")
        /// The TLS handshake failed for another reason.
        public static let tlsFailed = Code(name: "tls-failed")
        /// The proxy refused the tunnel or could not be reached.
        public static let proxyFailed = Code(name: "proxy-failed")
        /// Headers or body over the client's limits.
        public static let responseTooLarge = Code(name: "response-too-large")
        /// A setting of the client is wrong (CMK_CA_BUNDLE names no readable file).
        public static let invalidSetting = Code(name: "invalid-setting")
        /// A request cmk refuses to send (a header with a control character).
        public static let invalidRequest = Code(name: "invalid-request")
    }

    public var code: Code
    public var reason: String

    public init(_ code: Code, _ reason: String) {
        self.code = code
        self.reason = reason
    }

    public var description: String { reason }
    public static func == (lhs: HTTPError, rhs: HTTPError) -> Bool { lhs.code == rhs.code }
}

/// The parts of an absolute http(s) URL that the client needs.
package struct URLParts: Sendable, Equatable {
    package var scheme: String
    package var host: String
    package var port: Int
    /// Path and query, starting with `/`.
    package var target: String

    package init(scheme: String, host: String, port: Int, target: String) {
        self.scheme = scheme
        self.host = host
        self.port = port
        self.target = target
    }

    package init(parsing url: String) throws(HTTPError) {
        guard let schemeEnd = url.firstRange(of: "://") else {
            throw HTTPError(.invalidURL, "'\(url)' is not an absolute URL")
        }
        let scheme = url[..<schemeEnd.lowerBound].lowercased()
        guard scheme == "http" || scheme == "https" else {
            throw HTTPError(.invalidURL, "'\(url)': only http and https URLs are supported")
        }
        let rest = url[schemeEnd.upperBound...]
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? rest.endIndex
        var authority = rest[..<authorityEnd]
        var target = String(rest[authorityEnd...])
        if let fragment = target.firstIndex(of: "#") { target = String(target[..<fragment]) }
        if target.isEmpty || target.first == "?" { target = "/" + target }
        if authority.contains("@") {
            throw HTTPError(.invalidURL, "'\(url)': user information in URLs is not supported")
        }
        var port = scheme == "https" ? 443 : 80
        var host: Substring
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else {
                throw HTTPError(.invalidURL, "'\(url)': unclosed IPv6 literal")
            }
            host = authority[authority.index(after: authority.startIndex)..<close]
            authority = authority[authority.index(after: close)...]
            // Only a port may follow: `[::1]x` would be written back as `[::1]`.
            guard authority.isEmpty || authority.hasPrefix(":") else {
                throw HTTPError(.invalidURL, "'\(url)': bad IPv6 literal")
            }
            if authority.hasPrefix(":") {
                guard let value = Int(authority.dropFirst()), (1...65535).contains(value) else {
                    throw HTTPError(.invalidURL, "'\(url)': bad port")
                }
                port = value
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            guard let value = Int(authority[authority.index(after: colon)...]), (1...65535).contains(value) else {
                throw HTTPError(.invalidURL, "'\(url)': bad port")
            }
            port = value
        } else {
            host = authority
        }
        guard !host.isEmpty else { throw HTTPError(.invalidURL, "'\(url)' has no host") }
        // Only what a host name or an IP literal can hold: anything else would not re-serialise
        // to the same URL (`https://{::1]:83/x`), or would reach the request line.
        let bracketed = url[schemeEnd.upperBound...].hasPrefix("[")
        let hostOK = host.unicodeScalars.allSatisfy { scalar in
            scalar.isASCII
                && (bracketed
                    ? scalar.properties.isASCIIHexDigit || scalar == ":" || scalar == "."
                    : ((scalar.value >= 0x30 && scalar.value <= 0x39) || (scalar.value | 0x20 >= 0x61 && scalar.value | 0x20 <= 0x7A)
                        || scalar == "." || scalar == "-" || scalar == "_"))
        }
        guard hostOK else { throw HTTPError(.invalidURL, "'\(url)': '\(host)' is not a host name or IP address") }
        // Non-ASCII belongs percent-encoded; raw, a prepended mark (U+06DD) joins the '#' after it.
        guard !target.utf8.contains(where: { $0 <= 0x20 || $0 >= 0x7F }) else {
            throw HTTPError(.invalidURL, "'\(url)': the path holds a space, a control character or non-ASCII")
        }
        self.init(scheme: scheme, host: host.lowercased(), port: port, target: target)
    }

    /// `host` or `host:port` when the port is not the scheme's default.
    package var authority: String {
        let bracketed = host.contains(":") ? "[\(host)]" : host
        let defaultPort = scheme == "https" ? 443 : 80
        return port == defaultPort ? bracketed : "\(bracketed):\(port)"
    }

    package var url: String { "\(scheme)://\(authority)\(target)" }

    /// Link-local addresses, where instance metadata lives: 169.254.0.0/16, fe80::/10, fd00:ec2::254.
    package var isLinkLocal: Bool {
        if host.hasPrefix("169.254."), IPv4(host) != nil { return true }
        return host.hasPrefix("fe80:") || host == "fd00:ec2::254"
    }

    /// 127.0.0.0/8, ::1 or localhost.
    package var isLoopback: Bool {
        if host == "localhost" || host == "::1" { return true }
        let octets = host.split(separator: ".", omittingEmptySubsequences: false)
        // Decimal digits only, no leading zeros: the resolver reads `010` as octal, and `080` or `+1`
        // not as a number at all (it then asks DNS, which may answer with any address).
        return octets.count == 4 && octets[0] == "127"
            && octets.allSatisfy { octet in
                UInt8(octet) != nil && octet.utf8.allSatisfy { (48...57).contains($0) }
                    && (octet == "0" || !octet.hasPrefix("0"))
            }
    }
}

/// Header lines of one response (`Name: value`), names lowercased, repeats joined with ", ".
package func parseHeaderLines(_ text: String) -> [String: String] {
    var headers: [String: String] = [:]
    for line in text.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
        guard let colon = line.firstIndex(of: ":"), !line.hasPrefix("HTTP/") else { continue }
        let name = line[..<colon].lowercased()
        let value = String(line[line.index(after: colon)...]).trimmingWhitespace()
        headers[name] = headers[name].map { "\($0), \(value)" } ?? value
    }
    return headers
}
