// Fuzz target: Sources/CMKCore/HTTP/SocketTransport.swift, the plain-http response reader.
//
// Every input is the whole of what a loopback peer answers: SocketTransport.perform connects to a
// server thread in this process, which reads the request and sends the input (in a quarter of the
// runs in a few pieces with pauses, so that the reader's incremental end-of-headers search sees
// the boundaries), then closes. Invariants:
// - the reader and the parser agree: perform's outcome equals parseResponse on the same bytes
//   (the same response, or an error with the same code), unless the input has both
//   Transfer-Encoding and Content-Length, where the reader legitimately stops at Content-Length;
// - a parsed response's body is never longer than the input, nor than the body limit, and its
//   status is what the status line says;
// - generated responses (the input as the body, sent with Content-Length or in chunks whose sizes
//   come from the input) parse back to exactly that body.
#if canImport(Glibc)
    import Glibc
#endif
import Synchronization

/// What the peer sends next, and where it pauses; set before each perform, read by the server thread.
let nextReply = Mutex<(bytes: [UInt8], cuts: [Int])>(([], []))

/// The peer's listening ports (on 127.0.0.1 only), made on first use; one server thread serves one
/// connection at a time. Runs take the ports in turn: each port has its own ephemeral ports for
/// the connections that end in TIME_WAIT, so a million runs do not run out of them.
let peerPorts: [Int] = {
    var listeners: [Int32] = []
    var ports: [Int] = []
    for _ in 0..<16 {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, length) == 0 && listen(listener, 16) == 0 && getsockname(listener, $0, &length) == 0
            }
        }
        check(bound, "cannot listen on loopback: \(errnoText())")
        listeners.append(listener)
        ports.append(Int(UInt16(bigEndian: address.sin_port)))
    }
    let box = Unmanaged.passRetained(ListenerBox(listeners)).toOpaque()
    var thread = pthread_t()
    let started = pthread_create(
        &thread,
        nil,
        { argument in
            serve(Unmanaged<ListenerBox>.fromOpaque(argument!).takeRetainedValue().descriptors)
            return nil
        },
        box
    )
    check(started == 0, "cannot start the peer thread")
    return ports
}()

final class ListenerBox: Sendable {
    let descriptors: [Int32]
    init(_ descriptors: [Int32]) { self.descriptors = descriptors }
}

nonisolated(unsafe) var runCount = 0

func serve(_ listeners: [Int32]) {
    var entries = listeners.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
    while true {
        guard poll(&entries, nfds_t(entries.count), -1) > 0, let ready = entries.first(where: { $0.revents != 0 })
        else { continue }
        let connection = accept(ready.fd, nil, nil)
        if connection < 0 { continue }
        var one: Int32 = 1
        setsockopt(connection, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        // Read the whole request first: closing with unread bytes would reset the connection.
        var request: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !request.suffix(4).elementsEqual([13, 10, 13, 10]) {
            let count = recv(connection, &buffer, buffer.count, 0)
            if count <= 0 { break }
            request += buffer[0..<count]
        }
        let (bytes, cuts) = nextReply.withLock { $0 }
        var start = 0
        for end in cuts + [bytes.count] where end >= start {
            if end > start {
                let sent = bytes[start..<end].withUnsafeBytes { send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if sent < 0 { break }
            }
            start = end
            if end < bytes.count { usleep(100) }
        }
        shutdown(connection, Int32(SHUT_WR))
        while recv(connection, &buffer, buffer.count, 0) > 0 {}
        // The client has closed: abort rather than close, so that no TIME_WAIT is left. A million
        // runs would otherwise hold every ephemeral port of 127.0.0.1 → this port for a minute.
        var abort = linger(l_onoff: 1, l_linger: 0)
        setsockopt(connection, SOL_SOCKET, SO_LINGER, &abort, socklen_t(MemoryLayout<linger>.size))
        close(connection)
    }
}

func outcome(_ work: () throws(HTTPError) -> HTTPResponse) -> Result<HTTPResponse, HTTPError> {
    do throws(HTTPError) { return .success(try work()) } catch { return .failure(error) }
}

func contains(_ bytes: [UInt8], _ word: String) -> Bool {
    String(decoding: bytes, as: UTF8.self).lowercased().contains(word)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSocketResponse(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let input = fuzzBytes(data, size)
    let hash = input.reduce(UInt32(2_166_136_261)) { ($0 ^ UInt32($1)) &* 16_777_619 }
    var cuts: [Int] = []
    if hash & 3 == 0, input.count > 1 {
        let headEnd = (0..<max(0, input.count - 3)).first { input[$0] == 13 && input[$0 + 1] == 10 && input[$0 + 2] == 13 && input[$0 + 3] == 10 }
        let near = headEnd.map { $0 + Int(hash >> 2 & 7) - 2 } ?? Int(hash >> 2) % input.count
        cuts = [Int(hash >> 5) % input.count, near].filter { $0 > 0 && $0 < input.count }.sorted()
    }
    nextReply.withLock { $0 = (input, cuts) }

    runCount += 1
    let target = URLParts(scheme: "http", host: "127.0.0.1", port: peerPorts[runCount % peerPorts.count], target: "/fuzz")
    let read = outcome { () throws(HTTPError) in
        try SocketTransport.perform(HTTPRequest(url: target.url), to: target, deadline: .now + .seconds(5))
    }
    let parsed = outcome { () throws(HTTPError) in try SocketTransport.parseResponse(input) }

    for case .success(let response) in [read, parsed] {
        check(response.body.count <= input.count, "a body of \(response.body.count) bytes from \(input.count)")
        check(response.body.count <= SocketTransport.maxBodyBytes, "body over the limit")
        let statusLine = String(decoding: input, as: UTF8.self).split(separator: "\r\n", maxSplits: 1, omittingEmptySubsequences: false)[0]
        check(statusLine.split(separator: " ").dropFirst().first.flatMap { Int($0) } == response.status, "status \(response.status) from \(shown(String(statusLine)))")
    }
    if !(contains(input, "transfer-encoding") && contains(input, "content-length")) {
        switch (read, parsed) {
        case (.success(let a), .success(let b)):
            check(a == b, "reader and parser differ on \(shown(String(decoding: input, as: UTF8.self))), cuts \(cuts)")
        case (.failure(let a), .failure(let b)):
            check(a.code == b.code, "reader fails with \(a.code) (\(a)), parser with \(b.code) (\(b))")
        default:
            check(false, "reader \(read) but parser \(parsed) on \(shown(String(decoding: input, as: UTF8.self))), cuts \(cuts)")
        }
    }

    // Generated: the input as a body with Content-Length, and chunked with sizes from the input.
    let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
    let sized = Array((head + "Content-Length: \(input.count)\r\n\r\n").utf8) + input
    let sizedBody = outcome { () throws(HTTPError) in try SocketTransport.parseResponse(sized) }
    check((try? sizedBody.get().body) == input, "Content-Length body differs: \(sizedBody)")
    var chunked = Array((head + "Transfer-Encoding: chunked\r\n\r\n").utf8)
    var offset = 0
    var step = 0
    while offset < input.count {
        let length = min(input.count - offset, 1 + Int(input[step % input.count]) % 97)
        chunked += Array(String(length, radix: 16, uppercase: step % 2 == 0).utf8) + (step % 3 == 0 ? Array(";x=y".utf8) : [])
        chunked += [13, 10] + input[offset..<(offset + length)] + [13, 10]
        offset += length
        step += 1
    }
    chunked += Array("0\r\n\r\n".utf8)
    let chunkedBody = outcome { () throws(HTTPError) in try SocketTransport.parseResponse(chunked) }
    check((try? chunkedBody.get().body) == input, "chunked body differs: \(chunkedBody)")
    return 0
}
