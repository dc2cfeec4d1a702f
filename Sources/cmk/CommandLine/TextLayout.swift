/// Wrapping for the terminal: words never split, continuation lines hang under an indent, and a
/// shell command stays pasteable.
///
/// A remediation such as "Turn it on: az keyvault update --name v --enable-purge-protection true"
/// puts the command on a line of its own; a command longer than the line breaks between words
/// with ` \` at each break, so that pasting every line runs it whole, never half of it.
enum TextLayout {
    /// Lines of `text`, the first `firstColumn` columns in (after what precedes it on its line),
    /// the others starting with `indent` spaces. Lines hold at most `width` columns where the words allow.
    static func wrap(_ text: String, width: Int, firstColumn: Int, indent: Int) -> [String] {
        var lines: [String] = []
        var current = ""
        var column = firstColumn
        let pad = String(repeating: " ", count: indent)
        for word in text.split(separator: " ", omittingEmptySubsequences: true) {
            let length = word.count
            if current.isEmpty && (lines.isEmpty || column == indent) {
                current = String(word)
                column += length
            } else if column + 1 + length <= width {
                current += " " + String(word)  // String + String: no generic append on the start path
                column += 1 + length
            } else {
                lines.append(current)
                current = pad + String(word)
                column = indent + length
            }
        }
        lines.append(current)
        return lines
    }

    /// Wraps prose and its shell commands: prose as `wrap` does, each command on its own lines,
    /// `indent + 2` in, continued with ` \`.
    static func block(_ text: String, width: Int, firstColumn: Int, indent: Int) -> [String] {
        var lines: [String] = []
        var first = true
        for paragraph in text.split(separator: "\n", omittingEmptySubsequences: false) {
            for segment in segments(String(paragraph)) {
                let start = first ? firstColumn : indent
                switch segment {
                case .prose(let words):
                    var wrapped = wrap(words, width: width, firstColumn: start, indent: indent)
                    if !first { wrapped[0] = String(repeating: " ", count: indent) + wrapped[0] }
                    lines += wrapped
                case .command(let command):
                    // A command never shares a line with prose before it: pasting the line runs it.
                    if first {
                        lines += shellLines(command, width: width, firstColumn: start, lead: "", indent: indent + 2)
                    } else {
                        let lead = String(repeating: " ", count: indent + 2)
                        lines += shellLines(command, width: width, firstColumn: indent + 2, lead: lead, indent: indent + 4)
                    }
                }
                first = false
            }
        }
        return lines
    }

    enum Segment: Equatable {
        case prose(String)
        case command(String)
    }

    /// Prose and the shell commands inside it: a command starts at `az ` or `cmk ` (after the start
    /// or a colon) and runs to the end, or to `; ` or `. ` outside quotes.
    static func segments(_ text: String) -> [Segment] {
        var segments: [Segment] = []
        var rest = Substring(text)
        while let start = commandStart(in: rest) {
            let before = rest[..<start].trimmingTrailingSpaces()
            if !before.isEmpty { segments.append(.prose(String(before))) }
            let (command, after) = commandEnd(rest[start...])
            segments.append(.command(String(command)))
            rest = after
        }
        let tail = rest.trimmingLeadingSpaces()
        if !tail.isEmpty { segments.append(.prose(String(tail))) }
        return segments
    }

    private static let commandWords = ["az ", "cmk ", "export "]
    /// What comes right before a command in the providers' texts ("…, or run az login").
    private static let commandLeads = [": ", "; ", " run ", " runs ", " or ", " then ", ", then "]

    private static func commandStart(in text: Substring) -> Substring.Index? {
        var index = text.startIndex
        while index < text.endIndex {
            let before = text[..<index]
            let word = commandWords.first { text[index...].hasPrefix($0) }
            // `az` commands follow "…, or run"; `cmk` and `export` only a colon, as prose names cmk itself.
            let leads = word == "az " ? commandLeads : [": "]
            // A space in front lets a lead match at the very start ("then az …" after a command).
            let atBoundary = index == text.startIndex || leads.contains { (" " + before).hasSuffix($0) }
            if atBoundary, word != nil {
                let afterWord = text[index...].drop { $0 != " " }.dropFirst()
                // "az login" yes; "cmk is" in prose would be a false start, so a command word must
                // be followed by a lower-case word or an option.
                if let next = afterWord.first, next.isLowercase || next == "-" { return index }
            }
            index = text.index(after: index)
        }
        return nil
    }

    /// The command at the start of `text`, and what follows it.
    private static func commandEnd(_ text: Substring) -> (command: Substring, rest: Substring) {
        var quote: Character?
        var index = text.startIndex
        while index < text.endIndex {
            let character = text[index]
            if let open = quote {
                if character == open { quote = nil }
            } else if character == "\"" || character == "'" {
                quote = character
            } else if character == ";" || character == "." || character == "," {
                let next = text.index(after: index)
                if next == text.endIndex || text[next] == " " {
                    // "…; or az …", "…, then …", "… true. Then …": the prose after a command starts
                    // on a line of its own, so the punctuation between them goes.
                    return (text[..<index], text[next...].trimmingLeadingSpaces())
                }
            }
            index = text.index(after: index)
        }
        return (text, "")
    }

    /// A command as lines of at most `width` columns where its words allow, each but the last
    /// ending in ` \`; never broken inside quotes. The first line is `lead` and starts at
    /// `firstColumn`; the others start `indent` spaces in.
    static func shellLines(_ command: String, width: Int, firstColumn: Int, lead: String, indent: Int) -> [String] {
        let pad = String(repeating: " ", count: indent)
        var lines: [String] = []
        var current = lead
        var column = firstColumn
        var empty = true
        for word in shellWords(command) {
            if empty || column + 1 + word.count + 2 <= width {
                current += (empty ? "" : " ") + word
                column += (empty ? 0 : 1) + word.count
            } else {
                lines.append(current + " \\")
                current = pad + String(word)
                column = indent + word.count
            }
            empty = false
        }
        lines.append(current)
        return lines
    }

    /// Splits at spaces outside quotes, keeping an option with its value (`--name v`) together
    /// when they fit.
    private static func shellWords(_ command: String) -> [String] {
        var words: [String] = []
        var current = ""
        var quote: Character?
        for character in command {
            if let open = quote {
                current.append(character)
                if character == open { quote = nil }
            } else if character == "\"" || character == "'" {
                quote = character
                current.append(character)
            } else if character == " " {
                if !current.isEmpty { words.append(current) }
                current = ""
            } else {
                current.append(character)
            }
        }
        if !current.isEmpty { words.append(current) }
        var joined: [String] = []
        for word in words {
            if let last = joined.last, last.hasPrefix("--"), !last.contains(" "), !word.hasPrefix("-") {
                joined[joined.count - 1] = last + " " + word
            } else {
                joined.append(word)
            }
        }
        return joined
    }
}

extension Substring {
    func trimmingTrailingSpaces() -> Substring {
        var result = self
        while result.last == " " { result.removeLast() }
        return result
    }

    func trimmingLeadingSpaces() -> Substring { drop { $0 == " " } }
}
