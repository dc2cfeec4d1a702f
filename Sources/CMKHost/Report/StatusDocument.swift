package import CMKCore

/// `cmk status --output json`: the stable shape scripts read.
///
/// `{"provider", "platform": {"name", "evidence"}, "ready", "checks": [{"id", "state", "summary",
/// "remediation"?, "evidence"?}], "credential"?}`
package struct StatusDocument: Codable, Sendable, Equatable {
    package struct Platform: Codable, Sendable, Equatable {
        package var name: String
        package var evidence: [String]

        package init(name: String, evidence: [String]) {
            self.name = name
            self.evidence = evidence
        }
    }

    package var provider: String
    package var platform: Platform
    package var ready: Bool
    package var checks: [Check]
    package var credential: String?

    package init(provider: String, platform: Platform, report: StatusReport) {
        self.provider = provider
        self.platform = platform
        self.checks = report.checks
        self.credential = report.credential
        self.ready = ExitStatus.forChecks(report.checks) == .ready
    }
}

/// cmk's exit statuses, documented in `cmk --help` and the README.
package enum ExitStatus: Int32, Sendable {
    /// Every check that decides readiness is ok.
    case ready = 0
    /// Anything else went wrong (a provider could not be loaded, crashed, or timed out).
    case failure = 1
    /// At least one check needs action.
    case actionRequired = 2
    /// Some check could not be determined, or no platform was detected and none chosen.
    case incomplete = 3
    /// The command line, an option value or the config file is wrong.
    case usage = 64

    /// Action beats incomplete: if something is known to be missing, say that first.
    package static func forChecks(_ checks: [Check]) -> ExitStatus {
        let deciding = checks.filter { $0.state.affectsReadiness }
        if deciding.contains(where: { $0.state == .actionRequired }) { return .actionRequired }
        if checks.isEmpty || deciding.contains(where: { $0.state == .unknown }) { return .incomplete }
        return .ready
    }
}
