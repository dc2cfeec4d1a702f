/// The ARM id of a vault: `/subscriptions/{s}/resourceGroups/{g}/providers/Microsoft.KeyVault/vaults/{v}`.
///
/// Given with `--vault-resource-id`, it skips the search through subscriptions (one call instead
/// of two rounds); found by the search, it gives the resource group the remediations need.
struct VaultResourceID: Sendable, Equatable {
    let subscriptionID: String
    let resourceGroup: String
    /// `vaults` or `managedHSMs`.
    let resourceKind: String
    let name: String

    var path: String {
        "/subscriptions/\(subscriptionID)/resourceGroups/\(resourceGroup)"
            + "/providers/Microsoft.KeyVault/\(resourceKind)/\(name)"
    }

    /// Parses an id in any letter case (ARM ids are case-insensitive); nil when it is not a vault id.
    init?(_ text: String) {
        let parts = text.trimmingWhitespace().split(separator: "/").map(String.init)
        guard parts.count == 8,
            parts[0].lowercased() == "subscriptions", parts[2].lowercased() == "resourcegroups",
            parts[4].lowercased() == "providers", parts[5].lowercased() == "microsoft.keyvault",
            ["vaults", "managedhsms"].contains(parts[6].lowercased()),
            // Azure's names: letters, digits, '.', '_', '-', '(' and ')'. Nothing that a URL would
            // read differently ('#', '?', '%2F..') or a terminal would act on (ESC).
            parts.allSatisfy({ part in
                !part.isEmpty && part != "." && part != ".."
                    && part.allSatisfy { $0.isLetter || $0.isNumber || "._-()".contains($0) }
                    && part.unicodeScalars.allSatisfy { $0.value >= 0x20 && !(0x7F...0x9F).contains($0.value) }
            })
        else { return nil }
        subscriptionID = parts[1]
        resourceGroup = parts[3]
        resourceKind = parts[6].lowercased() == "vaults" ? "vaults" : "managedHSMs"
        name = parts[7]
    }

    static let example =
        "/subscriptions/<subscription id>/resourceGroups/<group>/providers/Microsoft.KeyVault/vaults/<vault>"
}
