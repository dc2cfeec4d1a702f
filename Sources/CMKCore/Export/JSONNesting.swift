/// A guard for JSON from a peer, run before JSONDecoder.
///
/// FoundationEssentials' JSON scanner traps (SIGILL, the whole process) on a document whose
/// nesting reaches its limit of 512 at the last byte (`[` × 513) instead of throwing its "too
/// deeply nested" error. Nothing cmk reads nests more than a few levels, so a body nested deeper
/// than `limit` is refused before it gets there.
package enum JSONNesting {
    package static let limit = 64

    /// True when no array or object in `bytes` is nested deeper than `limit` (strings skipped).
    package static func isShallow(_ bytes: some Sequence<UInt8>) -> Bool {
        var depth = 0
        var inString = false
        var escaped = false
        for byte in bytes {
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
            } else if byte == UInt8(ascii: "\"") {
                inString = true
            } else if byte == UInt8(ascii: "[") || byte == UInt8(ascii: "{") {
                depth += 1
                if depth > limit { return false }
            } else if byte == UInt8(ascii: "]") || byte == UInt8(ascii: "}") {
                depth -= 1
            }
        }
        return true
    }
}
