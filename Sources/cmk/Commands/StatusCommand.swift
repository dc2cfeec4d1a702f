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

        TEXT OUTPUT:
          One line per check: its state, id and what was found; below it, after an arrow, what to
          do. A cause that keeps several checks from being determined (no sign-in, an endpoint out
          of reach) is said once above the checks. Wrapped to COLUMNS (else the terminal's width,
          else 100); shell commands are never split except with a trailing backslash.

        JSON OUTPUT:
          {"schemaVersion": 1, "provider", "selection": {"kind", "detail"}, "platform": null or
           {"name", "evidence"}, "ready", "manualSteps", "credential", "causes": [...],
           "checks": [{"id", "state", "summary", "remediation", "evidence", "cause"}]}
          Every key is always present (null or [] when empty); docs/json-output.md has the schema.

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
        let deadline = try RunDeadline(arguments)
        let session = try await context.startSession(arguments)
        let format = try context.outputFormat(arguments, config: session.config)
        let selected: SelectedProvider
        let selection = try await ProviderSelection.select(
            arguments,
            command: Self.self,
            session: session,
            context: context,
            format: format,
            timeout: deadline.forPhase(max: .seconds(5))
        )
        switch selection {
        case .selected(let value): selected = value
        case .exit(let status): return status
        }
        let report: StatusReport
        do {
            report = try await requestStatus(selected, deadline: deadline, context: context)
        } catch where error.providerError?.code == .usage {
            context.terminal.err("Error: \(selected.usageMessage(error.providerError!.message))")
            return .usage
        } catch where error.code == .timedOut || deadline.remaining <= .milliseconds(1) {
            context.terminal.err(
                "Error: provider '\(selected.provider.name)' did not report within the run's deadline "
                    + "(\(deadline.describe)); raise it with --timeout <seconds>"
            )
            return .failure
        } catch {
            context.terminal.err("Error: provider '\(selected.provider.name)' failed: \(error.reason)")
            return .failure
        }
        let document = StatusDocument(
            provider: selected.provider.name,
            selection: selected.source,
            platform: selected.detection.map { .init(name: $0.platform ?? selected.provider.name, evidence: $0.evidence) },
            report: report
        )
        let exit = ExitStatus.forChecks(report.checks)
        if format == .json {
            context.terminal.out(encodeJSON(document))
        } else {
            StatusText(terminal: context.terminal).print(document, exit: exit)
        }
        return exit
    }

    /// The provider's report, asked within what is left of the run's deadline.
    ///
    /// The provider is told less than what is left (half, at most 1.5 s, is kept back), so
    /// that when its slowest call runs out it still has time to answer with what it found; the
    /// host waits for the reply until the deadline, plus half a second for a reply already on its way.
    static func requestStatus(_ selected: SelectedProvider, deadline: RunDeadline, context: CommandContext)
        async throws(ProviderCallError) -> StatusReport
    {
        let left = deadline.remaining
        let reserve = min(.milliseconds(1500), left / 2)
        let request = StatusRequest(
            platform: selected.detection,
            options: selected.options,
            deadlineMilliseconds: max(1, Int((left - reserve) / .milliseconds(1))),
            command: context.terminal.command,
            configPath: context.configPath
        )
        return try await selected.provider.request(
            .status,
            request,
            as: StatusReport.self,
            timeout: left + .milliseconds(500)
        )
    }
}

/// The whole run's deadline (`--timeout`, default 30 s), shared by its phases.
struct RunDeadline {
    let seconds: Double
    let end: ContinuousClock.Instant

    init(_ arguments: Arguments) throws(UsageError) {
        guard let raw = arguments.values["timeout"] else {
            self.init(seconds: 30)
            return
        }
        guard let seconds = Double(raw), seconds.isFinite, seconds > 0, seconds <= 3600 else {
            throw UsageError("--timeout must be more than 0 and at most 3600 seconds, not '\(raw)'")
        }
        self.init(seconds: seconds)
    }

    init(seconds: Double) {
        self.seconds = seconds
        end = .now + .milliseconds(Int(seconds * 1000))
    }

    var remaining: Duration { max(.milliseconds(1), end - .now) }

    /// What is left, but at most `max`: a phase that may not take the whole run.
    func forPhase(max limit: Duration) -> Duration { min(limit, remaining) }

    var describe: String {
        let text = seconds == seconds.rounded() ? String(Int(seconds)) : String(seconds)
        return "\(text) s"
    }
}
