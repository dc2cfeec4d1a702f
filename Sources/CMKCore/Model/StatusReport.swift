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
    /// A cause this check shares with others (no sign-in, an endpoint out of reach): cmk says it
    /// and its fix once, above the checks, and marks each check it affects with its label.
    public var cause: CheckCause?
    /// When what this check is about stops working, in seconds since 1970 (UTC): a key's expiry
    /// date (`key-expiry` on Azure). Absent when it never expires or the check does not know.
    /// Optional on the wire: providers that do not send it, and hosts that do not read it, work as before.
    public var expires: Int?

    public init(
        id: String,
        state: CheckState,
        summary: String,
        remediation: String? = nil,
        evidence: [String]? = nil,
        cause: CheckCause? = nil,
        expires: Int? = nil
    ) {
        self.id = id
        self.state = state
        self.summary = summary
        self.remediation = remediation
        self.evidence = evidence
        self.cause = cause
        self.expires = expires
    }
}

/// Why several checks could not be determined, said once: what is wrong and how to fix it.
///
/// Checks with the same `id` share one cause; their own `summary` then says what the cause
/// kept from them, and their `remediation` only what is particular to them.
public struct CheckCause: Codable, Sendable, Equatable, Hashable {
    /// Stable, for grouping and scripts: `sign-in`, `sign-in-failed`, `unreachable`, `wrong-tenant`.
    public var id: String
    /// A short mark for the checks it affects: `needs sign-in`, `endpoint unreachable`.
    public var label: String
    /// What is wrong, in one line.
    public var summary: String
    /// The fix.
    public var remediation: String?

    public init(id: String, label: String, summary: String, remediation: String? = nil) {
        self.id = id
        self.label = label
        self.summary = summary
        self.remediation = remediation
    }
}

/// A provider's answer to `status`.
public struct StatusReport: Codable, Sendable, Equatable {
    public var checks: [Check]
    /// Which credential the provider used for live checks, if any (never the secret itself).
    public var credential: String?
    /// The key the report is about, as the provider names it (Azure: the key identifier URI).
    /// Confirmed manual steps (`cmk confirm`) are tied to it, and the CI formats name it as the
    /// location. Optional on the wire, like `expires`.
    public var key: String?

    public init(checks: [Check], credential: String? = nil, key: String? = nil) {
        self.checks = checks
        self.credential = credential
        self.key = key
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
    /// How the admin ran cmk (`cmk`, or a path such as `.build/release/cmk`): hints that name a
    /// cmk command use it, so that they work when pasted.
    public var command: String?
    /// The config file cmk reads (it may not exist yet): hints that name it use this path.
    public var configPath: String?

    public init(
        platform: Detection? = nil,
        options: [String: String] = [:],
        deadlineMilliseconds: Int = 20_000,
        command: String? = nil,
        configPath: String? = nil
    ) {
        self.platform = platform
        self.options = options
        self.deadlineMilliseconds = deadlineMilliseconds
        self.command = command
        self.configPath = configPath
    }
}
