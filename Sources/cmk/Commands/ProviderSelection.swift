import CMKCore
import CMKHost

/// The provider a command works with, its options resolved; shared by `status` and `ticket`.
struct SelectedProvider {
    var provider: LoadedProvider
    var source: SelectionSource
    var detection: Detection?
    var options: [String: String]
    /// Where each option's value came from, for messages: `--key-uri`, `CMK_AZURE_KEY_URI`,
    /// `config file /home/a/.config/cmk/config:7: key-uri`.
    var optionSources: [String: String]

    /// A provider's usage error, its `--name` replaced by where the value really came from.
    ///
    /// Providers name the option as a flag (`--key-uri: …`); a value read from the environment
    /// or the config file must be blamed there, or the admin looks for a flag they never typed.
    func usageMessage(_ message: String) -> String {
        for (name, source) in optionSources where source != "--\(name)" && message.hasPrefix("--\(name)") {
            return source + message.dropFirst(name.count + 2)
        }
        return message
    }
}

enum SelectionOutcome {
    case selected(SelectedProvider)
    /// Nothing to run; the reason was printed.
    case exit(ExitStatus)
}

enum ProviderSelection {
    /// Selects the provider and resolves its options, or says why not and returns the exit status.
    ///
    /// Every `--name VALUE` the command line gives for a provider must belong to the provider
    /// selected: a typo (`--provder aws`) is a usage error that names the closest option, never
    /// a silent "nothing detected".
    static func select(
        _ arguments: Arguments,
        command: any Command.Type,
        session: Session,
        context: CommandContext,
        format: OutputFormat,
        timeout: Duration = .seconds(5)
    ) async throws -> SelectionOutcome {
        let terminal = context.terminal
        let given = arguments.providerOptions.keys.sorted()
        var declaredBy: [String: [ProviderOption]] = [:]
        if !given.isEmpty {
            var everyProviderAnswered = true
            for provider in session.catalog.providers {
                if let options = try? await session.options(of: provider, timeout: timeout) {
                    declaredBy[provider.name] = options
                } else {
                    everyProviderAnswered = false  // its options are not known: no claim about them
                }
            }
            let everyOption = Set(declaredBy.values.flatMap { $0.map(\.name) })
            if everyProviderAnswered, let unknown = given.first(where: { !everyOption.contains($0) }) {
                let candidates = command.options.union(command.flags).union(everyOption)
                throw UsageError(
                    "unknown option '--\(unknown)'" + Arguments.didYouMean(Suggestion.closest(to: unknown, in: candidates))
                )
            }
        }
        let selection = await session.select(
            flag: arguments.values["provider"],
            probe: arguments.flags.contains("probe"),
            optionHints: given,
            timeout: min(timeout, PlatformDetector.perProviderTimeout)
        )
        switch selection {
        case .notInstalled(let name, let source):
            return .exit(try notInstalled(name, source: source, session: session, terminal: terminal))
        case .undetected(let report):
            if format == .json {
                terminal.out(encodeJSON(UndetectedDocument(report: report, installed: session.catalog.names)))
            } else {
                printUndetected(report, session: session, context: context)
            }
            return .exit(.incomplete)
        case .selected(let provider, let source, let detection, _):
            let declared: [ProviderOption]
            if let known = declaredBy[provider.name] {
                declared = known
            } else {
                do {
                    declared = try await session.options(of: provider, timeout: timeout)
                } catch where error.code == .timedOut {
                    throw CommandFailure(
                        "provider '\(provider.name)' did not answer within the run's deadline; raise it with --timeout <seconds>"
                    )
                } catch {
                    throw CommandFailure("provider '\(provider.name)' failed: \(error.reason)")
                }
            }
            let names = Set(declared.map(\.name))
            if let foreign = given.first(where: { !names.contains($0) }) {
                let owners = declaredBy.filter { $0.value.contains { $0.name == foreign } }.keys.sorted()
                throw UsageError(
                    "option '--\(foreign)' belongs to provider '\(owners.joined(separator: "', '"))', not to "
                        + "'\(provider.name)' (selected by \(source)); "
                        + (declared.isEmpty
                            ? "'\(provider.name)' takes no options"
                            : "'\(provider.name)' takes " + declared.map { "--\($0.name)" }.joined(separator: ", "))
                )
            }
            try checkConfigSection(of: provider.name, declared: declared, config: session.config)
            let options = session.resolveOptions(declared, flags: arguments.providerOptions, provider: provider.name)
            var sources: [String: String] = [:]
            for option in declared where options[option.name] != nil {
                if arguments.providerOptions[option.name] != nil {
                    sources[option.name] = "--\(option.name)"
                } else if let variable = option.environment, !(session.environment[variable] ?? "").isEmpty {
                    sources[option.name] = variable
                } else {
                    let location = session.config.location(of: option.name, section: provider.name)
                    sources[option.name] = "config file \(location): \(option.name)"
                }
            }
            return .selected(
                SelectedProvider(
                    provider: provider,
                    source: source,
                    detection: detection,
                    options: options,
                    optionSources: sources
                )
            )
        }
    }

    /// Every key under `[provider]` in the config must be one of its options: a misspelt key
    /// would otherwise be ignored and its value never used.
    static func checkConfigSection(of provider: String, declared: [ProviderOption], config: ConfigFile) throws {
        let names = declared.map(\.name)
        for key in (config.sections[provider] ?? [:]).keys.sorted() where !names.contains(key) {
            let guess = Suggestion.closest(to: key, in: names).map { " (did you mean '\($0)'?)" } ?? ""
            let takes = names.isEmpty ? "it takes no options" : "it takes " + names.joined(separator: ", ")
            throw ConfigError(
                path: config.path ?? "config",
                line: config.lines["\(provider).\(key)"],
                reason: "unknown option '\(key)' for provider '\(provider)'\(guess); \(takes)"
            )
        }
    }

    /// A provider name that matches nothing installed: a near miss is a typo (exit 64), anything
    /// else a provider that is not installed (exit 1).
    static func notInstalled(_ name: String, source: SelectionSource, session: Session, terminal: Terminal) throws
        -> ExitStatus
    {
        if let guess = Suggestion.closest(to: name, in: session.catalog.names) {
            let problem = "provider '\(name)' (from \(source)) is not installed (did you mean '\(guess)'?)"
            if source.kind == .flag { throw UsageError(problem) }
            terminal.err("Error: \(problem)")
            return .usage
        }
        if let refusal = session.catalog.problems.first(where: { $0.path.hasSuffix("\(PluginSearchPath.filePrefix)\(name).so") }) {
            terminal.err("Error: provider '\(name)' (from \(source)) was found but refused: \(refusal.reason)")
            terminal.err("  file: \(refusal.path)")
            return .failure
        }
        terminal.err("Error: provider '\(name)' (from \(source)) is not installed.")
        terminal.err(installedLine(session))
        return .failure
    }

    static func installedLine(_ session: Session) -> String {
        session.catalog.names.isEmpty
            ? "No provider is installed; run 'cmk providers' to see where they are looked for."
            : "Installed providers: \(session.catalog.names.joined(separator: ", "))."
    }

    static func printUndetected(_ report: DetectionReport, session: Session, context: CommandContext) {
        let terminal = context.terminal
        var lines: [String] = []
        if let unserved = report.unserved.first {
            lines.append(
                "This machine runs on \(unserved.name) (\(unserved.evidence.joined(separator: "; "))), but no cmk "
                    + "provider for it ('\(unserved.provider)') is installed."
            )
        } else {
            lines.append(
                "No platform detected: this machine shows no sign of a cloud that a provider recognises. That is "
                    + "expected on a laptop: choose the platform your organisation's data platform runs on."
            )
        }
        lines.append(installedLine(session))
        if let example = session.catalog.names.first {
            lines.append(
                "Choose one with --provider, e.g. '\(terminal.command) status --provider \(example)', or set "
                    + "CMK_PROVIDER, or put 'provider = \(example)' in \(context.configPath). "
                    + "'\(terminal.command) detect' shows what was checked."
            )
        }
        for line in lines {
            for wrapped in TextLayout.wrap(line, width: terminal.width, firstColumn: 0, indent: 0) {
                terminal.out(wrapped)
            }
        }
    }
}

/// `--output json` when nothing was detected: the status document's keys, with nulls.
struct UndetectedDocument: Encodable {
    var message: String
    var installed: [String]
    var unserved: [UnservedPlatform]

    init(report: DetectionReport, installed: [String]) {
        self.installed = installed
        self.unserved = report.unserved
        if let cloud = report.unserved.first {
            message = "\(cloud.name) detected, but no provider for it ('\(cloud.provider)') is installed"
        } else {
            message = "no platform detected and none chosen; use --provider, CMK_PROVIDER or the config file"
        }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Keys.self)
        try container.encode(StatusDocument.schemaVersion, forKey: .schemaVersion)
        try container.encodeNil(forKey: .provider)
        try container.encodeNil(forKey: .selection)
        try container.encodeNil(forKey: .platform)
        try container.encode(false, forKey: .ready)
        try container.encode([String](), forKey: .manualSteps)
        try container.encodeNil(forKey: .credential)
        try container.encodeNil(forKey: .key)  // ops (issue 11): as StatusDocument
        try container.encode([String](), forKey: .causes)
        try container.encode([String](), forKey: .checks)
        try container.encode(message, forKey: .message)
        try container.encode(installed, forKey: .installed)
        try container.encode(unserved, forKey: .unserved)
    }

    enum Keys: String, CodingKey {
        case schemaVersion, provider, selection, platform, ready, manualSteps, credential, key, causes, checks, message,
            installed, unserved
    }
}

/// A failure already worded for the admin (exit 1).
struct CommandFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
