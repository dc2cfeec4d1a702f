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

    private func render(_ line: String) -> String { Self.sanitized(line, styles: color) }

    /// `text` safe for a terminal: control characters (C0 but newline and tab, DEL, C1) as a
    /// visible `\x1B`, and the marks of `paint` as SGR sequences (`styles`) or dropped.
    ///
    /// A mark counts only in the shape `paint` writes (start, 1 to 8 digits or `;`, end), so a
    /// mark that came inside a value can at most change a colour, never clear the screen. One
    /// pass over the UTF-8 bytes, and none at all for a line with nothing to change (most lines).
    static func sanitized(_ text: String, styles: Bool) -> String {
        // 0xC2 leads U+0080–U+00FF (C1 among them), 0xEF leads U+F000–U+FFFF (the marks among them).
        let mayNeedWork = text.utf8.contains { byte in
            (byte < 0x20 && byte != 0x0A && byte != 0x09) || byte == 0x7F || byte == 0xC2 || byte == 0xEF
        }
        guard mayNeedWork else { return text }
        let bytes = Array(text.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + 16)
        func isMark(_ index: Int, _ last: UInt8) -> Bool {
            index + 2 < bytes.count && bytes[index] == 0xEF && bytes[index + 1] == 0xA3 && bytes[index + 2] == last
        }
        func appendHex(_ value: UInt8) {
            let digits = Array("0123456789ABCDEF".utf8)
            out += [UInt8(ascii: "\\"), UInt8(ascii: "x"), digits[Int(value >> 4)], digits[Int(value & 0xF)]]
        }
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == 0x0A || byte == 0x09 {
                out.append(byte)
                index += 1
            } else if byte < 0x20 || byte == 0x7F {
                appendHex(byte)
                index += 1
            } else if byte == 0xC2, index + 1 < bytes.count, (0x80...0x9F).contains(bytes[index + 1]) {
                appendHex(bytes[index + 1])
                index += 2
            } else if isMark(index, 0xB0) {
                var end = index + 3
                while end < bytes.count, end - index - 3 < 8,
                    bytes[end] == UInt8(ascii: ";") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[end])
                {
                    end += 1
                }
                if end > index + 3, isMark(end, 0xB1) {
                    if styles { out += [0x1B, UInt8(ascii: "[")] + bytes[(index + 3)..<end] + [UInt8(ascii: "m")] }
                    index = end + 3
                } else {
                    index += 3  // a stray start mark: dropped
                }
            } else if isMark(index, 0xB1) {
                index += 3  // a stray end mark: dropped
            } else {
                out.append(byte)
                index += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
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
        // Bytes, not String.contains: its searcher's first use costs a conformance scan.
        let lowered = Array(locale.lowercased().utf8)
        return lowered.containsRun(Array("utf-8".utf8)) || lowered.containsRun(Array("utf8".utf8))
    }
}
