#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#else
    #error("cmk needs Glibc or Musl")
#endif

/// Where cmk writes: stdout for results, stderr for warnings and errors; colour only on a
/// terminal and never with `NO_COLOR` (https://no-color.org) or `TERM=dumb`.
struct Terminal {
    var color: Bool

    init(environment: [String: String]) {
        let noColor = environment["NO_COLOR"].map { !$0.isEmpty } ?? false
        color = !noColor && environment["TERM"] != "dumb" && isatty(STDOUT_FILENO) == 1
    }

    func out(_ line: String = "") { print(line) }

    func err(_ line: String) {
        // Unbuffered, straight to the descriptor: warnings appear even if cmk dies next.
        let bytes = Array((line + "\n").utf8)
        _ = bytes.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
    }

    func paint(_ text: String, _ style: Style) -> String { color ? "\u{1B}[\(style.rawValue)m\(text)\u{1B}[0m" : text }

    enum Style: String {
        case bold = "1"
        case dim = "2"
        case red = "31"
        case green = "32"
        case yellow = "33"
        case cyan = "36"
    }
}
