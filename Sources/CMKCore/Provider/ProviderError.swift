/// An error a provider returns instead of a report; travels across the ABI as `{"error": {code, message}}`.
///
/// Equality is by code: tests assert on the code, people read the message.
public struct ProviderError: Error, Sendable, Codable, Equatable, CustomStringConvertible {
    public struct Code: RawRepresentable, Codable, Sendable, Hashable {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }

        /// The user's input was wrong (exit 64).
        public static let usage = Code(rawValue: "usage")
        /// The provider does not implement this operation.
        public static let unsupported = Code(rawValue: "unsupported")
        /// The message could not be understood.
        public static let badRequest = Code(rawValue: "bad-request")
        /// Anything else.
        public static let failed = Code(rawValue: "failed")
    }

    public var code: Code
    public var message: String

    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    public static func usage(_ message: String) -> ProviderError { .init(code: .usage, message: message) }
    public static func unsupported(_ message: String) -> ProviderError { .init(code: .unsupported, message: message) }
    public static func failed(_ message: String) -> ProviderError { .init(code: .failed, message: message) }

    public var description: String { message }

    public static func == (lhs: ProviderError, rhs: ProviderError) -> Bool { lhs.code == rhs.code }
}
