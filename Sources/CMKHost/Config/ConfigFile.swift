import FoundationEssentials

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
    package static func load(environment: [String: String]) throws(ConfigError) -> ConfigFile {
        guard let path = defaultPath(environment: environment) else { return ConfigFile() }
        guard FileManager.default.fileExists(atPath: path) else { return ConfigFile() }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError(path: path, line: nil, reason: "cannot be read")
        }
        return try parse(String(decoding: data, as: UTF8.self), path: path)
    }

    package static func parse(_ text: String, path: String) throws(ConfigError) -> ConfigFile {
        var config = ConfigFile(path: path)
        var section: String?
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = stripComment(String(rawLine)).trimmingWhitespace()
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
            } else {
                guard topLevelKeys.contains(key) else {
                    throw ConfigError(
                        path: path,
                        line: index + 1,
                        reason:
                            "unknown setting '\(key)'; settings are \(topLevelKeys.joined(separator: ", ")), and provider options go under [provider-name]"
                    )
                }
                config.values[key] = value
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

    package var description: String {
        let location = line.map { "\(path):\($0)" } ?? path
        return "config file \(location): \(reason)"
    }
}
