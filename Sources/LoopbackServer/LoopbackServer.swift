import Dispatch

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#else
    #error("LoopbackServer needs Glibc or Musl")
#endif

/// A small HTTP/1.1 server bound to 127.0.0.1, for fakes of cloud APIs in tests and the emulator.
///
/// One thread accepts; each connection gets its own thread, so a handler that sleeps (injected
/// latency) never delays the others. It only ever listens on loopback.
public final class LoopbackServer: Sendable {
    public typealias Handler = @Sendable (ServerRequest) async -> ServerResponse
    public typealias SynchronousHandler = @Sendable (ServerRequest) -> ServerResponse

    /// The bound port.
    public let port: Int
    private let listener: Int32
    private let handler: Handling

    private enum Handling: Sendable {
        case async(Handler)
        case synchronous(SynchronousHandler)
    }

    /// Binds 127.0.0.1 on `port` (0 picks a free one) and serves with an async handler.
    public convenience init(port: Int = 0, handler: @escaping Handler) throws(ServerError) {
        try self.init(port: port, handling: .async(handler))
    }

    /// Serves with a handler that runs on the connection's own thread and needs no task executor:
    /// for fakes inside a test process, whose cooperative pool may be busy with other tests.
    public convenience init(port: Int = 0, respond: @escaping SynchronousHandler) throws(ServerError) {
        try self.init(port: port, handling: .synchronous(respond))
    }

    private init(port: Int, handling: Handling) throws(ServerError) {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw ServerError("socket: \(String(cString: strerror(errno)))") }
        var reuse: Int32 = 1
        setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &reuse, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = in_addr_t(0x7f00_0001).bigEndian
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        // ops (issue 11): a backlog of 128 overflowed when 50 targets opened ~500 connections at
        // once, and each dropped SYN cost its client a 1 s retransmission. The kernel caps it at somaxconn.
        guard bound == 0, listen(descriptor, 4096) == 0 else {
            let reason = String(cString: strerror(errno))
            close(descriptor)
            throw ServerError("cannot listen on 127.0.0.1:\(port): \(reason)")
        }
        var actual = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        self.port = Int(UInt16(bigEndian: actual.sin_port))
        self.listener = descriptor
        self.handler = handling
        startThread { [self] in acceptLoop() }
    }

    /// `http://127.0.0.1:PORT`, the value for `CMK_ENDPOINT_OVERRIDE`.
    public var origin: String { "http://127.0.0.1:\(port)" }

    /// Stops accepting connections (connections in progress finish).
    public func stop() { shutdown(listener, Int32(SHUT_RDWR)) }

    private func acceptLoop() {
        while true {
            let connection = accept(listener, nil, nil)
            if connection < 0 {
                if errno == EINTR { continue }
                close(listener)
                return
            }
            startThread { [self] in serve(connection) }
        }
    }

    /// Serves requests on one connection until the client closes it or asks to (`Connection: close`):
    /// keep-alive, as real cloud endpoints do, so that a client's connection reuse can be measured.
    private func serve(_ connection: Int32) {
        defer { close(connection) }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        while let request = readRequest(connection) {
            let response: ServerResponse
            switch handler {
            case .async(let handler): response = waitFor { await handler(request) }
            case .synchronous(let respond): response = respond(request)
            }
            if response.closeWithoutReply { return }
            let closing = request.headers["connection"]?.lowercased().contains("close") ?? false
            var head = "HTTP/1.1 \(response.status) \(reasonPhrase(response.status))\r\n"
            var headers = response.headers
            headers["Content-Length"] = String(response.body.count)
            headers["Connection"] = closing ? "close" : "keep-alive"
            for (name, value) in headers.sorted(by: { $0.key < $1.key }) { head += "\(name): \(value)\r\n" }
            head += "\r\n"
            let bytes = Array(head.utf8) + response.body
            var offset = 0
            while offset < bytes.count {
                let sent = bytes.withUnsafeBytes {
                    send(connection, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL))
                }
                if sent <= 0 { return }
                offset += sent
            }
            if closing { return }
        }
    }

    private func readRequest(_ connection: Int32) -> ServerRequest? {
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16384)
        var headerEnd: Int?
        var contentLength = 0
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(connection, $0.baseAddress, $0.count, 0) }
            if count <= 0 { return nil }
            data.append(contentsOf: buffer[0..<count])
            if headerEnd == nil, let end = findHeaderEnd(data) {
                headerEnd = end
                let head = String(decoding: data[0..<end], as: UTF8.self)
                for line in head.split(separator: "\r\n") where line.lowercased().hasPrefix("content-length:") {
                    contentLength = Int(line.split(separator: ":")[1].filter { $0 != " " }) ?? 0
                }
            }
            if let end = headerEnd, data.count >= end + 4 + contentLength {
                return ServerRequest(
                    head: String(decoding: data[0..<end], as: UTF8.self),
                    body: Array(data[(end + 4)..<(end + 4 + contentLength)])
                )
            }
        }
    }
}

/// A request as the handler sees it.
public struct ServerRequest: Sendable {
    public var method: String
    /// Path and query as sent (`/management.azure.com/subscriptions?api-version=…`).
    public var target: String
    /// The path without the query, percent-decoded.
    public var path: String
    /// Query parameters, percent-decoded (`+` as space).
    public var query: [String: String]
    /// Header names lowercased.
    public var headers: [String: String]
    public var body: [UInt8]

    init?(head: String, body: [UInt8]) {
        let lines = head.split(separator: "\r\n")
        guard let first = lines.first else { return nil }
        let parts = first.split(separator: " ")
        guard parts.count >= 2 else { return nil }
        method = String(parts[0])
        target = String(parts[1])
        let pieces = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        path = percentDecode(String(pieces[0]))
        var query: [String: String] = [:]
        if pieces.count > 1 {
            for pair in pieces[1].split(separator: "&") {
                let keyValue = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let key = percentDecode(String(keyValue[0]).replacingPlus())
                query[key] = keyValue.count > 1 ? percentDecode(String(keyValue[1]).replacingPlus()) : ""
            }
        }
        self.query = query
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let value = line[line.index(after: colon)...].drop(while: { $0 == " " })
            headers[line[..<colon].lowercased()] = String(value)
        }
        self.headers = headers
        self.body = body
    }

    public var bodyText: String { String(decoding: body, as: UTF8.self) }

    /// Form fields of an `application/x-www-form-urlencoded` body.
    public var form: [String: String] {
        var fields: [String: String] = [:]
        for pair in bodyText.split(separator: "&") {
            let keyValue = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            fields[percentDecode(String(keyValue[0]).replacingPlus())] =
                keyValue.count > 1 ? percentDecode(String(keyValue[1]).replacingPlus()) : ""
        }
        return fields
    }
}

/// What the handler answers.
public struct ServerResponse: Sendable {
    public var status: Int
    public var headers: [String: String]
    public var body: [UInt8]
    /// Close the connection without writing anything (a dropped connection).
    public var closeWithoutReply = false

    public init(status: Int, headers: [String: String] = [:], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public init(status: Int, headers: [String: String] = [:], text: String) {
        self.init(status: status, headers: headers, body: Array(text.utf8))
    }

    /// A JSON body (already encoded).
    public static func json(_ text: String, status: Int = 200, headers: [String: String] = [:]) -> ServerResponse {
        var all = headers
        all["Content-Type"] = "application/json; charset=utf-8"
        return ServerResponse(status: status, headers: all, text: text)
    }

    public static let dropConnection: ServerResponse = {
        var response = ServerResponse(status: 0)
        response.closeWithoutReply = true
        return response
    }()
}

public struct ServerError: Error, CustomStringConvertible, Sendable {
    public var description: String
    init(_ description: String) { self.description = description }
}

private extension String {
    func replacingPlus() -> String { String(map { $0 == "+" ? " " : $0 }) }
}

private func percentDecode(_ text: String) -> String {
    var bytes: [UInt8] = []
    var iterator = Array(text.utf8).makeIterator()
    while let byte = iterator.next() {
        if byte == UInt8(ascii: "%"), let high = iterator.next(), let low = iterator.next(),
            let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16)
        {
            bytes.append(value)
        } else {
            bytes.append(byte)
        }
    }
    return String(decoding: bytes, as: UTF8.self)
}

private func findHeaderEnd(_ bytes: [UInt8]) -> Int? {
    guard bytes.count >= 4 else { return nil }
    for index in 0...(bytes.count - 4)
    where bytes[index] == 13 && bytes[index + 1] == 10 && bytes[index + 2] == 13 && bytes[index + 3] == 10 {
        return index
    }
    return nil
}

private func reasonPhrase(_ status: Int) -> String {
    switch status {
    case 200: "OK"
    case 201: "Created"
    case 400: "Bad Request"
    case 401: "Unauthorized"
    case 403: "Forbidden"
    case 404: "Not Found"
    case 429: "Too Many Requests"
    case 500: "Internal Server Error"
    case 503: "Service Unavailable"
    default: "Status"
    }
}

/// Runs an async handler to completion from a plain thread.
private func waitFor<T: Sendable>(_ body: @escaping @Sendable () async -> T) -> T {
    let semaphore = DispatchSemaphore(value: 0)
    let box = ResultBox<T>()
    Task.detached {
        box.value = await body()
        semaphore.signal()
    }
    semaphore.wait()
    return box.value!
}

private final class ResultBox<T>: @unchecked Sendable {  // written once before the semaphore signals, read after
    var value: T?
}

private final class ThreadStart: Sendable {
    let body: @Sendable () -> Void
    init(_ body: @escaping @Sendable () -> Void) { self.body = body }
}

private func startThread(_ body: @escaping @Sendable () -> Void) {
    let start = Unmanaged.passRetained(ThreadStart(body)).toOpaque()
    var thread = pthread_t()
    guard
        pthread_create(
            &thread,
            nil,
            { argument in
                Unmanaged<ThreadStart>.fromOpaque(argument!).takeRetainedValue().body()
                return nil
            },
            start
        ) == 0
    else {
        Unmanaged<ThreadStart>.fromOpaque(start).release()
        return
    }
    pthread_detach(thread)
}
