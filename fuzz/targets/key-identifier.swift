// Fuzz target: Plugins/Azure/KeyIdentifier.swift, the key URI every Azure check starts from.
//
// Invariants, for any input:
// - an accepted identifier's canonical `uri` parses again to the same identifier, and is a fixpoint
//   (parse(uri).uri == uri): what cmk prints and puts in the ticket is a valid key identifier;
// - the parts obey the documented rules (vault name 3-24 lowercase ASCII letters, digits, single
//   hyphens; key name 1-127; version nil or 32 lowercase hex), and the host is the vault name plus
//   the cloud's suffix;
// - an accepted input is ASCII: what cmk calls is what the admin typed, up to ASCII letter case
//   (no Unicode case folding turning a look-alike into another vault's name);
// - letter case of the scheme and host, an explicit :443, the version's case and one trailing
//   slash do not change the result;
// - a refusal has a reason and a description that names it.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzKeyIdentifier(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let text = String(decoding: fuzzBytes(data, size), as: UTF8.self)
    let key: KeyIdentifier
    do {
        key = try KeyIdentifier(parsing: text)
    } catch {
        check(!error.reason.isEmpty, "a refusal without a reason for \(shown(text))")
        check(error.description.contains(error.reason), "the description drops the reason")
        return 0
    }
    let input = text.trimmingWhitespace()
    check(input.unicodeScalars.allSatisfy(\.isASCII), "accepted a non-ASCII identifier \(shown(input)) as \(shown(key.uri))")

    // The canonical form parses back to the same thing and is a fixpoint.
    let again: KeyIdentifier
    do { again = try KeyIdentifier(parsing: key.uri) } catch {
        check(false, "canonical uri \(shown(key.uri)) of \(shown(text)) is refused: \(error)")
        return 0
    }
    check(again == key, "parse(uri) differs for \(shown(text)): \(again) vs \(key)")
    check(again.uri == key.uri, "uri is not a fixpoint: \(shown(again.uri)) vs \(shown(key.uri))")

    // The parts obey the rules.
    let name = Array(key.vaultName.utf8)
    check((3...24).contains(name.count), "vault name length \(name.count)")
    check(name.allSatisfy { (97...122).contains($0) || (48...57).contains($0) || $0 == 45 }, "vault name \(shown(key.vaultName))")
    check((97...122).contains(name.first!) && name.last! != 45 && !key.vaultName.contains("--"), "vault name form \(shown(key.vaultName))")
    let keyName = Array(key.keyName.utf8)
    check((1...127).contains(keyName.count), "key name length \(keyName.count)")
    check(keyName.allSatisfy { (65...90).contains($0) || (97...122).contains($0) || (48...57).contains($0) || $0 == 45 }, "key name \(shown(key.keyName))")
    if let version = key.version {
        check(version.utf8.count == 32 && version.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }, "version \(shown(version))")
    }
    let suffix = key.store == .vault ? key.cloud.vaultSuffix : key.cloud.managedHSMSuffix
    check(key.host == key.vaultName + "." + suffix, "host \(shown(key.host))")
    check(key.uri.hasPrefix("https://" + key.host + "/keys/" + key.keyName), "uri \(shown(key.uri))")

    // Letter case of scheme and host, an explicit :443, the version's case, a trailing slash: same key.
    let variant =
        "HTTPS://" + key.host.uppercased() + ":443/keys/" + key.keyName + (key.version.map { "/" + $0.uppercased() } ?? "") + "/"
    do {
        let parsed = try KeyIdentifier(parsing: variant)
        check(parsed == key, "variant \(shown(variant)) differs")
    } catch {
        check(false, "variant \(shown(variant)) refused: \(error)")
    }
    return 0
}
