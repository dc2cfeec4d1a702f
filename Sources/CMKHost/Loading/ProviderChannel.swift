package import CMKCore
import FoundationEssentials

/// How the host reaches a provider: in process through the C ABI, or in a worker process.
package protocol ProviderChannel: Sendable {
    /// Sends one JSON request and waits at most `timeout` for the JSON reply.
    func call(_ request: [UInt8], timeout: Duration) async throws(ProviderCallError) -> [UInt8]
}

/// What the host accepts as a reply, the same in process and in a worker.
package enum ProviderReply {
    /// The largest reply read: a status report is kilobytes; a provider that sends more is broken
    /// or hostile, and must not fill cmk's memory.
    package static let maximumSize = 16 << 20

    /// The error for a reply of `size` bytes, past the limit.
    package static func tooLarge(_ size: Int?) -> ProviderCallError {
        let actual = size.map { " (\($0) bytes)" } ?? ""
        return ProviderCallError(.malformedReply, "its reply is larger than \(maximumSize >> 20) MiB\(actual); refused")
    }
}

/// Why a call produced no usable reply. Equality by code.
package struct ProviderCallError: Error, Sendable, Equatable, CustomStringConvertible {
    package struct Code: Hashable, Sendable {
        package var name: String
        package static let timedOut = Code(name: "timed-out")
        package static let crashed = Code(name: "crashed")
        package static let malformedReply = Code(name: "malformed-reply")
        /// The provider answered with {"error": …}; `providerError` holds it.
        package static let providerError = Code(name: "provider-error")
        package static let unavailable = Code(name: "unavailable")
    }

    package var code: Code
    package var reason: String
    package var providerError: ProviderError?

    package init(_ code: Code, _ reason: String, providerError: ProviderError? = nil) {
        self.code = code
        self.reason = reason
        self.providerError = providerError
    }

    package var description: String { reason }
    package static func == (lhs: ProviderCallError, rhs: ProviderCallError) -> Bool { lhs.code == rhs.code }
}

/// A provider as the host sees it: what it says about itself, where it came from, how to call it.
package struct LoadedProvider: Sendable {
    package var name: String
    package var version: String
    package var summary: String
    package var abiVersion: UInt32
    package var structSize: UInt32
    package var path: String
    package var channel: any ProviderChannel

    /// Sends `op` with `payload`, decodes the reply as `Reply`; an {"error"} reply becomes a thrown error.
    package func request<Payload: Encodable, Reply: Decodable>(
        _ op: WireOperation,
        _ payload: Payload?,
        as reply: Reply.Type,
        timeout: Duration
    ) async throws(ProviderCallError) -> Reply {
        let bytes: [UInt8]
        do {
            bytes = try encodeWireRequest(op, payload)
        } catch {
            throw ProviderCallError(.malformedReply, "cannot encode the \(op.rawValue) request: \(error)")
        }
        return try await request(encoded: bytes, op: op, as: Reply.self, timeout: timeout)
    }

    /// Sends an already encoded request (one encoding shared by several providers).
    package func request<Reply: Decodable>(
        encoded bytes: [UInt8],
        op: WireOperation,
        as reply: Reply.Type,
        timeout: Duration
    ) async throws(ProviderCallError) -> Reply {
        let answer = try await channel.call(bytes, timeout: timeout)
        return try decodeReply(answer, as: Reply.self, op: op)
    }

    /// `detect` with an already encoded request: the plain reply is read without JSONDecoder.
    ///
    /// Every `cmk` start sends it to every provider just after loading them, and a dlopen empties
    /// the Swift runtime's conformance cache: JSONDecoder's first decode then costs about
    /// 0.4 ms of conformance scans (callgrind, docs/benchmarks.md), more than the rest of the call.
    package func detect(encoded bytes: [UInt8], timeout: Duration) async throws(ProviderCallError) -> Detection {
        let answer = try await channel.call(bytes, timeout: timeout)
        return try decodeReply(answer, as: Detection.self, op: .detect, plain: Detection.init(wireBytes:))
    }

    /// Checks and decodes a reply; `plain` reads the usual shape without JSONDecoder (nil: not that shape).
    private func decodeReply<Reply: Decodable>(
        _ bytes: [UInt8],
        as type: Reply.Type,
        op: WireOperation,
        plain: ([UInt8]) -> Reply? = { _ in nil }
    ) throws(ProviderCallError) -> Reply {
        // One rule in process and in a worker: the reply must be UTF-8, as the ABI says, and is
        // never repaired (U+FFFD in a key name or a remediation would be a silent lie).
        guard String(validating: bytes, as: UTF8.self) != nil else {
            throw ProviderCallError(.malformedReply, "its \(op.rawValue) reply is not valid UTF-8; refused")
        }
        guard JSONNesting.isShallow(bytes) else {
            throw ProviderCallError(.malformedReply, "its \(op.rawValue) reply is nested too deeply; refused")
        }
        if let reply = plain(bytes) { return reply }
        let decoder = JSONDecoder()
        let data = Data(bytes)
        if let failure = try? decoder.decode(ErrorReply.self, from: data) {
            throw ProviderCallError(.providerError, "\(name): \(failure.error.message)", providerError: failure.error)
        }
        do {
            return try decoder.decode(Reply.self, from: data)
        } catch {
            let preview = String(decoding: bytes.prefix(120), as: UTF8.self)
            throw ProviderCallError(
                .malformedReply,
                "provider '\(name)' sent an unreadable \(op.rawValue) reply (\(describe(error))): \(preview)"
            )
        }
    }
}

/// A decoding error in one line, naming the field.
package func describe(_ error: any Error) -> String {
    switch error {
    case DecodingError.keyNotFound(let key, let context):
        return "missing field '\((context.codingPath + [key]).map(\.stringValue).joined(separator: "."))'"
    case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
        return "wrong type at '\(context.codingPath.map(\.stringValue).joined(separator: "."))'"
    case DecodingError.dataCorrupted(let context):
        return context.codingPath.isEmpty
            ? "not JSON" : "bad value at '\(context.codingPath.map(\.stringValue).joined(separator: "."))'"
    default:
        return String(describing: error)
    }
}
