import CMKCore
import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#else
    #error("cmk needs Glibc or Musl")
#endif

/// `$XDG_CONFIG_HOME/cmk/config` (default `~/.config/cmk/config`): what an admin would otherwise retype.
///
/// ```
/// provider = azure          # like --provider / CMK_PROVIDER
/// output = json             # like --output / CMK_OUTPUT
/// isolate = true            # like --isolate
/// plugin-path = /opt/cmk/plugins:/srv/cmk   # searched after CMK_PLUGIN_PATH
/// ca-bundle = /etc/pki/corp-ca.pem          # like CMK_CA_BUNDLE (https trust roots)
///
/// [azure]                   # a provider's options, by option name
/// key-uri = https://contoso-cmk.vault.azure.net/keys/cmk-key
///
/// [pins]                    # refuse a provider whose file does not have this sha256
/// aws = 3f5c…
/// ```
/// Flags beat environment variables, which beat this file.
package struct ConfigFile: Sendable, Equatable {
    package static let topLevelKeys = ["provider", "output", "isolate", "plugin-path", "ca-bundle"]

    /// Where it was read from, nil when there is no file.
    package var path: String?
    package var values: [String: String] = [:]
    /// Sections by name: provider options, and `pins`.
    package var sections: [String: [String: String]] = [:]
    /// The line each setting was read from: `key` at the top level, `section.key` in a section.
    package var lines: [String: Int] = [:]

    package init(path: String? = nil, values: [String: String] = [:], sections: [String: [String: String]] = [:]) {
        self.path = path
        self.values = values
        self.sections = sections
    }

    /// The config file's path for an environment.
    package static func defaultPath(environment: [String: String]) -> String? {
        if let explicit = environment["CMK_CONFIG"], !explicit.isEmpty { return explicit }
        if let xdg = environment["XDG_CONFIG_HOME"], xdg.hasPrefix("/") { return "\(xdg)/cmk/config" }
        if let home = environment["HOME"], !home.isEmpty { return "\(home)/.config/cmk/config" }
        return nil
    }

    /// Reads the file; a missing file is an empty config, a malformed one an error naming the line.
    ///
    /// The file `CMK_CONFIG` names must exist: a typo there would otherwise silently drop every setting.
    package static func load(environment: [String: String]) throws(ConfigError) -> ConfigFile {
        guard let path = defaultPath(environment: environment) else { return ConfigFile() }
        let explicit = !(environment["CMK_CONFIG"] ?? "").isEmpty
        let text: String
        switch ConfigText.contents(of: path) {
        case .success(let read): text = read
        case .failure(.missing) where !explicit: return ConfigFile()
        case .failure(let problem):
            let origin = explicit ? " (CMK_CONFIG)" : ""
            throw ConfigError(path: path + origin, line: nil, reason: problem.description)
        }
        return try parse(text, path: path)
    }

    /// `path:line` of a setting, or the path alone when the line is not known.
    package func location(of key: String, section: String? = nil) -> String {
        let line = lines[section.map { "\($0).\(key)" } ?? key]
        return [path ?? "config", line.map(String.init)].compactMap { $0 }.joined(separator: ":")
    }

    package static func parse(_ text: String, path: String) throws(ConfigError) -> ConfigFile {
        var config = ConfigFile(path: path)
        var section: String?
        // Files written on Windows (CRLF) or by editors that add a byte-order mark read the same.
        let body = text.hasPrefix("\u{FEFF}") ? String(text.dropFirst()) : text
        for (index, rawLine) in body.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
            .enumerated() {
            var raw = String(rawLine)
            if raw.hasSuffix("\r") { raw.removeLast() }
            let line = stripComment(raw).trimmingWhitespace()
            if line.isEmpty { continue }
            if line.hasPrefix("[") {
                guard line.hasSuffix("]"), line.count > 2 else {
                    throw ConfigError(path: path, line: index + 1, reason: "a section header looks like [azure]")
                }
                section = String(line.dropFirst().dropLast()).trimmingWhitespace()
                continue
            }
            guard let equals = line.firstIndex(of: "=") else {
                throw ConfigError(path: path, line: index + 1, reason: "expected 'key = value', found '\(line)'")
            }
            let key = String(line[..<equals]).trimmingWhitespace()
            var value = String(line[line.index(after: equals)...]).trimmingWhitespace()
            if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") {
                value = String(value.dropFirst().dropLast())
            }
            guard !key.isEmpty else {
                throw ConfigError(path: path, line: index + 1, reason: "a key is missing before '='")
            }
            if let section {
                config.sections[section, default: [:]][key] = value
                config.lines["\(section).\(key)"] = index + 1
            } else {
                guard topLevelKeys.contains(key) else {
                    let guess = Suggestion.closest(to: key, in: topLevelKeys).map { " (did you mean '\($0)'?)" } ?? ""
                    throw ConfigError(
                        path: path,
                        line: index + 1,
                        reason: "unknown setting '\(key)'\(guess); settings are "
                            + "\(topLevelKeys.joined(separator: ", ")), and provider options go under [provider-name]"
                    )
                }
                config.values[key] = value
                config.lines[key] = index + 1
            }
        }
        return config
    }

    /// `#` starts a comment unless it is inside a value such as a URL fragment (`a#b`).
    private static func stripComment(_ line: String) -> String {
        guard let hash = line.firstIndex(of: "#") else { return line }
        if hash == line.startIndex { return "" }
        let before = line[line.index(before: hash)]
        return before == " " || before == "\t" ? String(line[..<hash]) : line
    }
}

/// A malformed config file. Exit 64: the admin's input is wrong.
package struct ConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    package var path: String
    package var line: Int?
    package var reason: String

    package init(path: String, line: Int?, reason: String) {
        self.path = path
        self.line = line
        self.reason = reason
    }

    package var description: String {
        let location = line.map { "\(path):\($0)" } ?? path
        return "config file \(location): \(reason)"
    }
}

/// Reading the config file, with the operating system's reason when it cannot be read.
enum ConfigText {
    enum Problem: Error, CustomStringConvertible {
        case missing
        case notRegular(String)
        case tooLarge
        case os(String)

        var description: String {
            switch self {
            case .missing: "no such file"
            case .notRegular(let kind): "is \(kind), not a regular file"
            case .tooLarge: "is larger than 1 MiB; a config file is a few lines"
            case .os(let reason): "cannot be read: \(reason)"
            }
        }
    }

    /// The file's text: opened as CMKCore's `OpenedFile` is (non-blocking, so that a FIFO cannot
    /// hang cmk; a regular file only), at most 1 MiB.
    static func contents(of path: String) -> Result<String, Problem> {
        let file: OpenedFile
        switch OpenedFile.open(path) {
        case .success(let opened): file = opened
        case .failure(let refusal):
            if refusal.code == .missing { return .failure(.missing) }
            if let type = refusal.fileType { return .failure(.notRegular(type)) }
            return .failure(.os(refusal.reason))
        }
        switch file.contents(limit: 1 << 20) {
        case .success(let bytes): return .success(String(decoding: bytes, as: UTF8.self))
        case .failure(.tooLarge): return .failure(.tooLarge)
        case .failure(.failed(let reason)): return .failure(.os(reason))
        }
    }
}
