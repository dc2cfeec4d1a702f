import CMKCore

/// Where a bearer token (or a client secret) may go: the one rule, written once.
///
/// A token is only sent over https to a host of the selected cloud that matches its audience;
/// a Key Vault token goes to a vault only when the vault's 401 challenge names a resource whose
/// domain the vault host belongs to (the Azure SDKs' challenge resource verification), so a
/// look-alike host or a forged challenge never receives one. The scheme check alone is relaxed
/// when `CMK_ENDPOINT_OVERRIDE` sends everything to loopback; the hosts are still checked on the
/// original URL.
enum TokenPolicy {
    enum Audience: Sendable, Equatable {
        /// The cloud's sign-in host (client secrets, client assertions).
        case login
        case management
        case graph
        /// A vault or Managed HSM, with the `resource` its 401 challenge named.
        case keyVault(challengeResource: String)
    }

    enum Verdict: Sendable, Equatable {
        case allowed
        case refused(String)
    }

    static func verdict(url: String, audience: Audience, cloud: AzureCloud, overrideActive: Bool) -> Verdict {
        guard let parts = try? URLParts(parsing: url) else { return .refused("'\(url)' is not a URL") }
        guard parts.scheme == "https" || overrideActive else { return .refused("\(parts.host) is not https") }
        guard parts.port == 443 else { return .refused("port \(parts.port) is not https's 443") }
        let host = parts.host
        switch audience {
        case .login:
            return host == cloud.loginHost ? .allowed : .refused("\(host) is not \(cloud.loginHost)")
        case .management:
            return host == cloud.managementHost ? .allowed : .refused("\(host) is not \(cloud.managementHost)")
        case .graph:
            return host == cloud.graphHost ? .allowed : .refused("\(host) is not \(cloud.graphHost)")
        case .keyVault(let resource):
            guard host.hasSuffix("." + cloud.vaultSuffix) || host.hasSuffix("." + cloud.managedHSMSuffix) else {
                return .refused("\(host) is not a Key Vault host of the \(cloud.displayName)")
            }
            guard let resourceHost = try? URLParts(parsing: resource).host else {
                return .refused("the challenge names no usable resource ('\(resource)')")
            }
            guard host.hasSuffix("." + resourceHost) else {
                return .refused("the challenge names resource \(resource), whose domain does not hold \(host)")
            }
            return .allowed
        }
    }
}
