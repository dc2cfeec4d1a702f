import CMKCore
import FoundationEssentials

/// A bearer token and what it was issued for; it never prints itself.
///
/// `description` is redacted so that a token interpolated by mistake into a message, a log line
/// or JSON shows nothing; the value is read only where the Authorization header is built.
struct AccessToken: Sendable, CustomStringConvertible {
    let value: String
    /// The audience it was requested for (`https://management.azure.com`).
    let resource: String

    var description: String { "<access token for \(resource), redacted>" }

    /// The unverified claims of a JWT access token (nil for an opaque token).
    ///
    /// Read only to tell a user from an application and to learn the tenant: the services that
    /// receive the token verify it, cmk does not need to.
    var claims: TokenClaims? {
        let parts = value.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let payload = Base64URL.decode(parts[1]), JSONNesting.isShallow(payload) else { return nil }
        return try? JSONDecoder().decode(TokenClaims.self, from: Data(payload))
    }
}

/// The claims of an access token that the checks use.
struct TokenClaims: Decodable, Sendable {
    /// `app` for an application-only token, `user` for a person (optional claim, usually present).
    var idtyp: String?
    /// Delegated scopes: only a person's token has them.
    var scp: String?
    /// The tenant that issued it: names the tenant in the consent URL when nothing else did.
    var tid: String?
    /// The signed-in object's id: whose directory roles to read.
    var oid: String?
    /// When the token expires, in seconds since 1970: how long ``SignInCache`` may keep it.
    /// A number, as JWT's NumericDate (read as a Double, so that a fraction cannot void the claims).
    var exp: Double?

    var isApplication: Bool { idtyp == "app" || (idtyp == nil && scp == nil) }
}
