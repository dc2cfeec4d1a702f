/// Which proxy a request goes through, from `HTTPS_PROXY`, `HTTP_PROXY` and `NO_PROXY`, with curl's rules.
///
/// - `https_proxy` beats `HTTPS_PROXY` for https URLs, `http_proxy` beats `HTTP_PROXY` for http;
///   a value without a scheme is an http proxy (`proxy:3128` = `http://proxy:3128`).
/// - `no_proxy` beats `NO_PROXY`: comma-separated; `*` matches every host; `example.com` and
///   `.example.com` both match `example.com` and every host under it; an IP address matches
///   itself and `10.0.0.0/8` a range; a `:port` on an entry is ignored.
/// - Loopback and link-local addresses (instance metadata: 169.254.169.254, fd00:ec2::254) never
///   go through a proxy, whatever the variables say: a proxy would see the metadata token.
///
/// The decision is made on the host the request is for, before `CMK_ENDPOINT_OVERRIDE` rewrites
/// it, so a test of the override sees the same routing as the real host.
public struct ProxySettings: Sendable, Equatable {
    /// The variables read, lowercase first as curl does.
    public static let environmentVariables = [
        "https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY", "no_proxy", "NO_PROXY",
    ]

    public var httpsProxy: String?
    public var httpProxy: String?
    public var noProxy: [String]

    public init(httpsProxy: String? = nil, httpProxy: String? = nil, noProxy: [String] = []) {
        self.httpsProxy = httpsProxy
        self.httpProxy = httpProxy
        self.noProxy = noProxy
    }

    public init(environment: [String: String]) {
        func first(_ names: String...) -> String? {
            for name in names {
                if let value = environment[name]?.trimmingWhitespace(), !value.isEmpty { return value }
            }
            return nil
        }
        self.init(
            httpsProxy: first("https_proxy", "HTTPS_PROXY").map(Self.withScheme),
            httpProxy: first("http_proxy", "HTTP_PROXY").map(Self.withScheme),
            noProxy: (first("no_proxy", "NO_PROXY") ?? "").split(separator: ",").map {
                String($0).trimmingWhitespace().lowercased()
            }.filter { !$0.isEmpty }
        )
    }

    /// The proxy URL for a request to `url`, or nil to connect directly.
    package func proxy(for url: URLParts) -> String? {
        if url.isLoopback || url.isLinkLocal { return nil }
        guard let proxy = url.scheme == "https" ? httpsProxy : httpProxy else { return nil }
        return bypasses(url.host) ? nil : proxy
    }

    /// True when `NO_PROXY` names `host`.
    package func bypasses(_ host: String) -> Bool {
        let host = host.lowercased()
        for var entry in noProxy {
            if entry == "*" { return true }
            if entry.hasPrefix("["), let close = entry.firstIndex(of: "]") {
                entry = String(entry[entry.index(after: entry.startIndex)..<close])
            } else if entry.filter({ $0 == ":" }).count == 1, let colon = entry.firstIndex(of: ":") {
                entry = String(entry[..<colon])
            }
            if let slash = entry.firstIndex(of: "/") {
                if let address = IPv4(host), let network = IPv4(String(entry[..<slash])),
                    let bits = Int(entry[entry.index(after: slash)...]), (0...32).contains(bits)
                {
                    let mask: UInt32 = bits == 0 ? 0 : ~UInt32(0) << (32 - bits)
                    if address.value & mask == network.value & mask { return true }
                }
                continue
            }
            if entry.hasPrefix(".") { entry.removeFirst() }
            if entry.isEmpty { continue }
            if host == entry || host.hasSuffix("." + entry) { return true }
        }
        return false
    }

    private static func withScheme(_ value: String) -> String {
        value.contains("://") ? value : "http://\(value)"
    }
}

/// An IPv4 address as a number, for `NO_PROXY` ranges.
package struct IPv4: Equatable, Sendable {
    package var value: UInt32

    package init?(_ text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var value: UInt32 = 0
        for part in parts {
            guard part.count <= 3, let octet = UInt8(part) else { return nil }
            value = value << 8 | UInt32(octet)
        }
        self.value = value
    }
}
