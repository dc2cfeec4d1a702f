import CMKCore
import CMKHost
import FoundationEssentials

/// One status run of one target (issue 11): shared by a plain `cmk status`, each round of
/// `--watch` and each target of `--targets`, and what every output format is given.
struct TargetOutcome: Sendable {
    /// The target's name in a targets file; nil for a plain `cmk status`.
    var target: String?
    var provider: String
    /// The report, confirmations applied; nil when the provider gave none.
    var document: StatusDocument?
    /// Why there is no report (the provider failed, or refused an option).
    var failure: String?
    /// The exit status of that failure (1, or 64 for a refused option).
    var failureExit: ExitStatus = .failure
    /// When the run started, in seconds since 1970.
    var startedAt: Double
    /// How long it took, in seconds.
    var duration: Double

    var checks: [Check] { document?.checks ?? [] }

    /// What the OpenMetrics `target` label and the JUnit suite are called: the target's name, else
    /// the key (one key per `cmk status`, so one cron job per key does not collide), else the provider.
    var label: String { target ?? document?.key ?? provider }

    /// This target's exit status under `failOn`.
    func exit(_ failOn: FailOn) -> ExitStatus { document.map { failOn.exit(for: $0.checks) } ?? failureExit }

    /// Readiness as the checks decide it, whatever `--fail-on` says: what `--watch` polls faster on.
    var isFailing: Bool { document.map { ExitStatus.forChecks($0.checks) != .ready } ?? true }
}

/// `--fail-on`: which findings make the exit status non-zero. Each level includes the ones before it.
enum FailOn: String, CaseIterable, Sendable {
    /// Exit 2 when a check needs action; an incomplete report (unknown checks) exits 0.
    case actionRequired = "action-required"
    /// Also exit 3 when a check could not be determined: the default, as before --fail-on.
    case unknown
    /// Also exit 4 when the report is ready but has warnings.
    case warning
    /// Exit 0 whatever the checks say (1 and 64 still mean cmk itself failed or was misused).
    case never

    static let option = "fail-on"

    static func parse(_ arguments: Arguments) throws(UsageError) -> FailOn {
        guard let raw = arguments.values[option] else { return .unknown }
        guard let value = FailOn(rawValue: raw) else {
            throw UsageError(
                "--fail-on takes \(allCases.map(\.rawValue).joined(separator: ", ")), not '\(raw)'"
            )
        }
        return value
    }

    func exit(for checks: [Check]) -> ExitStatus {
        let readiness = ExitStatus.forChecks(checks)
        switch self {
        case .never: return .ready
        case .actionRequired: return readiness == .actionRequired ? .actionRequired : .ready
        case .unknown: return readiness
        case .warning:
            guard readiness == .ready else { return readiness }
            return checks.contains { $0.state == .warning } ? .warning : .ready
        }
    }

    /// The worst of several targets' statuses: action needed first (as for one report), then cmk's
    /// own failures, then incomplete, then warnings.
    static func worst(_ statuses: [ExitStatus]) -> ExitStatus {
        let order: [ExitStatus] = [.usage, .actionRequired, .failure, .incomplete, .warning]
        return order.first { statuses.contains($0) } ?? .ready
    }
}

extension Help {
    /// `--fail-on`, printed beside the exit-status table in `cmk status --help`.
    static let failOn = """
        FAIL ON (--fail-on <level>, the findings that make the exit status non-zero):
          action-required  2 when a check needs action; an incomplete report exits 0
          unknown          also 3 when a check could not be determined (the default, the table above)
          warning          also 4 when the report is ready but has warnings
          never            0 whatever the checks say; 1 and 64 still mean cmk failed or was misused
          With --targets, the exit status is the worst target's: 2, then 1, then 3, then 4.
        """
}

enum StatusRun {
    /// Asks the selected provider for one report, within `deadline`, and applies the recorded confirmations.
    static func once(
        _ selected: SelectedProvider,
        target: String?,
        deadline: RunDeadline,
        context: CommandContext,
        confirmations: [Confirmation]
    ) async -> TargetOutcome {
        let provider = selected.provider
        let startedAt = Date().timeIntervalSince1970
        let clock = ContinuousClock.now
        func elapsed() -> Double {
            let (seconds, attoseconds) = (ContinuousClock.now - clock).components
            return Double(seconds) + Double(attoseconds) / 1e18
        }
        func failed(_ message: String, _ exit: ExitStatus = .failure) -> TargetOutcome {
            TargetOutcome(
                target: target,
                provider: provider.name,
                failure: message,
                failureExit: exit,
                startedAt: startedAt,
                duration: elapsed()
            )
        }
        var report: StatusReport
        do {
            report = try await StatusCommand.requestStatus(selected, deadline: deadline, context: context)
        } catch  where error.providerError?.code == .usage {
            return failed(selected.usageMessage(error.providerError!.message), .usage)
        } catch  where error.code == .timedOut || deadline.remaining <= .milliseconds(1) {
            return failed(
                "provider '\(provider.name)' did not report within the run's deadline (\(deadline.describe)); "
                    + "raise it with --timeout <seconds>"
            )
        } catch {
            return failed("provider '\(provider.name)' failed: \(error.reason)")
        }
        report.checks = ConfirmationStore.apply(
            confirmations,
            to: report.checks,
            provider: provider.name,
            target: target,
            key: report.key
        )
        let document = StatusDocument(
            provider: provider.name,
            selection: selected.source,
            platform: selected.detection.map { .init(name: $0.platform ?? provider.name, evidence: $0.evidence) },
            report: report
        )
        return TargetOutcome(
            target: target,
            provider: provider.name,
            document: document,
            startedAt: startedAt,
            duration: elapsed()
        )
    }

    /// The recorded confirmations; a state file that cannot be read is a warning, not a failed run.
    static func confirmations(_ environment: [String: String], terminal: Terminal) -> [Confirmation] {
        do {
            return try ConfirmationStore.load(environment: environment)
        } catch {
            terminal.err("Warning: confirmations not applied: \(error)")
            return []
        }
    }

    /// Prints the outcomes in `format` (the CI formats and OpenMetrics for any number of targets).
    static func printMachineFormat(
        _ outcomes: [TargetOutcome],
        format: OutputFormat,
        exit: ExitStatus,
        terminal: Terminal
    ) {
        switch format {
        case .sarif: terminal.out(SARIFOutput.render(outcomes, exit: exit))
        case .junit: terminal.out(JUnitOutput.render(outcomes))
        case .openmetrics: terminal.out(OpenMetricsOutput.render(outcomes))
        case .text, .json: break
        }
    }

    /// Says which exit status `--fail-on` chose when it differs from what the verdict line says.
    static func failOnNote(_ failOn: FailOn, readiness: ExitStatus, exit: ExitStatus) -> String? {
        guard exit != readiness else { return nil }
        return "--fail-on \(failOn.rawValue): exit \(exit.rawValue)"
    }
}
