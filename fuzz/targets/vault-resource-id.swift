// Fuzz target: Plugins/Azure/VaultResourceID.swift, `--vault-resource-id`.
//
// Invariants:
// - parse → path → parse is identity, and the path is a fixpoint;
// - the parts are well formed: non-empty, without '/', '?', '#', '%', '\\', space or control
//   characters (which would change the URL they go into, or the terminal), the kind `vaults` or
//   `managedHSMs`, and the path is the documented shape with those parts;
// - ARM ids are case-insensitive: the fixed segments in any letter case give the same id.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzVaultResourceID(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let text = String(decoding: fuzzBytes(data, size), as: UTF8.self)
    guard let id = VaultResourceID(text) else { return 0 }
    for part in [id.subscriptionID, id.resourceGroup, id.name] {
        check(
            !part.isEmpty && !part.unicodeScalars.contains { $0.value <= 0x20 || $0.value == 0x7f || "/?#%\\".unicodeScalars.contains($0) },
            "part \(shown(part)) of \(shown(text))"
        )
    }
    check(id.resourceKind == "vaults" || id.resourceKind == "managedHSMs", "kind \(shown(id.resourceKind))")
    check(
        id.path == "/subscriptions/\(id.subscriptionID)/resourceGroups/\(id.resourceGroup)/providers/Microsoft.KeyVault/\(id.resourceKind)/\(id.name)",
        "path \(shown(id.path))"
    )
    guard let again = VaultResourceID(id.path) else {
        check(false, "the path \(shown(id.path)) of \(shown(text)) is refused")
        return 0
    }
    check(again == id && again.path == id.path, "parse(path) differs for \(shown(text)): \(again) vs \(id)")
    let shouted =
        "/SUBSCRIPTIONS/\(id.subscriptionID)/RESOURCEGROUPS/\(id.resourceGroup)/PROVIDERS/MICROSOFT.KEYVAULT/\(id.resourceKind.uppercased())/\(id.name)"
    check(VaultResourceID(shouted) == id, "case changes the id: \(shown(shouted))")
    return 0
}
