package import CMKCore

/// `cmk status --output json`: the stable shape scripts read (docs/json-output.md, with its
/// JSON Schema in docs/schema/).
///
/// Every key is always present: `null` or `[]` when there is nothing to say, so that a script's
/// `.platform.name` or `.checks[0].remediation` never trips over a missing key.
package struct StatusDocument: Encodable, Sendable, Equatable {
    package static let schemaVersion = 1

    package struct Platform: Codable, Sendable, Equatable {
        package var name: String
        package var evidence: [String]

        package init(name: String, evidence: [String]) {
            self.name = name
            self.evidence = evidence
        }
    }

    package var provider: String
    /// How the provider was chosen.
    package var selection: SelectionSource
    /// The platform detected on this machine; nil when the provider was chosen without it.
    package var platform: Platform?
    package var ready: Bool
    /// The manual steps still to do while `ready` (the ticket, the vendor's confirmation).
    package var manualSteps: [String]
    package var credential: String?
    /// Causes shared by several checks, each said once (checks name theirs by `cause`).
    package var causes: [CheckCause]
    package var checks: [Check]
    /// The key the report is about (``StatusReport/key``), when the provider names one (issue 11).
    package var key: String?

    package init(provider: String, selection: SelectionSource, platform: Platform?, report: StatusReport) {
        self.provider = provider
        self.selection = selection
        self.platform = platform
        self.checks = report.checks
        self.credential = report.credential
        self.key = report.key
        self.ready = ExitStatus.forChecks(report.checks) == .ready
        self.manualSteps = report.checks.filter { $0.state == .manual }.map(\.id)
        var seen = Set<String>()
        self.causes = report.checks.compactMap(\.cause).filter { seen.insert($0.id).inserted }
    }

    private enum Keys: String, CodingKey {
        case schemaVersion, provider, selection, platform, ready, manualSteps, credential, key, causes, checks
    }

    package func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Keys.self)
        try container.encode(Self.schemaVersion, forKey: .schemaVersion)
        try container.encode(provider, forKey: .provider)
        try container.encode(selection, forKey: .selection)
        try container.encode(platform, forKey: .platform)
        try container.encode(ready, forKey: .ready)
        try container.encode(manualSteps, forKey: .manualSteps)
        try container.encode(credential, forKey: .credential)
        try container.encode(key, forKey: .key)
        try container.encode(causes.map(CauseEntry.init), forKey: .causes)
        try container.encode(checks.map(CheckEntry.init), forKey: .checks)
    }

    /// A check with every key present.
    package struct CheckEntry: Encodable {
        var check: Check
        package init(_ check: Check) { self.check = check }

        private enum Keys: String, CodingKey { case id, state, summary, remediation, evidence, cause, expires }

        package func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(check.id, forKey: .id)
            try container.encode(check.state, forKey: .state)
            try container.encode(check.summary, forKey: .summary)
            try container.encode(check.remediation, forKey: .remediation)
            try container.encode(check.evidence ?? [], forKey: .evidence)
            try container.encode(check.cause?.id, forKey: .cause)
            try container.encode(check.expires, forKey: .expires)
        }
    }

    /// A cause with every key present.
    package struct CauseEntry: Encodable {
        var cause: CheckCause
        package init(_ cause: CheckCause) { self.cause = cause }

        private enum Keys: String, CodingKey { case id, label, summary, remediation }

        package func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(cause.id, forKey: .id)
            try container.encode(cause.label, forKey: .label)
            try container.encode(cause.summary, forKey: .summary)
            try container.encode(cause.remediation, forKey: .remediation)
        }
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
    /// Ready, with warnings: only with `--fail-on warning` (issue 11).
    case warning = 4
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
