import CMKCore
import CMKHost

/// `cmk status`: every step of the CMK procedure for the selected platform, and what to do next.
enum StatusCommand: Command {
    static let name = "status"
    static let usage =
        "cmk status [--provider <name>] [--output text|json] [--timeout <seconds>] [--probe] [--isolate]"
        + " [--<provider-option> <value>]"
    static let flags: Set<String> = ["probe", "isolate"]
    static let options: Set<String> = ["provider", "output", "timeout"]
    static let acceptsProviderOptions = true

    static let help = """
        OVERVIEW: Check each step of the customer-managed-key setup and say what to do next.

        The provider is the one you choose (--provider, CMK_PROVIDER, or 'provider =' in the
        config file), else the one whose platform this machine is detected to run on. Each check
        prints its state (ok, action-required, warning, manual, unknown, not-applicable), what was
        found, and the exact next step. 'warning' (works, but at risk or wider than needed),
        'manual' and 'not-applicable' checks do not block readiness.

        USAGE: \(usage)

        OPTIONS:
          --provider <name>      Provider to use (see 'cmk providers') instead of the detected one.
          --output <format>      text (default) or json.
          --timeout <seconds>    Deadline for the whole run (default 30).
          --probe                Let detection ask instance metadata even without a local signal.
          --isolate              Run providers in worker processes: a provider that crashes or
                                 hangs becomes an error (exit 1), not a dead or stuck cmk. Also
                                 CMK_ISOLATE=1 or 'isolate = true' in the config.
          --<option> <value>     A provider's own option; for Azure: --key-uri <URI> (or
                                 CMK_AZURE_KEY_URI, or 'key-uri =' under [azure] in the config),
                                 --vault-resource-id <ID>, --credential <kind>.
          -h, --help             Show help information.

        JSON OUTPUT:
          {"provider", "platform": {"name", "evidence"}, "ready",
           "checks": [{"id", "state", "summary", "remediation"?, "evidence"?}], "credential"?}

        \(Help.exitStatus)

        EXAMPLES:
          cmk status
          cmk status --provider azure --key-uri https://contoso-cmk.vault.azure.net/keys/cmk-key
          cmk status --output json | jq '.checks[] | select(.state != "ok")'
        """

    static func run(_ arguments: Arguments, context: CommandContext) async throws -> ExitStatus {
        guard arguments.positionals.isEmpty else {
            throw UsageError("unexpected argument '\(arguments.positionals[0])'")
        }
        let session = try await context.startSession(arguments)
        let format = try context.outputFormat(arguments, config: session.config)
        let deadline = try runDeadline(arguments)
        let selected: SelectedProvider
        switch try await ProviderSelection.select(arguments, session: session, context: context, format: format) {
        case .selected(let value): selected = value
        case .exit(let status): return status
        }
        let request = StatusRequest(
            platform: selected.detection,
            options: selected.options,
            deadlineMilliseconds: deadline
        )
        let report: StatusReport
        do {
            report = try await selected.provider.request(
                .status,
                request,
                as: StatusReport.self,
                timeout: .milliseconds(deadline + 2000)
            )
        } catch  where error.providerError?.code == .usage {
            context.terminal.err("Error: \(error.providerError!.message)")
            return .usage
        } catch {
            context.terminal.err("Error: provider '\(selected.provider.name)' failed: \(error.reason)")
            return .failure
        }
        let platform = StatusDocument.Platform(
            name: selected.detection?.platform ?? "chosen by \(selected.source), not detected on this machine",
            evidence: selected.detection?.evidence ?? ["provider chosen by \(selected.source)"]
        )
        let document = StatusDocument(provider: selected.provider.name, platform: platform, report: report)
        let exit = ExitStatus.forChecks(report.checks)
        if format == .json {
            context.terminal.out(encodeJSON(document))
        } else {
            printText(document, source: selected.source, exit: exit, terminal: context.terminal)
        }
        return exit
    }

    static func runDeadline(_ arguments: Arguments) throws(UsageError) -> Int {
        guard let raw = arguments.values["timeout"] else { return 30_000 }
        guard let seconds = Double(raw), seconds > 0, seconds <= 3600 else {
            throw UsageError("--timeout takes a number of seconds between 0 and 3600, not '\(raw)'")
        }
        return Int(seconds * 1000)
    }

    static func printText(_ document: StatusDocument, source: String, exit: ExitStatus, terminal: Terminal) {
        terminal.out(terminal.paint("Provider: \(document.provider)", .bold) + " (\(source))")
        terminal.out("Platform: \(document.platform.name)")
        for line in document.platform.evidence { terminal.out(terminal.paint("  evidence: \(line)", .dim)) }
        if let credential = document.credential { terminal.out("Signed in with: \(credential)") }
        terminal.out()
        let width = document.checks.map(\.id.count).max() ?? 0
        // Warnings do not block readiness: they are listed after the steps, so the steps read in order.
        let warnings = document.checks.filter { $0.state == .warning }
        for check in document.checks.filter({ $0.state != .warning }) + warnings {
            let label = stateLabel(check.state)
            let padded = label.text.padding(16)
            terminal.out("  \(terminal.paint(padded, label.style)) \(check.id.padding(width))  \(check.summary)")
            if let remediation = check.remediation {
                for (index, line) in remediation.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                    terminal.out(
                        "  \(String().padding(16)) \(String().padding(width))  \(index == 0 ? "→ " : "  ")\(line)"
                    )
                }
            }
        }
        terminal.out()
        let verdict: String
        switch exit {
        case .ready where !warnings.isEmpty:
            let count = warnings.count == 1 ? "1 warning" : "\(warnings.count) warnings"
            verdict = terminal.paint("Ready, with \(count): customer-managed keys are set up (see warnings).", .green)
        case .ready: verdict = terminal.paint("Ready: customer-managed keys are set up.", .green)
        case .actionRequired: verdict = terminal.paint("Not ready: action required (see → above).", .yellow)
        default: verdict = terminal.paint("Incomplete: some checks could not be determined.", .yellow)
        }
        terminal.out("\(verdict) (exit \(exit.rawValue))")
    }

    static func stateLabel(_ state: CheckState) -> (text: String, style: Terminal.Style) {
        switch state {
        case .ok: ("ok", .green)
        case .actionRequired: ("action-required", .red)
        case .warning: ("warning", .yellow)
        case .manual: ("manual", .cyan)
        case .unknown: ("unknown", .yellow)
        case .notApplicable: ("not-applicable", .dim)
        }
    }
}

extension String {
    func padding(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
}
