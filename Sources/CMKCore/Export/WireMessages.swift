import FoundationEssentials

// The JSON messages that cross the plugin ABI (docs/plugin-abi.md). Requests are flat objects
// with an `op` field; replies are the operation's result or {"error": {code, message}}.

/// The operations a provider answers.
package enum WireOperation: String, Codable, Sendable {
    /// `{"op":"describe"}` → `{"options":[…]}`
    case describe
    /// `{"op":"detect","snapshot":{…},"probe":false}` → a ``Detection``
    case detect
    /// `{"op":"status","platform":{…}?,"options":{…},"deadlineMilliseconds":N}` → a ``StatusReport``
    case status
    /// Same request as `status` → `{"text":"…"}`
    case ticket
}

package struct WireEnvelope: Codable, Sendable {
    package var op: WireOperation
}

package struct DescribeReply: Codable, Sendable, Equatable {
    package var options: [ProviderOption]
    package init(options: [ProviderOption]) { self.options = options }
}

package struct TicketReply: Codable, Sendable, Equatable {
    package var text: String
    package init(text: String) { self.text = text }
}

package struct ErrorReply: Codable, Sendable {
    package var error: ProviderError
    package init(error: ProviderError) { self.error = error }
}

/// Encodes a request: the operation's payload with `op` added.
package func encodeWireRequest<Payload: Encodable>(_ op: WireOperation, _ payload: Payload?) throws -> [UInt8] {
    let encoder = JSONEncoder()
    // Compact, sorted, unescaped slashes: C providers may look for `"op":"status"` or a path as is.
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return Array(try encoder.encode(FlatRequest(op: op, payload: payload)))
}

private struct FlatRequest<Payload: Encodable>: Encodable {
    var op: WireOperation
    var payload: Payload?

    func encode(to encoder: any Encoder) throws {
        try payload?.encode(to: encoder)
        var container = encoder.container(keyedBy: OpKey.self)
        try container.encode(op, forKey: .op)
    }

    enum OpKey: String, CodingKey { case op }
}
