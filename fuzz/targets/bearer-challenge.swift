// Fuzz target: Plugins/Azure/HTTP/BearerChallenge.swift, Key Vault's WWW-Authenticate header.
//
// Invariants:
// - parse → write → parse is identity: an accepted header, written back as
//   `Bearer authorization="…", resource="…"`, reads back to the same authorization and resource;
// - the tenant, when there is one, is the last segment of the authorization URL's path, never
//   its scheme or host (`https://login.microsoftonline.com` names no tenant);
// - generated headers (from the input's bytes: an authorization and a resource without commas,
//   in either parameter order, quoted or not, `authorization_uri`, `scope=…/.default`, any letter
//   case of the scheme and names, extra parameters) read back to exactly what was put in.

func written(_ challenge: BearerChallenge) -> String {
    var parameters: [String] = []
    if let authorization = challenge.authorization { parameters.append("authorization=\"\(authorization)\"") }
    if let resource = challenge.resource { parameters.append("resource=\"\(resource)\"") }
    if parameters.isEmpty { parameters.append("realm=\"\"") }
    return "Bearer " + parameters.joined(separator: ", ")
}

/// True when `value` keeps its Characters when put between quotes (no combining mark at either end).
func quotable(_ value: String) -> Bool { ("=\"" + value + "\",").count == value.count + 4 }

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzBearerChallenge(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = fuzzBytes(data, size)
    let text = String(decoding: bytes, as: UTF8.self)

    if let challenge = BearerChallenge(header: text) {
        if let tenant = challenge.tenant, let authorization = challenge.authorization {
            // The last segment of the URL's path: never the scheme or the host.
            let afterScheme = authorization[authorization.firstRange(of: "://")!.upperBound...]
            let path = afterScheme.firstIndex(of: "/").map { afterScheme[$0...] } ?? ""
            check(
                !tenant.isEmpty && path.split(separator: "/").last.map(String.init) == tenant,
                "tenant \(shown(tenant)) is not the last path segment of \(shown(authorization))"
            )
        }
        if [challenge.authorization, challenge.resource].allSatisfy({ $0.map(quotable) ?? true }) {
            let header = written(challenge)
            let again = BearerChallenge(header: header)
            check(again == challenge, "parse → write → parse differs for \(shown(text)): \(shown(header)) → \(String(describing: again))")
        }
    }

    // Generated: two values from the input, cleaned of what the format cannot carry.
    let halves = pieces(bytes, separator: 0, limit: 2)
    func value(_ raw: [UInt8]) -> String {
        String(decoding: raw, as: UTF8.self).filter { $0 != "," && $0 != "\"" }.trimmingWhitespace()
    }
    let authorization = value(halves[0])
    let resource = value(halves.count > 1 ? halves[1] : [])
    guard quotable(authorization), quotable(resource), !resource.hasSuffix("/.default") else { return 0 }
    let flags = bytes.first ?? 0
    let quote = flags & 1 == 0 ? "\"" : ""
    let authName = flags & 2 == 0 ? "authorization" : "Authorization_URI"
    let resourcePart = flags & 4 == 0 ? "resource=\(quote)\(resource)\(quote)" : "SCOPE=\(quote)\(resource)/.default\(quote)"
    var parts = ["\(authName)=\(quote)\(authorization)\(quote)", resourcePart]
    if flags & 8 != 0 { parts.reverse() }
    if flags & 16 != 0 { parts.insert("error=\"invalid_token\"", at: 1) }
    let scheme = flags & 32 == 0 ? "Bearer" : "BEARER"
    let header = "  \(scheme) " + parts.joined(separator: flags & 64 == 0 ? ", " : ",") + " "
    guard let parsed = BearerChallenge(header: header) else {
        check(false, "generated header \(shown(header)) refused")
        return 0
    }
    check(parsed.authorization == authorization, "authorization \(shown(parsed.authorization ?? "nil")) for \(shown(header))")
    check(parsed.resource == resource, "resource \(shown(parsed.resource ?? "nil")) for \(shown(header))")
    return 0
}
