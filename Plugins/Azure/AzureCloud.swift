/// One Azure cloud and the hosts that belong to it.
///
/// A key identifier's DNS suffix names its cloud, and every host cmk talks to (and every host a
/// token may go to) follows from that choice, so the whole provider reads hosts from here.
struct AzureCloud: Sendable, Equatable {
    /// The name instance metadata uses in `compute.azEnvironment` (`AzurePublicCloud`).
    let environmentName: String
    /// For people: `public cloud`, `US Government`, `China`.
    let displayName: String
    let loginHost: String
    let managementHost: String
    let graphHost: String
    let vaultSuffix: String
    let managedHSMSuffix: String

    static let publicCloud = AzureCloud(
        environmentName: "AzurePublicCloud",
        displayName: "public cloud",
        loginHost: "login.microsoftonline.com",
        managementHost: "management.azure.com",
        graphHost: "graph.microsoft.com",
        vaultSuffix: "vault.azure.net",
        managedHSMSuffix: "managedhsm.azure.net"
    )
    static let usGovernment = AzureCloud(
        environmentName: "AzureUSGovernmentCloud",
        displayName: "US Government",
        loginHost: "login.microsoftonline.us",
        managementHost: "management.usgovcloudapi.net",
        graphHost: "graph.microsoft.us",
        vaultSuffix: "vault.usgovcloudapi.net",
        managedHSMSuffix: "managedhsm.usgovcloudapi.net"
    )
    static let china = AzureCloud(
        environmentName: "AzureChinaCloud",
        displayName: "China",
        loginHost: "login.chinacloudapi.cn",
        managementHost: "management.chinacloudapi.cn",
        graphHost: "microsoftgraph.chinacloudapi.cn",
        vaultSuffix: "vault.azure.cn",
        managedHSMSuffix: "managedhsm.azure.cn"
    )

    static let all: [AzureCloud] = [.publicCloud, .usGovernment, .china]

    /// The cloud instance metadata names, compared case-insensitively as Azure's SDKs do.
    static func named(_ environmentName: String) -> AzureCloud? {
        all.first { $0.environmentName.lowercased() == environmentName.lowercased() }
    }

    /// `Azure (public cloud)`, the platform name shown by `cmk status`.
    var platformName: String { "Azure (\(displayName))" }

    /// The ARM resource (token audience) of this cloud.
    var managementResource: String { "https://\(managementHost)" }
    var graphResource: String { "https://\(graphHost)" }
    /// The audience Key Vault's challenge names for ordinary vaults.
    var vaultResource: String { "https://\(vaultSuffix)" }
    var managedHSMResource: String { "https://\(managedHSMSuffix)" }
}
