import FoundationEssentials

/// Key-sorted JSON, indented two spaces, without escaped slashes (URLs stay readable) and with
/// empty arrays and objects as `[]` and `{}` (the encoder's own pretty printing splits them).
func encodeJSON(_ value: some Encodable) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    guard let data = try? encoder.encode(value) else { return "{}" }
    return indentJSON(String(decoding: data, as: UTF8.self))
}

/// Indents compact JSON text; strings are copied as they are.
func indentJSON(_ compact: String) -> String {
    var output = ""
    var depth = 0
    var inString = false
    var escaped = false
    let characters = Array(compact)
    var index = 0
    func newline() { output += "\n" + String(repeating: "  ", count: depth) }
    while index < characters.count {
        let character = characters[index]
        defer { index += 1 }
        if inString {
            output.append(character)
            if escaped {
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else if character == "\"" {
                inString = false
            }
            continue
        }
        switch character {
        case "\"":
            inString = true
            output.append(character)
        case "{", "[":
            let closing: Character = character == "{" ? "}" : "]"
            if index + 1 < characters.count, characters[index + 1] == closing {
                output += "\(character)\(closing)"
                index += 1
            } else {
                output.append(character)
                depth += 1
                newline()
            }
        case "}", "]":
            depth -= 1
            newline()
            output.append(character)
        case ",":
            output.append(character)
            newline()
        case ":":
            output += ": "
        default:
            output.append(character)
        }
    }
    return output
}
