import CMKCore
import CMKHost

/// `cmk detect`: which platform this machine runs on, the evidence, and what was ruled out.
enum DetectCommand: Command {
    static let name = "detect"
    static let usage = "cmk detect [--provider <name>] [--probe] [--output text|json] [--isolate]"
    static let flags: Set<String> = ["probe", "isolate"]
    static let options: Set<String> = ["provider", "output"]

    static let help = """
        OVERVIEW: Show the platform this machine runs on, the evidence for it, and what was
        considered and rejected.

        Order: --provider, CMK_PROVIDER or 'provider =' in the config file decide first; then
        every installed provider's detection runs over one snapshot of local signals
        (environment variables, /run/cloud-init/cloud-id, /sys/class/dmi/id/*,
        /sys/hypervisor/uuid; read under CMK_SYS_ROOT when set). Instance metadata is asked
        only to confirm a local signal, or with --probe: off-cloud, detection never waits on
        the network. A known cloud with no provider installed is reported as such.

        USAGE: \(usage)

        OPTIONS:
          --provider <name>   Report this provider's verdict as the choice.
          --probe             Also ask instance metadata when there is no local signal.
          --isolate           Run each provider in a worker process (see 'cmk help status').
          --output <format>   text (default) or json.
          -h, --help          Show help information.

        EXIT STATUS:
          0 a platform was chosen or detected; 3 none; 1 the chosen provider is not installed; 64 usage error.
        """

    struct Document: Encodable {
        var provider: String?
        var source: String?
        var platform: String?
        var evidence: [String]
        var candidates: [DetectionCandidate]
        var unserved: [UnservedPlatform]
    }

    static func run(_ arguments: Arguments, context: CommandContext) async throws -> ExitStatus {
        guard arguments.positionals.isEmpty else {
            throw UsageError("unexpected argument '\(arguments.positionals[0])'")
        }
        let session = try await context.startSession(arguments)
        let format = try context.outputFormat(arguments, config: session.config)
        let terminal = context.terminal
        let probe = arguments.flags.contains("probe")
        let document: Document
        switch await session.select(flag: arguments.values["provider"], probe: probe, reportAll: true) {
        case .notInstalled(let name, let source):
            terminal.err("Error: provider '\(name)' (from \(source)) is not installed.")
            terminal.err(ProviderSelection.installedLine(session))
            return .failure
        case .selected(let provider, let source, let detection, let report):
            document = Document(
                provider: provider.name,
                source: source,
                platform: detection?.platform,
                evidence: detection?.evidence ?? [],
                candidates: report?.candidates ?? [],
                unserved: report?.unserved ?? []
            )
        case .undetected(let report):
            document = Document(evidence: [], candidates: report.candidates, unserved: report.unserved)
        }
        if format == .json {
            terminal.out(encodeJSON(document))
        } else {
            printText(document, terminal: terminal)
        }
        return document.provider == nil ? .incomplete : .ready
    }

    static func printText(_ document: Document, terminal: Terminal) {
        if let provider = document.provider {
            let platform = document.platform ?? "not detected on this machine"
            terminal.out(terminal.paint("Platform: \(platform)", .bold))
            terminal.out("Provider: \(provider) (chosen by \(document.source ?? "detection"))")
            for line in document.evidence { terminal.out("  evidence: \(line)") }
        } else if let unserved = document.unserved.first {
            terminal.out(
                terminal.paint(
                    "Platform: \(unserved.name), but no provider for it ('\(unserved.provider)') is installed",
                    .bold
                )
            )
            for line in unserved.evidence { terminal.out("  evidence: \(line)") }
        } else {
            terminal.out(terminal.paint("Platform: none detected", .bold))
            terminal.out("  Choose one with --provider, CMK_PROVIDER or 'provider =' in ~/.config/cmk/config.")
        }
        terminal.out()
        terminal.out("Considered:")
        for candidate in document.candidates {
            if let error = candidate.error {
                terminal.out("  \(candidate.provider): detection failed: \(error)")
                continue
            }
            guard let detection = candidate.detection else { continue }
            let verdict =
                detection.strength == .none
                ? "no match" : "\(detection.strength.rawValue) match: \(detection.platform ?? candidate.provider)"
            terminal.out("  \(candidate.provider): \(verdict)")
            if candidate.provider != document.provider || detection.strength == .weak {
                for line in detection.evidence { terminal.out("    evidence: \(line)") }
            }
            for line in detection.rejected { terminal.out("    rejected: \(line)") }
        }
        if document.candidates.isEmpty { terminal.out("  no provider is installed (see 'cmk providers')") }
    }
}
