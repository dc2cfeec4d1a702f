/// Where one step of the CMK procedure stands.
public enum CheckState: String, Codable, Sendable, CaseIterable {
    /// Done and verified.
    case ok
    /// Not done: the remediation says what to do.
    case actionRequired = "action-required"
    /// Works now, but at risk or wider than needed; the remediation says how to tighten it.
    /// Does not block readiness: a report whose only findings are warnings is ready.
    case warning
    /// Cannot be verified by a tool (a contract, a vendor's confirmation); a reminder.
    case manual
    /// Could not be determined (no credentials, a failed call); the summary says why.
    case unknown
    /// Does not apply here; a reminder.
    case notApplicable = "not-applicable"

    /// `manual` and `not-applicable` checks are reminders and do not decide readiness.
    public var affectsReadiness: Bool { self != .manual && self != .notApplicable }
}

/// One step of the CMK procedure and its state: an expected outcome is a value, not an error.
public struct Check: Codable, Sendable, Equatable {
    /// Stable identifier (`key-uri`, `app-consent`), for scripts and docs.
    public var id: String
    public var state: CheckState
    /// One line: what was found.
    public var summary: String
    /// What to do next, with real identifiers filled in (a URL, a command).
    public var remediation: String?
    /// What the finding rests on.
    public var evidence: [String]?

    public init(id: String, state: CheckState, summary: String, remediation: String? = nil, evidence: [String]? = nil) {
        self.id = id
        self.state = state
        self.summary = summary
        self.remediation = remediation
        self.evidence = evidence
    }
}

/// A provider's answer to `status`.
public struct StatusReport: Codable, Sendable, Equatable {
    public var checks: [Check]
    /// Which credential the provider used for live checks, if any (never the secret itself).
    public var credential: String?

    public init(checks: [Check], credential: String? = nil) {
        self.checks = checks
        self.credential = credential
    }
}

/// What `cmk status` is asked to report on.
public struct StatusRequest: Codable, Sendable, Equatable {
    /// The detection that selected the provider, or nil when it was chosen explicitly and not detected.
    public var platform: Detection?
    /// Resolved option values by option name (flag beats environment beats config).
    public var options: [String: String]
    /// The whole run's deadline in milliseconds from the request; providers keep within it.
    public var deadlineMilliseconds: Int

    public init(platform: Detection? = nil, options: [String: String] = [:], deadlineMilliseconds: Int = 20_000) {
        self.platform = platform
        self.options = options
        self.deadlineMilliseconds = deadlineMilliseconds
    }
}
