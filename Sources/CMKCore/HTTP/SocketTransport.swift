#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#else
    #error("cmk's socket transport needs Glibc or Musl")
#endif

/// Plain HTTP/1.1 over a socket, for loopback and the instance-metadata address.
///
/// Small on purpose: start-up never loads libcurl, a proxy is never used (instance metadata must
/// not go through one), and every step waits with `poll` against the request's deadline, because
/// URLSession on Linux rounds timeouts to whole seconds.
package enum SocketTransport {
    package static func perform(_ request: HTTPRequest, to target: URLParts, deadline: ContinuousClock.Instant)
        throws(HTTPError) -> HTTPResponse
    {
        let descriptor = try connect(host: target.host, port: target.port, deadline: deadline)
        defer { close(descriptor) }
        var head = "\(request.method) \(target.target) HTTP/1.1\r\nHost: \(target.authority)\r\nConnection: close\r\n"
        for (name, value) in request.headers.sorted(by: { $0.key < $1.key }) where name.lowercased() != "host" {
            head += "\(name): \(value)\r\n"
        }
        if !request.body.isEmpty || request.method == "POST" || request.method == "PUT" {
            head += "Content-Length: \(request.body.count)\r\n"
        }
        head += "\r\n"
        try writeAll(descriptor, Array(head.utf8) + request.body, deadline: deadline)
        let raw = try readAll(descriptor, deadline: deadline)
        return try parseResponse(raw)
    }

    private static func remainingMilliseconds(_ deadline: ContinuousClock.Instant) -> Int32 {
        let left = deadline - .now
        if left <= .zero { return 0 }
        let (seconds, attoseconds) = left.components
        return Int32(clamping: seconds * 1000 + attoseconds / 1_000_000_000_000_000 + 1)
    }

    private static func wait(
        _ descriptor: Int32,
        for events: Int16,
        deadline: ContinuousClock.Instant,
        doing what: String
    ) throws(HTTPError) {
        while true {
            let timeout = remainingMilliseconds(deadline)
            if timeout == 0 { throw HTTPError(.timedOut, "timed out \(what)") }
            var entry = pollfd(fd: descriptor, events: events, revents: 0)
            let ready = poll(&entry, 1, timeout)
            if ready > 0 { return }
            if ready < 0 && errno != EINTR { throw HTTPError(.connectionFailed, "poll failed \(what): \(errnoText())") }
        }
    }

    private static func connect(host: String, port: Int, deadline: ContinuousClock.Instant) throws(HTTPError) -> Int32 {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_NUMERICSERV
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let first = list else {
            throw HTTPError(.connectionFailed, "cannot resolve \(host): \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(list) }
        var lastError = "no address"
        var candidate: UnsafeMutablePointer<addrinfo>? = first
        while let info = candidate {
            candidate = info.pointee.ai_next
            let descriptor = socket(
                info.pointee.ai_family,
                info.pointee.ai_socktype | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue),
                info.pointee.ai_protocol
            )
            if descriptor < 0 { lastError = errnoText(); continue }
            if Glibc.connect(descriptor, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 { return descriptor }
            guard errno == EINPROGRESS else { lastError = errnoText(); close(descriptor); continue }
            do {
                try wait(descriptor, for: Int16(POLLOUT), deadline: deadline, doing: "connecting to \(host):\(port)")
            } catch {
                close(descriptor)
                throw error
            }
            var socketError: Int32 = 0
            var size = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(descriptor, SOL_SOCKET, SO_ERROR, &socketError, &size)
            if socketError == 0 { return descriptor }
            lastError = String(cString: strerror(socketError))
            close(descriptor)
        }
        throw HTTPError(.connectionFailed, "cannot connect to \(host):\(port): \(lastError)")
    }

    private static func writeAll(_ descriptor: Int32, _ bytes: [UInt8], deadline: ContinuousClock.Instant)
        throws(HTTPError)
    {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes {
                send(descriptor, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL))
            }
            if written > 0 { offset += written; continue }
            if written < 0 && (errno == EAGAIN || errno == EINTR) {
                try wait(descriptor, for: Int16(POLLOUT), deadline: deadline, doing: "sending the request")
                continue
            }
            throw HTTPError(.connectionFailed, "sending the request failed: \(errnoText())")
        }
    }

    /// Limits for what a peer may send: instance metadata and token endpoints answer in a few KiB.
    package static let maxHeaderBytes = 64 << 10
    package static let maxBodyBytes = 16 << 20

    /// Reads until the response is complete, the peer closes, the deadline passes (checked on every
    /// read, so a peer that trickles data forever is cut off too) or a limit is crossed.
    private static func readAll(_ descriptor: Int32, deadline: ContinuousClock.Instant) throws(HTTPError) -> [UInt8] {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16384)
        var scanned = 0  // bytes already searched for the end of the headers: the search never restarts
        var headersRead = false
        var responseEnd: Int?  // from Content-Length; without one the response ends when the peer closes
        while true {
            if ContinuousClock.now >= deadline { throw HTTPError(.timedOut, "timed out reading the response") }
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count > 0 {
                received.append(contentsOf: buffer[0..<count])
                if !headersRead {
                    if let end = headerEnd(received, from: max(0, scanned - 3)) {
                        headersRead = true
                        responseEnd = try completeLength(received, headerEnd: end)
                    } else if received.count > maxHeaderBytes {
                        throw HTTPError(.responseTooLarge, "the response headers are larger than \(maxHeaderBytes) bytes")
                    } else {
                        scanned = received.count
                    }
                }
                if let responseEnd, received.count >= responseEnd { return Array(received[0..<responseEnd]) }
                if received.count > maxHeaderBytes + maxBodyBytes {
                    throw HTTPError(.responseTooLarge, "the response is larger than \(maxBodyBytes) bytes of body")
                }
                continue
            }
            if count == 0 { return received }
            if errno == EAGAIN || errno == EINTR {
                try wait(descriptor, for: Int16(POLLIN), deadline: deadline, doing: "waiting for the response")
                continue
            }
            throw HTTPError(.connectionFailed, "reading the response failed: \(errnoText())")
        }
    }

    /// The total length of a response once its headers say it (Content-Length), so a server that
    /// keeps the connection open does not make us wait for the deadline; nil without one.
    private static func completeLength(_ bytes: [UInt8], headerEnd: Int) throws(HTTPError) -> Int? {
        guard headerEnd <= maxHeaderBytes else {
            throw HTTPError(.responseTooLarge, "the response headers are larger than \(maxHeaderBytes) bytes")
        }
        // The header lines as parseResponse reads them, so that both agree on the length.
        let head = String(decoding: bytes[0..<headerEnd], as: UTF8.self)
        let fields = head.firstRange(of: "\r\n").map { String(head[$0.upperBound...]) } ?? ""
        guard let value = parseHeaderLines(fields)["content-length"] else { return nil }
        return headerEnd + 4 + (try contentLength(value))
    }

    /// A Content-Length value: digits only, at most `maxBodyBytes`.
    private static func contentLength(_ text: String) throws(HTTPError) -> Int {
        let digits = text.trimmingWhitespace()
        guard !digits.isEmpty, digits.count <= 12, digits.allSatisfy({ $0.isASCII && $0.isNumber }),
            let length = Int(digits)
        else {
            throw HTTPError(.malformedResponse, "bad Content-Length '\(digits.prefix(40))'")
        }
        guard length <= maxBodyBytes else {
            throw HTTPError(.responseTooLarge, "Content-Length \(length) is over the limit of \(maxBodyBytes) bytes")
        }
        return length
    }

    private static func headerEnd(_ bytes: [UInt8], from start: Int = 0) -> Int? {
        guard bytes.count >= 4, start <= bytes.count - 4 else { return nil }
        for index in start...(bytes.count - 4)
        where bytes[index] == 13 && bytes[index + 1] == 10 && bytes[index + 2] == 13 && bytes[index + 3] == 10 {
            return index
        }
        return nil
    }

    package static func parseResponse(_ bytes: [UInt8]) throws(HTTPError) -> HTTPResponse {
        guard let end = headerEnd(bytes) else {
            throw HTTPError(.malformedResponse, "the server closed the connection before a full HTTP response")
        }
        let lines = String(decoding: bytes[0..<end], as: UTF8.self).split(
            separator: "\r\n",
            omittingEmptySubsequences: false
        )
        let statusParts = lines[0].split(separator: " ", maxSplits: 2)
        guard statusParts.count >= 2, statusParts[0].hasPrefix("HTTP/1."), let status = Int(statusParts[1]) else {
            throw HTTPError(.malformedResponse, "not an HTTP response: '\(lines[0].prefix(60))'")
        }
        let headers = parseHeaderLines(lines.dropFirst().joined(separator: "\r\n"))
        var body = Array(bytes[(end + 4)...])
        if headers["transfer-encoding"]?.lowercased().contains("chunked") == true {
            body = try decodeChunked(body)
        } else if let text = headers["content-length"] {
            let length = try contentLength(text)
            guard body.count >= length else {
                throw HTTPError(.malformedResponse, "the response body is shorter than its Content-Length")
            }
            body = Array(body[0..<length])
        }
        return HTTPResponse(status: status, headers: headers, body: body)
    }

    private static func decodeChunked(_ bytes: [UInt8]) throws(HTTPError) -> [UInt8] {
        var output: [UInt8] = []
        var index = 0
        while true {
            guard
                let lineEnd = (index..<max(index, bytes.count - 1)).first(where: {
                    bytes[$0] == 13 && bytes[$0 + 1] == 10
                })
            else {
                throw HTTPError(.malformedResponse, "truncated chunked body")
            }
            let sizeText =
                String(decoding: bytes[index..<lineEnd], as: UTF8.self).split(separator: ";").first.map(String.init)
                ?? ""
            let hex = sizeText.trimmingWhitespace()
            guard !hex.isEmpty, hex.count <= 8, hex.allSatisfy(\.isHexDigit), let size = Int(hex, radix: 16) else {
                throw HTTPError(.malformedResponse, "bad chunk size '\(hex.prefix(40))'")
            }
            guard size <= maxBodyBytes - output.count else {
                throw HTTPError(.responseTooLarge, "the chunked body is larger than \(maxBodyBytes) bytes")
            }
            index = lineEnd + 2
            if size == 0 { return output }
            guard size <= bytes.count - index else { throw HTTPError(.malformedResponse, "truncated chunk") }
            output.append(contentsOf: bytes[index..<(index + size)])
            index += size + 2
        }
    }
}
