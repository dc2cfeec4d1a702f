import CMKCore
import Foundation
import Testing

/// A peer on plain http (instance metadata, App Service's identity endpoint) that sends a
/// malformed or endless response: the call fails with a clear error, within its deadline,
/// and never traps (a trap here would take the whole test run down).
@Suite("Hostile HTTP peers")
struct HostilePeerTests {
    struct Case: CustomStringConvertible, Sendable {
        var name: String
        var response: String
        var code: HTTPError.Code
        var description: String { name }
    }

    static let cases: [Case] = [
        Case(name: "negative Content-Length", response: "HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\nabc",
             code: .malformedResponse),
        Case(name: "huge Content-Length", response: "HTTP/1.1 200 OK\r\nContent-Length: 9223372036854775807\r\n\r\n",
             code: .malformedResponse),
        Case(name: "Content-Length over the body limit",
             response: "HTTP/1.1 200 OK\r\nContent-Length: 999999999\r\n\r\n", code: .responseTooLarge),
        Case(name: "Content-Length not a number", response: "HTTP/1.1 200 OK\r\nContent-Length: 12abc\r\n\r\n",
             code: .malformedResponse),
        Case(name: "negative chunk size",
             response: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\nabc\r\n0\r\n\r\n",
             code: .malformedResponse),
        Case(name: "huge chunk size",
             response: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n7fffffffffffffff\r\nabc\r\n0\r\n\r\n",
             code: .malformedResponse),
        Case(name: "chunk larger than the body limit",
             response: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffff\r\nabc\r\n0\r\n\r\n",
             code: .responseTooLarge),
        Case(name: "not HTTP at all", response: "SSH-2.0-OpenSSH\r\n\r\n", code: .malformedResponse),
    ]

    @Test("a malformed response is an error, not a trap", arguments: cases)
    func malformed(_ testCase: Case) async throws {
        let peer = try RawPeer(reply: Array(testCase.response.utf8), endless: false)
        let client = try HTTPClient(environment: ["CMK_ENDPOINT_OVERRIDE": peer.origin])
        await #expect(throws: HTTPError(testCase.code, "")) {
            try await client.send(HTTPRequest(url: "http://169.254.169.254/metadata", timeout: .seconds(5)))
        }
    }

    @Test("an endless response is cut off by the size limit or the deadline, whichever comes first")
    func endless() async throws {
        for head in ["HTTP/1.1 200 OK\r\n\r\n", "HTTP/1.1 200 OK\r\nX-Filler: "] {
            let peer = try RawPeer(reply: Array(head.utf8), endless: true)
            let client = try HTTPClient(environment: ["CMK_ENDPOINT_OVERRIDE": peer.origin])
            let started = ContinuousClock.now
            do {
                _ = try await client.send(HTTPRequest(url: "http://169.254.169.254/m", timeout: .seconds(2)))
                Issue.record("an endless response was accepted")
            } catch {
                #expect(error.code == .responseTooLarge || error.code == .timedOut, "\(error)")
            }
            // Without a limit or a deadline while data flows this never ended (3.78 GB in 6 s); the
            // bound is loose because a full parallel test run delays this process's own tasks.
            #expect(ContinuousClock.now - started < .seconds(30))
        }
    }
}

/// A loopback TCP peer that answers every connection with `reply`, then (when `endless`) an
/// unending stream of bytes.
final class RawPeer: @unchecked Sendable {
    // Unchecked: the descriptor and port are set once in init; the serving thread only reads them.
    let descriptor: Int32
    let port: Int

    init(reply: [UInt8], endless: Bool) throws {
        (descriptor, port) = try listenOnLoopback(backlog: 16)
        let listening = descriptor
        Thread.detachNewThread {
            while true {
                let connection = accept(listening, nil, nil)
                if connection < 0 { return }
                Thread.detachNewThread {
                    var request = [UInt8](repeating: 0, count: 4096)
                    _ = recv(connection, &request, request.count, 0)
                    _ = send(connection, reply, reply.count, Int32(MSG_NOSIGNAL))
                    let filler = [UInt8](repeating: UInt8(ascii: "a"), count: 65536)
                    while endless, send(connection, filler, filler.count, Int32(MSG_NOSIGNAL)) > 0 {}
                    close(connection)
                }
            }
        }
    }

    var origin: String { "http://127.0.0.1:\(port)" }
    deinit { shutdown(descriptor, Int32(SHUT_RDWR)); close(descriptor) }
}
