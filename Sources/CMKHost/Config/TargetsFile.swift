import FoundationEssentials

/// `cmk status --targets FILE`: the keys to check in one run, in the config file's INI style.
///
/// ```ini
/// # settings before the first section apply to every target (a target's own win)
/// provider = azure
/// credential = environment
///
/// [target prod-eu]
/// key-uri = https://prod-eu-cmk.vault.azure.net/keys/cmk
/// vault-resource-id = /subscriptions/…/resourceGroups/cmk/providers/Microsoft.KeyVault/vaults/prod-eu-cmk
///
/// [target prod-us]
/// provider = azure
/// key-uri = https://prod-us-cmk.vault.azure.net/keys/cmk
/// ```
///
/// `provider` names the provider; every other key is one of that provider's options (checked
/// against what it declares when the run starts). Comments, quotes and `key = value` follow the
/// config file's rules. The config file's own parser is not reused: it keeps neither the order of
/// the sections nor their lines, and a targets file is reported by target name and line.
package struct TargetsFile: Sendable, Equatable {
    package struct Target: Sendable, Equatable {
        package var name: String
        package var provider: String
        /// The provider's options, by option name (the defaults before the first section included).
        package var options: [String: String]
        /// Where each option was set, for errors (`key-uri` → 12).
        package var lines: [String: Int]
        /// The line of the `[target NAME]` header.
        package var line: Int
    }

    package var path: String
    /// In the file's order.
    package var targets: [Target]

    /// Read as the config file is (``ConfigText``): non-blocking, a regular file of at most 1 MiB.
    package static func load(_ path: String) throws(ConfigError) -> TargetsFile {
        switch ConfigText.contents(of: path) {
        case .success(let text): return try parse(text, path: path)
        case .failure(.missing): throw ConfigError(path: path, line: nil, reason: "cannot be read: no such file")
        case .failure(let problem): throw ConfigError(path: path, line: nil, reason: problem.description)
        }
    }

    /// A target name: what a metric label, a SARIF result and `cmk confirm --target` carry.
    package static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 128
            && name.unicodeScalars.allSatisfy { scalar in
                scalar.properties.isAlphabetic || ("0"..."9").contains(scalar)
                    || "._-:@".unicodeScalars.contains(scalar)
            }
    }

    package static func parse(_ text: String, path: String) throws(ConfigError) -> TargetsFile {
        struct Section {
            var name: String
            var line: Int
            var values: [String: String] = [:]
            var lines: [String: Int] = [:]
        }
        var defaults = Section(name: "", line: 0)
        var sections: [Section] = []
        func fail(_ line: Int, _ reason: String) -> ConfigError { ConfigError(path: path, line: line, reason: reason) }

        // A byte-order mark and CRLF line ends read the same, as in the config file.
        let body = text.hasPrefix("\u{FEFF}") ? String(text.dropFirst()) : text
        let lines = body.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
        for (index, rawLine) in lines.enumerated() {
            let number = index + 1
            var raw = String(rawLine)
            if raw.hasSuffix("\r") { raw.removeLast() }
            let line = stripComment(raw).trimmingWhitespace()
            if line.isEmpty { continue }
            if line.hasPrefix("[") {
                guard line.hasSuffix("]") else { throw fail(number, "a section header looks like [target prod-eu]") }
                let words = line.dropFirst().dropLast().split(whereSeparator: { $0 == " " || $0 == "\t" })
                guard words.count == 2, words[0] == "target" else {
                    throw fail(number, "a section header looks like [target prod-eu], not \(line)")
                }
                let name = String(words[1])
                guard isValidName(name) else {
                    throw fail(number, "'\(name)': a target name is letters, digits and . _ - : @")
                }
                if let first = sections.first(where: { $0.name == name }) {
                    throw fail(number, "target '\(name)' is already defined on line \(first.line)")
                }
                sections.append(Section(name: name, line: number))
                continue
            }
            guard let equals = line.firstIndex(of: "=") else {
                throw fail(number, "expected 'key = value', found '\(line)'")
            }
            let key = String(line[..<equals]).trimmingWhitespace()
            var value = String(line[line.index(after: equals)...]).trimmingWhitespace()
            if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") {
                value = String(value.dropFirst().dropLast())
            }
            guard !key.isEmpty else { throw fail(number, "a key is missing before '='") }
            if sections.isEmpty {
                guard defaults.values[key] == nil else {
                    throw fail(number, "'\(key)' is already set on line \(defaults.lines[key]!)")
                }
                defaults.values[key] = value
                defaults.lines[key] = number
            } else {
                let last = sections.count - 1
                if let earlier = sections[last].lines[key] {
                    throw fail(number, "'\(key)' is already set for target '\(sections[last].name)' on line \(earlier)")
                }
                sections[last].values[key] = value
                sections[last].lines[key] = number
            }
        }
        guard !sections.isEmpty else {
            throw ConfigError(path: path, line: nil, reason: "no target: each target is a [target NAME] section")
        }
        var targets: [Target] = []
        for section in sections {
            var values = defaults.values.merging(section.values) { _, own in own }
            var lines = defaults.lines.merging(section.lines) { _, own in own }
            guard let provider = values.removeValue(forKey: "provider"), !provider.isEmpty else {
                throw fail(section.line, "target '\(section.name)' names no provider (provider = azure)")
            }
            lines["provider"] = nil
            targets.append(
                Target(name: section.name, provider: provider, options: values, lines: lines, line: section.line)
            )
        }
        return TargetsFile(path: path, targets: targets)
    }

    /// `#` starts a comment unless it is inside a value such as a URL fragment (`a#b`), as in the config file.
    private static func stripComment(_ line: String) -> String {
        guard let hash = line.firstIndex(of: "#") else { return line }
        if hash == line.startIndex { return "" }
        let before = line[line.index(before: hash)]
        return before == " " || before == "\t" ? String(line[..<hash]) : line
    }
}
