/// Why one call gave no usable answer; it becomes the reason of the checks that needed it.
///
/// Only these checks turn `unknown`: the rest of the report stands. Reasons never hold a response
/// body (a token endpoint's body may echo what it was sent), only a status and an error code.
struct CallFailure: Error, Sendable, Equatable, CustomStringConvertible {
    struct Code: Hashable, Sendable {
        fileprivate let name: String
        /// The service answered with an unexpected status (see `status`).
        static let status = Code(name: "status")
        static let timedOut = Code(name: "timed-out")
        static let connection = Code(name: "connection")
        /// The body was not the JSON expected.
        static let malformed = Code(name: "malformed")
        /// The token policy refused to send a token there.
        static let refused = Code(name: "refused")
        /// A credential that cannot work here (not configured, no identity); the chain tries the next.
        static let unavailable = Code(name: "unavailable")
        /// A credential that should work was refused or failed.
        static let signIn = Code(name: "sign-in")
    }

    let code: Code
    let reason: String
    /// The HTTP status, when there was one.
    let status: Int?

    init(_ code: Code, _ reason: String, status: Int? = nil) {
        self.code = code
        self.reason = reason
        self.status = status
    }

    var description: String { reason }

    /// Key Vault's firewall refused the caller (cmk's own address): 403 with `ForbiddenByFirewall`.
    var isFirewall: Bool { status == 403 && reason.contains("ForbiddenByFirewall") }
    static func == (lhs: CallFailure, rhs: CallFailure) -> Bool { lhs.code == rhs.code && lhs.status == rhs.status }
}
