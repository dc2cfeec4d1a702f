// Fuzz target: Plugins/Azure/Support/Base64URL.swift and the token claims of
// Plugins/Azure/Credentials/AccessToken.swift, against Foundation's base64 and JSONDecoder.
//
// Invariants:
// - encode → decode is identity: Foundation's base64 of the input, padded or not, in the standard
//   or the URL alphabet, decodes to the input;
// - agreement: any canonical base64 text that Foundation's Data(base64Encoded:) accepts decodes
//   to the same bytes;
// - bitLength agrees with a bit-by-bit count;
// - a JWT whose payload is the input's base64url has exactly the claims JSONDecoder reads from
//   the input, and a token with other than three parts has none; the token's description never
//   shows its value.
import Foundation

func urlAlphabet(_ text: String, padded: Bool) -> String {
    let mapped = text.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
    return padded ? mapped : mapped.replacingOccurrences(of: "=", with: "")
}

extension TokenClaims: Equatable {
    public static func == (a: TokenClaims, b: TokenClaims) -> Bool {
        a.idtyp == b.idtyp && a.scp == b.scp && a.tid == b.tid && a.oid == b.oid
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzBase64URLClaims(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = fuzzBytes(data, size)
    let standard = Data(bytes).base64EncodedString()
    for form in [standard, urlAlphabet(standard, padded: true), urlAlphabet(standard, padded: false)] {
        check(Base64URL.decode(form) == bytes, "decode(\(shown(form))) is not the input")
    }

    // Any text Foundation accepts decodes to the same bytes.
    let text = String(decoding: bytes, as: UTF8.self)
    // (Canonical text only: Foundation is lenient in its own ways about misplaced padding.)
    if let foundation = Data(base64Encoded: text), foundation.base64EncodedString() == text {
        check(Base64URL.decode(text) == Array(foundation), "Foundation and Base64URL differ on \(shown(text))")
    }
    if let decoded = Base64URL.decode(text) {
        check(decoded.count <= text.utf8.count * 3 / 4, "\(decoded.count) bytes from \(text.utf8.count) characters")
    }

    var bits = 0
    for (index, byte) in bytes.enumerated() where byte != 0 {
        bits = (bytes.count - index) * 8 - byte.leadingZeroBitCount
        break
    }
    check(Base64URL.bitLength(bytes) == bits, "bitLength \(Base64URL.bitLength(bytes)) vs \(bits)")

    // Claims: the input as a JWT payload.
    let payload = urlAlphabet(standard, padded: false)
    let token = AccessToken(value: "eyJhbGciOiJSUzI1NiJ9.\(payload).c2ln", resource: "https://vault.azure.net")
    let expected = try? JSONDecoder().decode(TokenClaims.self, from: Data(bytes))
    check(token.claims == expected, "claims \(String(describing: token.claims)) vs JSONDecoder \(String(describing: expected))")
    if let claims = token.claims {
        check(claims.isApplication == (claims.idtyp == "app" || (claims.idtyp == nil && claims.scp == nil)), "isApplication")
    }
    // The raw input as a token: three parts or no claims; never shown.
    let raw = AccessToken(value: text, resource: "r")
    if text.split(separator: ".", omittingEmptySubsequences: false).count != 3 {
        check(raw.claims == nil, "claims from a token of other than three parts: \(shown(text))")
    }
    if text.utf8.count >= 12 {
        // (firstRange: Foundation's contains(_:) stops at a NUL.)
        check(raw.description.firstRange(of: text) == nil && "\(raw)".firstRange(of: text) == nil, "the description shows the token")
    }
    return 0
}
