/// A cloud's customer-managed-key provider: detects its platform and reports CMK status.
///
/// Implement this in a library target built as a dynamic library, and export it with one line:
///
/// ```swift
/// @_cdecl("cmk_provider_entry")
/// public func cmk_provider_entry() -> UnsafeRawPointer { exportProvider(MyCloudProvider.self) }
/// ```
///
/// `cmk` never links a provider: it loads the library with `dlopen` and speaks to it through the
/// C ABI in `cmk_plugin.h`; ``exportProvider(_:)`` bridges that ABI to this protocol.
public protocol CloudKeyProvider: Sendable {
    /// Short lowercase identifier, unique among providers (`aws`, `azure`); what `--provider` takes.
    static var name: String { get }
    /// The provider's own version.
    static var version: String { get }
    /// One line for `cmk providers`.
    static var summary: String { get }
    /// Options this provider reads, offered by `cmk status` as `--<name> VALUE`.
    static var options: [ProviderOption] { get }

    init()

    /// Decides from local signals whether this machine runs on the provider's platform.
    ///
    /// Must not touch the network unless there is a local hit to confirm or `request.probe` is set,
    /// so that off-cloud detection never waits on a timeout.
    ///
    /// Runs on the host's thread until its first suspension (that is what keeps an off-cloud start
    /// on one thread), so it must not block: a network probe or any slow work is awaited, never
    /// waited for in place. A detection that blocks holds up cmk until it returns, past its deadline.
    func detect(_ request: DetectionRequest) async -> Detection

    /// Reports where the organisation stands, one ``Check`` per step.
    ///
    /// A failing step is a check with a state, not an error; throw only when no report can be made
    /// (for example ``ProviderError/usage(_:)`` for a malformed option).
    func status(_ request: StatusRequest) async throws -> StatusReport

    /// The text to paste into the vendor's support ticket, when the platform needs one.
    func ticket(_ request: StatusRequest) async throws -> String
}

extension CloudKeyProvider {
    public static var options: [ProviderOption] { [] }

    public func ticket(_ request: StatusRequest) async throws -> String {
        throw ProviderError.unsupported("the \(Self.name) provider needs no support ticket")
    }
}

/// An option a provider reads, resolved by the host from a flag, the environment or the config file.
public struct ProviderOption: Codable, Sendable, Equatable {
    /// Flag name without dashes (`key-uri`), also the key in the provider's config section.
    public var name: String
    /// Environment variable that sets it, if any (`CMK_AZURE_KEY_URI`).
    public var environment: String?
    /// Placeholder shown in help (`URI`).
    public var valueName: String
    /// One line of help.
    public var help: String

    public init(name: String, environment: String? = nil, valueName: String = "VALUE", help: String) {
        self.name = name
        self.environment = environment
        self.valueName = valueName
        self.help = help
    }
}
