// Fuzz target: URLParts (Sources/CMKCore/HTTP/HTTPMessage.swift) and EndpointOverride.swift.
//
// Invariants:
// - an accepted URL's serialised form parses back to the same parts and re-serialises to the same
//   string (parse → serialise → parse is identity; serialise is a fixpoint);
// - the parts are well formed: an ASCII host with no space, control character or URL delimiter
//   (':' only in a bracketed IPv6 literal), a port in 1...65535, an ASCII target that starts with
//   '/' and holds no fragment, space or control character (which would split the request line or
//   the Host header);
// - an accepted CMK_ENDPOINT_OVERRIDE is an origin ("/" target) that resolves, as the socket
//   transport would resolve it, only to a loopback address (127.0.0.0/8 or ::1), or is localhost;
// - rewriting an accepted URL through an accepted override keeps the override's origin, puts the
//   original authority and target in the path, and round-trips like any URL.
#if canImport(Glibc)
    import Glibc
#endif

func wellFormed(_ parts: URLParts, from text: String) {
    let controlOrSpace: (Unicode.Scalar) -> Bool = { $0.value <= 0x20 || $0.value >= 0x7f }
    check(!parts.host.isEmpty && !parts.host.unicodeScalars.contains(where: controlOrSpace), "host \(shown(parts.host)) from \(shown(text))")
    check(!parts.host.contains(where: { "/?#@[]".contains($0) }), "host \(shown(parts.host)) from \(shown(text))")
    if parts.host.contains(":") {
        check(parts.host.allSatisfy { $0.isASCII && ($0.isHexDigit || $0 == ":" || $0 == ".") }, "IPv6 host \(shown(parts.host)) from \(shown(text))")
    }
    check((1...65535).contains(parts.port), "port \(parts.port)")
    check(parts.scheme == "http" || parts.scheme == "https", "scheme \(shown(parts.scheme))")
    check(parts.target.hasPrefix("/") && !parts.target.contains("#"), "target \(shown(parts.target))")
    check(!parts.target.unicodeScalars.contains(where: controlOrSpace), "target \(shown(parts.target)) from \(shown(text))")
}

func roundTrips(_ parts: URLParts, from text: String) {
    let url = parts.url
    do {
        let again = try URLParts(parsing: url)
        check(again == parts, "parse(serialise) differs for \(shown(text)): \(shown(url)) → \(again) vs \(parts)")
        check(again.url == url, "serialise is not a fixpoint: \(shown(again.url)) vs \(shown(url))")
    } catch {
        check(false, "the serialised form \(shown(url)) of \(shown(text)) is refused: \(error)")
    }
}

/// Whether `host` resolves, numerically as getaddrinfo does for the socket transport, to loopback only.
func resolvesToLoopbackOnly(_ host: String) -> Bool {
    if host == "localhost" { return true }
    var hints = addrinfo()
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV
    hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
    var list: UnsafeMutablePointer<addrinfo>?
    guard getaddrinfo(host, "80", &hints, &list) == 0 else { return false }
    defer { freeaddrinfo(list) }
    var node = list
    while let info = node {
        node = info.pointee.ai_next
        if info.pointee.ai_family == AF_INET {
            let first = info.pointee.ai_addr.withMemoryRebound(to: sockaddr_in.self, capacity: 1) {
                UInt32(bigEndian: $0.pointee.sin_addr.s_addr) >> 24
            }
            if first != 127 { return false }
        } else if info.pointee.ai_family == AF_INET6 {
            let loopback = info.pointee.ai_addr.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { address in
                withUnsafeBytes(of: address.pointee.sin6_addr) { $0.elementsEqual([UInt8](repeating: 0, count: 15) + [1]) }
            }
            if !loopback { return false }
        } else {
            return false
        }
    }
    return true
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzURLParts(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = fuzzBytes(data, size)
    let text = String(decoding: bytes, as: UTF8.self)
    var accepted: URLParts?
    if let parts = try? URLParts(parsing: text) {
        wellFormed(parts, from: text)
        roundTrips(parts, from: text)
        accepted = parts
    }

    // The override: the whole input, or its first line with the rest as the URL to rewrite.
    let halves = pieces(bytes, separator: 10, limit: 2)
    let overrideText = halves.count > 1 ? String(decoding: halves[0], as: UTF8.self) : text
    let override: EndpointOverride?
    do {
        override = try EndpointOverride(environment: [EndpointOverride.environmentVariable: overrideText])
    } catch {
        check(error.code == .overrideRefused, "override error code \(error.code)")
        return 0
    }
    guard let override else {
        check(overrideText.isEmpty, "a non-empty override \(shown(overrideText)) was ignored")
        return 0
    }
    let origin = override.origin
    wellFormed(origin, from: overrideText)
    check(origin.target == "/", "override target \(shown(origin.target))")
    check(resolvesToLoopbackOnly(origin.host), "override \(shown(overrideText)) reaches \(shown(origin.host)), not loopback")
    check(override.originURL + "/" == origin.url, "originURL \(shown(override.originURL))")

    let original = halves.count > 1 ? try? URLParts(parsing: String(decoding: halves[1], as: UTF8.self)) : accepted
    guard let original else { return 0 }
    let rewritten = override.rewrite(original)
    check(rewritten.scheme == origin.scheme && rewritten.host == origin.host && rewritten.port == origin.port, "rewrite left the origin")
    check(rewritten.target == "/" + original.authority + original.target, "rewritten target \(shown(rewritten.target))")
    wellFormed(rewritten, from: rewritten.url)
    roundTrips(rewritten, from: rewritten.url)
    return 0
}
