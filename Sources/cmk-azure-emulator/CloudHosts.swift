/// The hosts of one Azure cloud, so that a scenario answers in whichever cloud it is asked.
struct CloudHosts: Sendable {
    let login: String
    let management: String
    let vaultSuffix: String
    let managedHSMSuffix: String

    static let all = [
        CloudHosts(
            login: "login.microsoftonline.com",
            management: "management.azure.com",
            vaultSuffix: "vault.azure.net",
            managedHSMSuffix: "managedhsm.azure.net"
        ),
        CloudHosts(
            login: "login.microsoftonline.us",
            management: "management.usgovcloudapi.net",
            vaultSuffix: "vault.usgovcloudapi.net",
            managedHSMSuffix: "managedhsm.usgovcloudapi.net"
        ),
        CloudHosts(
            login: "login.chinacloudapi.cn",
            management: "management.chinacloudapi.cn",
            vaultSuffix: "vault.azure.cn",
            managedHSMSuffix: "managedhsm.azure.cn"
        ),
    ]

    /// The cloud a host belongs to (public when unknown).
    static func of(_ host: String) -> CloudHosts {
        all.first { cloud in
            host == cloud.login || host == cloud.management || host.hasSuffix("." + cloud.vaultSuffix)
                || host.hasSuffix("." + cloud.managedHSMSuffix)
        } ?? all[0]
    }

    /// The audience a vault host's challenge names: `https://vault.azure.net`.
    static func vaultAudience(_ host: String) -> String {
        let cloud = of(host)
        return host.hasSuffix("." + cloud.managedHSMSuffix)
            ? "https://\(cloud.managedHSMSuffix)" : "https://\(cloud.vaultSuffix)"
    }
}
