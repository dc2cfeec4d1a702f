/// A provider's verdict on whether this machine runs on its platform, with the evidence.
public struct Detection: Codable, Sendable, Equatable {
    public enum Strength: String, Codable, Sendable, Comparable {
        /// No sign of the platform.
        case none
        /// A hint that alone does not decide (an environment variable that laptops set too).
        case weak
        /// A signal only this platform produces (a DMI tag, a metadata answer).
        case strong

        private var rank: Int { self == .none ? 0 : self == .weak ? 1 : 2 }
        public static func < (lhs: Strength, rhs: Strength) -> Bool { lhs.rank < rhs.rank }
    }

    public var strength: Strength
    /// Human name of what was found (`Amazon EC2 (Nitro)`, `Azure (US Government)`).
    public var platform: String?
    /// Signals that support the verdict, one line each, naming their source.
    public var evidence: [String]
    /// Signals that were looked at and did not count, and why.
    public var rejected: [String]
    /// Facts learned on the way (`region`, `account`, `cloud`), passed back to `status`.
    public var details: [String: String]

    public init(
        strength: Strength,
        platform: String? = nil,
        evidence: [String] = [],
        rejected: [String] = [],
        details: [String: String] = [:]
    ) {
        self.strength = strength
        self.platform = platform
        self.evidence = evidence
        self.rejected = rejected
        self.details = details
    }

    public static func none(rejected: [String] = []) -> Detection { Detection(strength: .none, rejected: rejected) }
}

/// What a provider's `detect` is given.
public struct DetectionRequest: Codable, Sendable, Equatable {
    public var snapshot: PlatformSnapshot
    /// The user asked for instance-metadata probes even without a local hit (`cmk detect --probe`).
    public var probe: Bool

    public init(snapshot: PlatformSnapshot, probe: Bool = false) {
        self.snapshot = snapshot
        self.probe = probe
    }
}
