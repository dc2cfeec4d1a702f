/// What remediations are filled in with: the real names and ids known so far.
struct CheckContext: Sendable {
    let cloud: AzureCloud
    let key: KeyIdentifier?
    let vaultID: VaultResourceID?
    let tenant: String?
    /// How the admin runs cmk (`cmk`, or `.build/release/cmk`), for hints they can paste.
    var command = "cmk"
    /// The config file cmk read or would read, for hints that name it.
    var configPath = "~/.config/cmk/config"

    var vaultName: String { key?.vaultName ?? "<vault>" }
    var keyName: String { key?.keyName ?? "<key>" }
    var resourceGroup: String { vaultID?.resourceGroup ?? "<resource-group>" }
    var vaultScope: String { vaultID?.path ?? VaultResourceID.example }
    /// `--vault-name contoso-cmk` or `--hsm-name contoso-hsm`, for `az keyvault key …`.
    var storeFlag: String { key?.store == .managedHSM ? "--hsm-name \(vaultName)" : "--vault-name \(vaultName)" }
    /// ` --version V` for a pinned identifier: a fix without it would change the latest version,
    /// not the one the vendor uses.
    var versionFlag: String { key?.version.map { " --version \($0)" } ?? "" }
    var isHSM: Bool { key?.store == .managedHSM }
    /// A Managed HSM refuses `--kty RSA`: its keys are `RSA-HSM`.
    func createKey(_ name: String) -> String {
        "az keyvault key create \(storeFlag) --name \(name) --kty \(isHSM ? "RSA-HSM" : "RSA") --size 3072"
    }
    var consentURL: String { VendorApp.consentURL(cloud: cloud, tenant: tenant) }
}
