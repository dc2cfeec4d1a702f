import CMKCore
import CMKHost
import FoundationEssentials

/// `cmk status --targets FILE [--jobs 8]` (issue 11): many keys in one run.
///
/// Each provider the file names is loaded once (one instance, one detection), so targets that
/// sign in as the same identity share its tokens (the provider's sign-in cache). Targets run at
/// most `--jobs` at a time, each with the whole `--timeout`. A target's options beat provider
/// options on the command line, which beat the environment and the config file's provider section.
enum StatusTargets {
    static let defaultJobs = 8

    /// A provider the file names, ready to run, or why it is not.
    private enum Prepared: Sendable {
        case ready(LoadedProvider, detection: Detection?, declared: [ProviderOption])
        case missing(String)
    }

    private struct Planned: Sendable {
        var target: TargetsFile.Target
        var options: [String: String]
    }

    static func jobs(_ arguments: Arguments) throws(UsageError) -> Int {
        guard let raw = arguments.values["jobs"] else { return defaultJobs }
        guard let value = Int(raw), (1...256).contains(value) else {
            throw UsageError("--jobs takes a number from 1 to 256, not '\(raw)'")
        }
        return value
    }

    /// `timeout`: the `--timeout` seconds, each target's whole deadline.
    static func run(_ arguments: Arguments, context: CommandContext, failOn: FailOn, timeout: Double) async throws
        -> ExitStatus
    {
        let terminal = context.terminal
        guard arguments.values["provider"] == nil else {
            throw UsageError("--provider does not go with --targets: each target names its provider")
        }
        let jobs = try jobs(arguments)
        let path = arguments.values["targets"]!
        let file: TargetsFile
        do {
            file = try TargetsFile.load(path)
        } catch {
            terminal.err(
                "Error: targets file \(error.line.map { "\(error.path):\($0)" } ?? error.path): \(error.reason)"
            )
            return .usage
        }
        let session = try await context.startSession(arguments)
        let format = try context.outputFormat(arguments, config: session.config, allowed: OutputFormat.accepted(by: StatusCommand.name))
        let watch = arguments.flags.contains("watch")
        if watch { try StatusWatch.checkFormat(format) }

        var prepared: [String: Prepared] = [:]
        for name in file.targets.map(\.provider) where prepared[name] == nil {
            switch await session.select(flag: name, probe: arguments.flags.contains("probe")) {
            case .selected(let provider, _, let detection, _):
                let declared: [ProviderOption]
                do {
                    declared = try await session.options(of: provider, timeout: .seconds(min(5, timeout)))
                } catch {
                    throw CommandFailure("provider '\(provider.name)' failed: \(error.reason)")
                }
                prepared[name] = .ready(provider, detection: detection, declared: declared)
            case .notInstalled, .undetected:
                prepared[name] = .missing(
                    "provider '\(name)' is not installed. \(ProviderSelection.installedLine(session))"
                )
            }
        }
        let declaredAnywhere = Set(
            prepared.values.flatMap { entry -> [String] in
                if case .ready(_, _, let declared) = entry { return declared.map(\.name) }
                return []
            }
        )
        if let unknown = arguments.providerOptions.keys.sorted().first(where: { !declaredAnywhere.contains($0) }) {
            throw UsageError("unknown option '--\(unknown)': no provider of \(path) takes it")
        }
        var plan: [Planned] = []
        for target in file.targets {
            guard case .ready(let provider, _, let declared) = prepared[target.provider] else {
                plan.append(Planned(target: target, options: [:]))
                continue
            }
            let names = Set(declared.map(\.name))
            if let unknown = target.options.keys.sorted().first(where: { !names.contains($0) }) {
                let accepted =
                    declared.isEmpty
                    ? "it takes no options" : "it takes " + declared.map(\.name).joined(separator: ", ")
                terminal.err(
                    "Error: targets file \(path):\(target.lines[unknown] ?? target.line): target '\(target.name)': "
                        + "provider '\(provider.name)' has no option '\(unknown)'; \(accepted)"
                )
                return .usage
            }
            let flags = arguments.providerOptions.filter { names.contains($0.key) }
                .merging(target.options) { _, own in own }
            plan.append(
                Planned(
                    target: target,
                    options: session.resolveOptions(declared, flags: flags, provider: provider.name)
                )
            )
        }

        let environment = session.environment
        let frozen = prepared
        let planned = plan
        let round = { @Sendable () async -> [TargetOutcome] in
            let confirmations = StatusRun.confirmations(environment, terminal: terminal)
            return await bounded(planned.count, jobs: jobs) { index in
                let planned = planned[index]
                switch frozen[planned.target.provider]! {
                case .missing(let reason):
                    return TargetOutcome(
                        target: planned.target.name,
                        provider: planned.target.provider,
                        failure: reason,
                        startedAt: Date().timeIntervalSince1970,
                        duration: 0
                    )
                case .ready(let provider, let detection, _):
                    let selected = SelectedProvider(
                        provider: provider,
                        source: SelectionSource(
                            .config,
                            "provider = \(provider.name) in \(path) [target \(planned.target.name)]"
                        ),
                        detection: detection,
                        options: planned.options,
                        optionSources: [:]
                    )
                    return await StatusRun.once(
                        selected,
                        target: planned.target.name,
                        deadline: RunDeadline(seconds: timeout),
                        context: context,
                        confirmations: confirmations
                    )
                }
            }
        }
        if watch {
            return await StatusWatch.run(arguments, format: format, failOn: failOn, terminal: terminal, round: round)
        }
        let outcomes = await round()
        let exit = FailOn.worst(outcomes.map { $0.exit(failOn) })
        switch format {
        case .text: printTable(outcomes, exit: exit, failOn: failOn, terminal: terminal)
        case .json: terminal.out(encodeJSON(TargetsDocument(outcomes)))
        case .sarif, .junit, .openmetrics:
            StatusRun.printMachineFormat(outcomes, format: format, exit: exit, terminal: terminal)
        }
        return exit
    }

    /// Runs `body` for 0..<count, at most `jobs` at a time; the results in index order.
    static func bounded<Value: Sendable>(
        _ count: Int,
        jobs: Int,
        _ body: @escaping @Sendable (Int) async -> Value
    ) async -> [Value] {
        await withTaskGroup(of: (Int, Value).self) { group in
            var results = [Value?](repeating: nil, count: count)
            var next = 0
            func start() {
                let index = next
                next += 1
                group.addTask { (index, await body(index)) }
            }
            while next < min(jobs, count) { start() }
            while let (index, value) = await group.next() {
                results[index] = value
                if next < count { start() }
            }
            return results.map { $0! }
        }
    }

    /// The most severe state among a report's checks: what the summary's WORST column shows.
    static func worstState(_ checks: [Check]) -> CheckState? {
        let order: [CheckState] = [.actionRequired, .unknown, .warning, .manual, .notApplicable, .ok]
        return order.first { state in checks.contains { $0.state == state } }
    }

    /// The first thing to do: the first check that needs action (its fix), else the first
    /// unknown or warning (its summary).
    static func firstAction(_ checks: [Check]) -> String? {
        if let check = checks.first(where: { $0.state == .actionRequired }) {
            let fix = check.remediation?.split(separator: "\n").first.map(String.init) ?? check.summary
            return "\(check.id): \(fix)"
        }
        for state in [CheckState.unknown, .warning] {
            if let check = checks.first(where: { $0.state == state }) { return "\(check.id): \(check.summary)" }
        }
        return nil
    }

    static func printTable(_ outcomes: [TargetOutcome], exit: ExitStatus, failOn: FailOn, terminal: Terminal) {
        let rows: [[String]] = outcomes.map { outcome in
            guard let document = outcome.document else {
                return [outcome.target ?? "", "error", "-", outcome.failure ?? ""]
            }
            return [
                outcome.target ?? "", document.ready ? "yes" : "no", worstState(document.checks)?.rawValue ?? "-",
                firstAction(document.checks) ?? "-",
            ]
        }
        let header = ["TARGET", "READY", "WORST", "FIRST ACTION"]
        let widths = (0..<3).map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
        func line(_ row: [String], paint: Bool) -> String {
            var cells = (0..<3).map { row[$0].padding(widths[$0]) }
            if paint {
                let style: Terminal.Style =
                    row[1] == "yes" ? .green : row[1] == "error" ? .red : .yellow
                cells[1] = terminal.paint(cells[1], style)
                if let state = CheckState(rawValue: row[2]) {
                    cells[2] = terminal.paint(cells[2], StatusText.label(state).style)
                }
            }
            return (cells + [row[3]]).joined(separator: "  ")
        }
        terminal.out(terminal.paint(line(header, paint: false), .bold))
        for row in rows { terminal.out(line(row, paint: true)) }
        terminal.out()
        let ready = outcomes.filter { $0.document?.ready == true }.count
        let action = outcomes.filter { $0.document.map { ExitStatus.forChecks($0.checks) == .actionRequired } ?? false }
        let failed = outcomes.filter { $0.document == nil }.count
        var parts: [String] = []
        if !action.isEmpty { parts.append("\(action.count) need\(action.count == 1 ? "s" : "") action") }
        let incomplete = outcomes.count - ready - action.count - failed
        if incomplete > 0 { parts.append("\(incomplete) incomplete") }
        if failed > 0 { parts.append("\(failed) failed") }
        terminal.out(
            "\(ready) of \(outcomes.count) target\(outcomes.count == 1 ? "" : "s") ready"
                + (parts.isEmpty ? "" : "; " + parts.joined(separator: ", ")) + ". (exit \(exit.rawValue)"
                + (failOn == .unknown ? "" : ", --fail-on \(failOn.rawValue)") + ")"
        )
    }
}

/// `--targets` with `--output json`: one report per target, in the file's order, every key present.
///
/// `{"ready", "targets": [{"target", "provider", "ready", "error", "report"}]}`: `report` is what
/// `cmk status --output json` prints for that target alone, `null` with an `error` when there is none.
struct TargetsDocument: Encodable {
    struct Entry: Encodable {
        var target: String
        var provider: String
        var ready: Bool
        var error: String?
        var report: StatusDocument?

        private enum Keys: String, CodingKey { case target, provider, ready, error, report }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(target, forKey: .target)
            try container.encode(provider, forKey: .provider)
            try container.encode(ready, forKey: .ready)
            try container.encode(error, forKey: .error)
            try container.encode(report, forKey: .report)
        }
    }

    var ready: Bool
    var targets: [Entry]

    init(_ outcomes: [TargetOutcome]) {
        targets = outcomes.map { outcome in
            Entry(
                target: outcome.target ?? "",
                provider: outcome.provider,
                ready: outcome.document?.ready ?? false,
                error: outcome.failure,
                report: outcome.document
            )
        }
        ready = targets.allSatisfy(\.ready)
    }
}
