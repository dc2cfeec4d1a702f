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

    /// `cmk detect --output json`: every key always present.
    struct Document: Encodable {
        var provider: String?
        var selection: SelectionSource?
        var platform: String?
        var evidence: [String]
        var candidates: [DetectionCandidate]
        var unserved: [UnservedPlatform]

        private enum Keys: String, CodingKey {
            case schemaVersion, provider, selection, platform, evidence, candidates, unserved
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(StatusDocument.schemaVersion, forKey: .schemaVersion)
            try container.encode(provider, forKey: .provider)
            try container.encode(selection, forKey: .selection)
            try container.encode(platform, forKey: .platform)
            try container.encode(evidence, forKey: .evidence)
            try container.encode(candidates.map(CandidateEntry.init), forKey: .candidates)
            try container.encode(unserved, forKey: .unserved)
        }
    }

    /// A provider's verdict with every key present.
    struct CandidateEntry: Encodable {
        var candidate: DetectionCandidate
        init(_ candidate: DetectionCandidate) { self.candidate = candidate }

        private enum Keys: String, CodingKey { case provider, detection, error }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(candidate.provider, forKey: .provider)
            try container.encode(candidate.detection.map(DetectionEntry.init), forKey: .detection)
            try container.encode(candidate.error, forKey: .error)
        }
    }

    /// A detection with every key present.
    struct DetectionEntry: Encodable {
        var detection: Detection
        init(_ detection: Detection) { self.detection = detection }

        private enum Keys: String, CodingKey { case strength, platform, evidence, rejected, details }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(detection.strength, forKey: .strength)
            try container.encode(detection.platform, forKey: .platform)
            try container.encode(detection.evidence, forKey: .evidence)
            try container.encode(detection.rejected, forKey: .rejected)
            try container.encode(detection.details, forKey: .details)
        }
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
            return try ProviderSelection.notInstalled(name, source: source, session: session, terminal: terminal)
        case .selected(let provider, let source, let detection, let report):
            document = Document(
                provider: provider.name,
                selection: source,
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
            printText(document, context: context)
        }
        return document.provider == nil ? .incomplete : .ready
    }

    static func printText(_ document: Document, context: CommandContext) {
        let terminal = context.terminal
        if let provider = document.provider {
            let platform = document.platform ?? "not detected on this machine"
            terminal.out(terminal.paint("Platform: \(platform)", .bold))
            let how = document.selection.map { $0.kind == .detection ? "detected" : "chosen by \($0.detail)" } ?? "detected"
            terminal.out("Provider: \(provider) (\(how))")
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
            terminal.out("  Choose one with --provider, CMK_PROVIDER or 'provider =' in \(context.configPath).")
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
