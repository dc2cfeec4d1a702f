#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#else
    #error("cmk needs Glibc or Musl")
#endif

/// Where cmk writes: stdout for results, stderr for warnings and errors.
///
/// Colour only on a terminal and never with `NO_COLOR` (https://no-color.org) or `TERM=dumb`;
/// text wrapped to `COLUMNS`, else the terminal's width, else 100; Unicode markers only in a
/// UTF-8 locale. Everything written is escaped first: names, messages and values that came from
/// a provider, a vault or a file cannot move the cursor, set the title or fake a line.
struct Terminal {
    var color: Bool
    var width: Int
    var unicode: Bool
    /// How the user ran cmk: `cmk` when found on `PATH`, else the path they typed (`.build/release/cmk`).
    var command: String

    init(environment: [String: String], invokedAs: String = CommandLine.arguments.first ?? "cmk") {
        let noColor = environment["NO_COLOR"].map { !$0.isEmpty } ?? false
        let onTerminal = isatty(STDOUT_FILENO) == 1
        color = !noColor && environment["TERM"] != "dumb" && onTerminal
        width = Self.width(environment: environment, onTerminal: onTerminal)
        unicode = Self.isUTF8Locale(environment)
        command = invokedAs.contains("/") ? invokedAs : "cmk"
    }

    func out(_ line: String = "") { print(render(line)) }

    func err(_ line: String) {
        // Unbuffered, straight to the descriptor: warnings appear even if cmk dies next.
        let bytes = Array((render(Self.truncatingLongLines(line)) + "\n").utf8)
        _ = bytes.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
    }

    /// Marks `text` for a style; the marks become escape sequences (or nothing) when written.
    func paint(_ text: String, _ style: Style) -> String {
        color ? "\(Self.styleStart)\(style.rawValue)\(Self.styleEnd)\(text)\(Self.styleStart)0\(Self.styleEnd)" : text
    }

    /// `→`, or `->` where the locale cannot show it.
    var arrow: String { unicode ? "→" : "->" }

    enum Style: String {
        case bold = "1"
        case dim = "2"
        case red = "31"
        case green = "32"
        case yellow = "33"
        case cyan = "36"
    }

    // Private-use characters stand for the escape sequences of `paint` until `render`: whatever
    // the text holds itself is escaped, and only these marks become real sequences.
    private static let styleStart: Character = "\u{F8F0}"
    private static let styleEnd: Character = "\u{F8F1}"

    private func render(_ line: String) -> String {
        var result = ""
        result.unicodeScalars.reserveCapacity(line.unicodeScalars.count)
        for scalar in Self.escapingControls(line).unicodeScalars {
            switch Character(scalar) {
            case Self.styleStart: result += "\u{1B}["
            case Self.styleEnd: result += "m"
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    /// Control characters (C0 but newline and tab, DEL, C1) as visible `\x1B`, and stray style marks dropped.
    static func escapingControls(_ text: String) -> String {
        var result = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            let value = scalar.value
            if value == 0x0A || value == 0x09 {
                result.append(scalar)
            } else if value < 0x20 || value == 0x7F || (0x80...0x9F).contains(value) {
                let hex = String(value, radix: 16, uppercase: true)
                result.append(contentsOf: "\\x\(hex.count < 2 ? "0" + hex : hex)".unicodeScalars)
            } else if Character(scalar) == styleStart || Character(scalar) == styleEnd {
                continue
            } else {
                result.append(scalar)
            }
        }
        return String(result)
    }

    /// An error that echoes a 1 MB value prints its start and how much was left out.
    static func truncatingLongLines(_ text: String, limit: Int = 2000) -> String {
        guard text.count > limit else { return text }
        return text.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            line.count <= limit ? String(line) : "\(line.prefix(limit / 2))… (\(line.count - limit / 2) more characters)"
        }.joined(separator: "\n")
    }

    private static func width(environment: [String: String], onTerminal: Bool) -> Int {
        if let columns = environment["COLUMNS"].flatMap({ Int($0) }), columns > 0 { return max(40, columns) }
        if onTerminal {
            var size = winsize()
            if ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { return max(40, Int(size.ws_col)) }
        }
        return 100
    }

    /// The locale's character set, as `setlocale` would pick it: `LC_ALL`, then `LC_CTYPE`, then `LANG`.
    private static func isUTF8Locale(_ environment: [String: String]) -> Bool {
        let locale = ["LC_ALL", "LC_CTYPE", "LANG"].lazy.compactMap { environment[$0] }.first { !$0.isEmpty } ?? ""
        let lowered = locale.lowercased()
        return lowered.contains("utf-8") || lowered.contains("utf8")
    }
}
