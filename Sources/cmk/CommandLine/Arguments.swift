/// A command line, parsed by hand (no dependencies): flags, valued options, positionals, and
/// `--name VALUE` options that belong to the selected provider.
struct Arguments {
    var flags: Set<String> = []
    var values: [String: String] = [:]
    var positionals: [String] = []
    /// Options cmk itself does not know, for the provider (`--key-uri URI`).
    var providerOptions: [String: String] = [:]

    /// Parses `words` against the command's known flags and options.
    ///
    /// - Parameter providerOptions: whether unknown `--name VALUE` pairs are kept for the
    ///   provider (status, ticket) or are a usage error.
    init(
        _ words: some Collection<String>,
        flags knownFlags: Set<String>,
        options knownOptions: Set<String>,
        acceptsProviderOptions: Bool = false
    ) throws(UsageError) {
        var remaining = Array(words)[...]
        while let word = remaining.popFirst() {
            if word == "--" {
                positionals.append(contentsOf: remaining)
                break
            }
            if word == "-h" { flags.insert("help"); continue }
            guard word.hasPrefix("--"), word.count > 2 else {
                if word.hasPrefix("-") && word != "-" { throw UsageError("unknown option '\(word)'") }
                positionals.append(word)
                continue
            }
            var name = String(word.dropFirst(2))
            var inlineValue: String?
            if let equals = name.firstIndex(of: "=") {
                inlineValue = String(name[name.index(after: equals)...])
                name = String(name[..<equals])
            }
            if knownFlags.contains(name) {
                guard inlineValue == nil else { throw UsageError("option '--\(name)' takes no value") }
                flags.insert(name)
            } else if knownOptions.contains(name) || acceptsProviderOptions {
                guard let value = inlineValue ?? remaining.popFirst(), inlineValue != nil || !value.hasPrefix("--")
                else {
                    throw UsageError("option '--\(name)' needs a value")
                }
                if knownOptions.contains(name) { values[name] = value } else { providerOptions[name] = value }
            } else {
                throw UsageError("unknown option '--\(name)'")
            }
        }
    }
}

/// A mistake on the command line: exit 64 with the usage line.
struct UsageError: Error {
    var message: String
    init(_ message: String) { self.message = message }
}
