import FoundationEssentials
import Synchronization

/// Issues bearer tokens and checks them: a token is valid only for the audience it was issued for.
///
/// Tokens look like Entra's (three base64url parts, claims `aud`, `tid`, `oid`, `idtyp`), so the
/// provider's claim reading is exercised; validity is membership in what this process issued.
final class TokenIssuer: Sendable {
    struct Issued: Sendable {
        var audience: String
        var isUser: Bool
    }

    private let issued = Mutex<[String: Issued]>([:])
    private let counter = Atomic<Int>(0)

    /// `lifetime`: seconds from now to the `exp` claim (a scenario's `tokenLifetime`); else 2100-01-01.
    func issue(audience: String, tenant: String, objectID: String, isUser: Bool, lifetime: Int? = nil) -> String {
        let audience = Self.normalised(audience)
        let serial = counter.add(1, ordering: .relaxed).newValue
        let expires = lifetime.map { Double(Int(Date().timeIntervalSince1970) + $0) } ?? 4_102_444_800
        var claims: [String: JSONValue] = [
            "aud": .string(audience), "tid": .string(tenant), "oid": .string(objectID),
            "idtyp": .string(isUser ? "user" : "app"), "iat": .number(1_700_000_000), "exp": .number(expires),
            "jti": .string("emulator-\(serial)-\(UInt64.random(in: 0...UInt64.max))"),
        ]
        if isUser { claims["scp"] = .string("user_impersonation") }
        let header = JSONValue.object(["typ": .string("JWT"), "alg": .string("RS256"), "kid": .string("emulator")])
        let signature = (0..<32).map { _ in UInt8.random(in: 0...255) }
        let token = [
            Self.base64URL(Array(header.text.utf8)), Self.base64URL(Array(JSONValue.object(claims).text.utf8)),
            Self.base64URL(signature),
        ].joined(separator: ".")
        issued.withLock { $0[token] = Issued(audience: audience, isUser: isUser) }
        return token
    }

    /// The token of an `Authorization: Bearer …` header, if this emulator issued it for `audience`.
    func validate(_ authorization: String?, audience: String) -> Issued? {
        guard let authorization, authorization.hasPrefix("Bearer ") else { return nil }
        let token = String(authorization.dropFirst(7))
        guard let found = issued.withLock({ $0[token] }), found.audience == Self.normalised(audience) else {
            return nil
        }
        return found
    }

    private static func normalised(_ audience: String) -> String {
        audience.hasSuffix("/") ? String(audience.dropLast()) : audience
    }

    static func base64URL(_ bytes: [UInt8]) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        var output = ""
        var index = 0
        while index < bytes.count {
            let chunk = Array(bytes[index..<min(index + 3, bytes.count)])
            let value = chunk.enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (16 - 8 * UInt32($1.offset)) }
            for position in 0...chunk.count {
                output.append(alphabet[Int((value >> (18 - 6 * UInt32(position))) & 63)])
            }
            index += 3
        }
        return output
    }
}
