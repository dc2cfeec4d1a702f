/// What remediations are filled in with: the real names and ids known so far.
struct CheckContext: Sendable {
    let cloud: AzureCloud
    let key: KeyIdentifier?
    let vaultID: VaultResourceID?
    let tenant: String?

    var vaultName: String { key?.vaultName ?? "<vault>" }
    var keyName: String { key?.keyName ?? "<key>" }
    var resourceGroup: String { vaultID?.resourceGroup ?? "<resource-group>" }
    var vaultScope: String { vaultID?.path ?? VaultResourceID.example }
    /// `--vault-name contoso-cmk` or `--hsm-name contoso-hsm`, for `az keyvault key …`.
    var storeFlag: String { key?.store == .managedHSM ? "--hsm-name \(vaultName)" : "--vault-name \(vaultName)" }
    var consentURL: String { VendorApp.consentURL(cloud: cloud, tenant: tenant) }
}
