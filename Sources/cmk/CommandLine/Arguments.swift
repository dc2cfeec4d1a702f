import CMKHost

/// A command line, parsed by hand (no dependencies): flags, valued options, positionals, and
/// `--name VALUE` options that belong to the selected provider.
struct Arguments {
    var flags: Set<String> = []
    var values: [String: String] = [:]
    var positionals: [String] = []
    /// Options cmk itself does not know, for the provider (`--key-uri URI`); checked against the
    /// provider's declared options once it is selected.
    var providerOptions: [String: String] = [:]

    /// Parses `words` against the command's known flags and options.
    ///
    /// - Parameter acceptsProviderOptions: whether unknown `--name VALUE` pairs are kept for the
    ///   provider (status, ticket) or are a usage error.
    ///
    /// A mistyped option is an error that names the closest one (`--provder` → `--provider`);
    /// an option given twice is an error rather than a silent "last one wins".
    init(
        _ words: some Collection<String>,
        flags knownFlags: Set<String>,
        options knownOptions: Set<String>,
        acceptsProviderOptions: Bool = false
    ) throws(UsageError) {
        var remaining = Array(words)[...]
        let known = knownFlags.union(knownOptions)
        while let word = remaining.popFirst() {
            if word == "--" {
                positionals.append(contentsOf: remaining)
                break
            }
            if word == "-h" {
                flags.insert("help")
                continue
            }
            guard word.hasPrefix("--"), word.count > 2 else {
                if word.hasPrefix("-") && word != "-" {
                    let guess = Suggestion.closest(to: String(word.drop { $0 == "-" }), in: known)
                    throw UsageError("unknown option '\(word)'" + Self.didYouMean(guess))
                }
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
                continue
            }
            // A known name in the wrong case is a typo, not a provider's option.
            let isCMKOption = knownOptions.contains(name)
            if !isCMKOption, let guess = known.first(where: { $0.lowercased() == name.lowercased() }) {
                throw UsageError("unknown option '--\(name)'" + Self.didYouMean(guess))
            }
            guard isCMKOption || acceptsProviderOptions else {
                throw UsageError("unknown option '--\(name)'" + Self.didYouMean(Suggestion.closest(to: name, in: known)))
            }
            guard let value = inlineValue ?? remaining.popFirst(), inlineValue != nil || !value.hasPrefix("--")
            else {
                throw UsageError("option '--\(name)' needs a value")
            }
            if isCMKOption {
                if let earlier = values[name] {
                    throw UsageError("option '--\(name)' is given twice ('\(earlier)' and '\(value)'); give it once")
                }
                values[name] = value
            } else {
                if let earlier = providerOptions[name] {
                    throw UsageError("option '--\(name)' is given twice ('\(earlier)' and '\(value)'); give it once")
                }
                providerOptions[name] = value
            }
        }
    }

    static func didYouMean(_ guess: String?) -> String { guess.map { " (did you mean --\($0)?)" } ?? "" }
}

/// A mistake on the command line: exit 64 with the usage line.
struct UsageError: Error {
    var message: String
    /// The usage line to show, when it is not the running command's (`providers verify`).
    var usage: String?
    init(_ message: String, usage: String? = nil) {
        self.message = message
        self.usage = usage
    }
}
