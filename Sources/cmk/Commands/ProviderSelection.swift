import CMKCore
import CMKHost

/// The provider a command works with, its options resolved; shared by `status` and `ticket`.
struct SelectedProvider {
    var provider: LoadedProvider
    var source: String
    var detection: Detection?
    var options: [String: String]
}

enum SelectionOutcome {
    case selected(SelectedProvider)
    /// Nothing to run; the reason was printed.
    case exit(ExitStatus)
}

enum ProviderSelection {
    /// Selects the provider and resolves its options, or says why not and returns the exit status.
    static func select(
        _ arguments: Arguments,
        session: Session,
        context: CommandContext,
        format: OutputFormat
    ) async throws -> SelectionOutcome {
        let terminal = context.terminal
        let selection = await session.select(
            flag: arguments.values["provider"],
            probe: arguments.flags.contains("probe"),
            optionHints: arguments.providerOptions.keys.sorted()
        )
        switch selection {
        case .notInstalled(let name, let source):
            terminal.err("Error: provider '\(name)' (from \(source)) is not installed.")
            terminal.err(installedLine(session))
            return .exit(.failure)
        case .undetected(let report):
            if format == .json {
                terminal.out(encodeJSON(UndetectedDocument(report: report, installed: session.catalog.names)))
            } else {
                printUndetected(report, session: session, terminal: terminal)
            }
            return .exit(.incomplete)
        case .selected(let provider, let source, let detection, _):
            let declared = try await session.options(of: provider)
            let names = Set(declared.map(\.name))
            if let unknown = arguments.providerOptions.keys.sorted().first(where: { !names.contains($0) }) {
                let accepted =
                    declared.isEmpty
                    ? "it takes no options" : "it takes " + declared.map { "--\($0.name)" }.joined(separator: ", ")
                throw UsageError("unknown option '--\(unknown)' for provider '\(provider.name)'; \(accepted)")
            }
            let options = session.resolveOptions(declared, flags: arguments.providerOptions, provider: provider.name)
            return .selected(
                SelectedProvider(provider: provider, source: source, detection: detection, options: options)
            )
        }
    }

    static func installedLine(_ session: Session) -> String {
        session.catalog.names.isEmpty
            ? "No provider is installed; run 'cmk providers' to see where they are looked for."
            : "Installed providers: \(session.catalog.names.joined(separator: ", "))."
    }

    static func printUndetected(_ report: DetectionReport, session: Session, terminal: Terminal) {
        if let unserved = report.unserved.first {
            terminal.out("This machine runs on \(unserved.name) (\(unserved.evidence.joined(separator: "; "))),")
            terminal.out("but no cmk provider for it ('\(unserved.provider)') is installed.")
        } else {
            terminal.out("No platform detected: this machine shows no sign of a cloud that a provider recognises.")
            terminal.out("That is expected on a laptop: choose the platform your organisation's data platform runs on.")
        }
        terminal.out(installedLine(session))
        if let example = session.catalog.names.first {
            terminal.out("Choose one with --provider, e.g. 'cmk status --provider \(example)', or set CMK_PROVIDER,")
            terminal.out("or put 'provider = \(example)' in ~/.config/cmk/config. 'cmk detect' shows what was checked.")
        }
    }
}

/// `--output json` when nothing was detected: same top-level keys as a status, with nulls.
struct UndetectedDocument: Encodable {
    var provider: String? = nil
    var platform: String? = nil
    var ready = false
    var checks: [Check] = []
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
        try container.encodeNil(forKey: .provider)
        try container.encodeNil(forKey: .platform)
        try container.encode(ready, forKey: .ready)
        try container.encode(checks, forKey: .checks)
        try container.encode(message, forKey: .message)
        try container.encode(installed, forKey: .installed)
        try container.encode(unserved, forKey: .unserved)
    }

    enum Keys: String, CodingKey { case provider, platform, ready, checks, message, installed, unserved }
}
