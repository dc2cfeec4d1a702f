// Fuzz target: Sources/CMKHost/Config/ConfigFile.swift, the admin's config file.
//
// Invariants, for any input:
// - parse → write → parse is identity: a config that was accepted, written back one setting a line
//   (`key = "value"`, sections as `[name]`), reads back to the same settings and sections;
// - what was read is what the text says: every top-level key is a known setting, keys are
//   non-empty and trimmed, section names are trimmed, and nothing holds a line feed (a quoted
//   value keeps its spaces);
// - CRLF line ends and a UTF-8 byte-order mark read the same as LF and none;
// - a refusal names a line of the file (1 ... number of lines) and a reason.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfigFile(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let text = String(decoding: fuzzBytes(data, size), as: UTF8.self)
    let config: ConfigFile
    do {
        config = try ConfigFile.parse(text, path: "/fuzz/config")
    } catch {
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }).count
        check(error.line.map { (1...lines).contains($0) } ?? false, "error line \(String(describing: error.line)) of \(lines)")
        check(!error.reason.isEmpty && error.description.hasPrefix("config file /fuzz/config:"), "error text \(error)")
        return 0
    }
    check(config.path == "/fuzz/config", "path")
    for (key, value) in config.values {
        check(ConfigFile.topLevelKeys.contains(key), "unknown top-level key \(shown(key)) accepted")
        check(!value.contains("\n"), "value \(shown(value))")
    }
    for (name, settings) in config.sections {
        check(name == name.trimmingWhitespace() && !name.contains("\n"), "section \(shown(name))")
        for (key, value) in settings {
            check(!key.isEmpty && key == key.trimmingWhitespace(), "key \(shown(key))")
            check(!value.contains("\n"), "value \(shown(value))")
        }
    }

    // Write it back: quoted values, so that a value starting with '#' or '"' keeps its meaning.
    var lines: [String] = []
    var writable = true
    func setting(_ key: String, _ value: String) -> String {
        let line = key + " = \"" + value + "\""
        // The format is read by Character: a value starting with a combining mark would merge with
        // the quote into one Character and could not be written this way. Skip such inputs.
        if line.count != key.count + value.count + 5 { writable = false }
        // A key that starts with '#' was read because a NUL or CR before it is trimmed but does not
        // count as the space before a comment; written at the start of a line it is a comment.
        if key.hasPrefix("#") { writable = false }
        return line
    }
    for key in config.values.keys.sorted() { lines.append(setting(key, config.values[key]!)) }
    for name in config.sections.keys.sorted() {
        let header = name.isEmpty ? "[ ]" : "[" + name + "]"
        if header.count != max(name.count, 1) + 2 { writable = false }
        lines.append(header)
        for key in config.sections[name]!.keys.sorted() { lines.append(setting(key, config.sections[name]![key]!)) }
    }
    // CRLF line ends and a byte-order mark read the same.
    let bom = "\u{FEFF}" + text  // (a combining mark first would join the BOM into one Character)
    let addBOM = bom.count == text.count + 1 && !text.hasPrefix("\u{FEFF}")
    for variant in [text.replacing("\n", with: "\r\n")] + (addBOM ? [bom] : []) {
        let other = try? ConfigFile.parse(variant, path: "/fuzz/config")
        check(other?.values == config.values && other?.sections == config.sections, "CRLF or BOM reads differently: \(shown(variant))")
    }
    guard writable else { return 0 }
    let written = lines.joined(separator: "\n")
    do {
        let again = try ConfigFile.parse(written, path: "/fuzz/config")
        check(again.values == config.values && again.sections == config.sections, "parse → write → parse differs for \(shown(text)):\nwritten \(shown(written))\n\(again) vs \(config)")
    } catch {
        check(false, "the written form of \(shown(text)) is refused: \(error); written \(shown(written))")
    }
    return 0
}
