import CMKCore
import CMKHost

/// `cmk status`: every step of the CMK procedure for the selected platform, and what to do next.
enum StatusCommand: Command {
    static let name = "status"
    // ops (issue 11): the CI and metrics formats, --fail-on, --watch, --targets.
    static let usage =
        "cmk status [--provider <name>] [--output text|json|sarif|junit|openmetrics] [--fail-on <level>]"
        + " [--timeout <seconds>] [--watch [--interval <s>]] [--targets <file> [--jobs <n>]] [--probe] [--isolate]"
        + " [--<provider-option> <value>]"
    static let flags: Set<String> = ["probe", "isolate", "watch"]
    static let options: Set<String> = [
        "provider", "output", "timeout", FailOn.option, "interval", "failing-interval", "targets", "jobs",
    ]
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
          --output <format>      text (default), json, sarif (SARIF 2.1.0), junit (JUnit XML) or
                                 openmetrics (OpenMetrics text: cmk_ready, cmk_check_state, …).
          --fail-on <level>      action-required, unknown (default), warning or never: which
                                 findings make the exit status non-zero (FAIL ON, below).
          --timeout <seconds>    Deadline for the whole run (default 30); with --watch, of each
                                 round; with --targets, of each target.
          --watch                Check again and again; print a line when a check changes state
                                 (time, check, state, summary); stop on Ctrl-C or SIGTERM with the
                                 last state's exit status. Sign-ins are reused until they expire.
          --interval <seconds>   Time between the starts of two checks with --watch (default 60);
          --failing-interval <s> while something needs action or is unknown (default 10).
          --targets <file>       Check every target of an INI file ([target NAME] sections with
                                 provider = and the provider's options); one summary, exit the worst.
          --jobs <n>             With --targets, how many targets run at once (default 8).
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
           "key", "checks": [{"id", "state", "summary", "remediation", "evidence", "cause", "expires"}]}
          Every key is always present (null or [] when empty); docs/json-output.md has the schema.
          With --targets: {"ready", "targets": [{"target", "provider", "ready", "error", "report"}]}.

        \(Help.exitStatus)
          4   warnings, only with --fail-on warning

        \(Help.failOn)

        EXAMPLES:
          cmk status
          cmk status --provider azure --key-uri https://contoso-cmk.vault.azure.net/keys/cmk-key
          cmk status --output json | jq '.checks[] | select(.state != "ok")'
          cmk status --output sarif --fail-on action-required > cmk.sarif
          cmk status --targets targets.ini --jobs 16
          cmk status --watch --interval 300
        """

    static func run(_ arguments: Arguments, context: CommandContext) async throws -> ExitStatus {
        guard arguments.positionals.isEmpty else {
            throw UsageError("unexpected argument '\(arguments.positionals[0])'")
        }
        let deadline = try RunDeadline(arguments)
        // ops (issue 11): --fail-on, --targets and --watch; one run of one target is StatusRun.once.
        let failOn = try FailOn.parse(arguments)
        try StatusWatch.checkArguments(arguments)
        if arguments.values["targets"] != nil {
            return try await StatusTargets.run(arguments, context: context, failOn: failOn, timeout: deadline.seconds)
        }
        guard arguments.values["jobs"] == nil else { throw UsageError("--jobs goes with --targets <file>") }
        let session = try await context.startSession(arguments)
        let format = try context.outputFormat(arguments, config: session.config, allowed: OutputFormat.accepted(by: name))
        let watch = arguments.flags.contains("watch")
        if watch { try StatusWatch.checkFormat(format) }
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
        case .exit(let status): return failOn == .never && status == .incomplete ? .ready : status
        }
        let round = { @Sendable (deadline: RunDeadline) async -> [TargetOutcome] in
            [
                await StatusRun.once(
                    selected,
                    target: nil,
                    deadline: deadline,
                    context: context,
                    confirmations: StatusRun.confirmations(session.environment, terminal: context.terminal)
                )
            ]
        }
        if watch {
            // Each round gets the whole --timeout.
            return await StatusWatch.run(arguments, format: format, failOn: failOn, terminal: context.terminal) {
                await round(RunDeadline(seconds: deadline.seconds))
            }
        }
        let outcome = await round(deadline)[0]
        guard let document = outcome.document else {
            context.terminal.err("Error: \(outcome.failure ?? "no report")")
            // A CI job still gets its file: the failure as a SARIF notification, a JUnit error, cmk_ready 0.
            if ![.text, .json].contains(format) {
                StatusRun.printMachineFormat(
                    [outcome],
                    format: format,
                    exit: outcome.failureExit,
                    terminal: context.terminal
                )
            }
            return outcome.failureExit
        }
        let readiness = ExitStatus.forChecks(document.checks)
        let exit = outcome.exit(failOn)
        switch format {
        case .json: context.terminal.out(encodeJSON(document))
        case .text:
            StatusText(terminal: context.terminal).print(document, exit: readiness)
            if let note = StatusRun.failOnNote(failOn, readiness: readiness, exit: exit) { context.terminal.out(note) }
        case .sarif, .junit, .openmetrics:
            StatusRun.printMachineFormat([outcome], format: format, exit: exit, terminal: context.terminal)
        }
        return exit
    }

    /// The provider's report, asked within what is left of the run's deadline.
    ///
    /// The provider is told less than what is left (half, at most 1.5 s, is kept back), so
    /// that when its slowest call runs out it still has time to answer with what it found; the
    /// host waits for the reply until the deadline, plus a second for a reply already on its way
    /// (on a loaded machine, a provider's threads may wait that long to be scheduled).
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
            timeout: left + .seconds(1)
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
