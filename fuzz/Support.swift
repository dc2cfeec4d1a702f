// Shared by every fuzz target: the entry point's plumbing and the invariant check.
#if canImport(Glibc)
    import Glibc
#endif

/// Fails the run (libFuzzer saves the input as a crash artifact) when an invariant is broken.
/// The message names the invariant, so the artifact's log says what went wrong, not only where.
func check(
    _ condition: @autoclosure () -> Bool,
    _ message: @autoclosure () -> String,
    file: StaticString = #fileID,
    line: UInt = #line
) {
    if !condition() {
        let text = Array("fuzz invariant broken (\(file):\(line)): \(message())\n".utf8)
        _ = text.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
        abort()
    }
}

/// The fuzz input as bytes.
func fuzzBytes(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
    guard let data, size > 0 else { return [] }
    return Array(UnsafeBufferPointer(start: data, count: size))
}

/// A string that shows control characters and non-ASCII as escapes, for messages.
func shown(_ text: String) -> String {
    var out = ""
    for scalar in text.unicodeScalars.prefix(400) {
        if scalar.value >= 0x20 && scalar.value < 0x7f { out.unicodeScalars.append(scalar) } else {
            out += "\\u{\(String(scalar.value, radix: 16))}"
        }
    }
    return "\"" + out + (text.unicodeScalars.count > 400 ? "…" : "") + "\""
}

/// Splits fuzz bytes into a few pieces at a separator byte, for targets that build structured input.
func pieces(_ bytes: [UInt8], separator: UInt8 = 0, limit: Int = 16) -> [[UInt8]] {
    bytes.split(separator: separator, maxSplits: limit - 1, omittingEmptySubsequences: false).map(Array.init)
}
