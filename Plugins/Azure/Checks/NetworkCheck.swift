import CMKCore

/// vault-network: whether the vault's network gates let the vendor's service reach the key.
///
/// `publicNetworkAccess` and the firewall (`networkAcls`) are two independent gates. The vendor's
/// service reaches the key as a trusted Microsoft service, which passes the firewall, and a
/// vault whose public access is disabled, only with `bypass` AzureServices.
enum NetworkCheck {
    /// Adobe's AEP guide for the same application lists this address for its key-access monitoring.
    static let monitoringAddress = "20.88.123.53"

    static func evaluate(
        _ vault: Result<ARMVault, CallFailure>,
        dataPlaneFirewalled: Bool,
        _ context: CheckContext
    ) -> Check {
        let id = CheckID.vaultNetwork.rawValue
        let properties: ARMVault.Properties
        switch vault {
        case .success(let value): properties = value.properties
        case .failure(let failure):
            return StaticChecks.unknown(.vaultNetwork, "Cannot read the vault's network settings: \(failure.reason)")
        }
        let acls = properties.networkAcls
        let publicAccess = properties.publicNetworkAccess ?? "Enabled"
        let publicOff = publicAccess.lowercased() == "disabled"
        let firewallOn = acls?.defaultAction?.lowercased() == "deny"
        let bypass = acls?.bypass ?? "None"
        let trusted = bypass.split(separator: ",").contains { (part: Substring) in
            String(part).trimmingWhitespace().lowercased() == "azureservices"
        }
        var evidence = [
            "publicNetworkAccess \(properties.publicNetworkAccess ?? "absent (enabled)")",
            "networkAcls defaultAction \(acls?.defaultAction ?? "absent (Allow)"), bypass \(acls?.bypass ?? "absent"), "
                + "\(acls?.ipRules?.count ?? 0) IP rule(s), \(acls?.virtualNetworkRules?.count ?? 0) virtual network "
                + "rule(s)",
            "\(properties.privateEndpointConnections?.count ?? 0) private endpoint connection(s)",
        ]
        if dataPlaneFirewalled {
            evidence.append(
                "the data plane answered cmk 403 ForbiddenByFirewall: that is cmk's own address being blocked, not "
                    + "the vendor's; the key was read from the management plane"
            )
        }
        let advice =
            "Advice (not a requirement): the vendor's AEP guide for the same application also lists "
            + "\(monitoringAddress) for its key-access monitoring; add it with az keyvault network-rule add --name "
            + "\(context.vaultName) --resource-group \(context.resourceGroup) --ip-address \(monitoringAddress)"
        guard publicOff || firewallOn else {
            return Check(
                id: id,
                state: .ok,
                summary: "The vault accepts connections from all networks",
                evidence: evidence
            )
        }
        let gate = publicOff ? "public network access is disabled" : "the firewall denies by default"
        guard trusted else {
            return Check(
                id: id,
                state: .actionRequired,
                summary: "The vault's \(gate) and trusted Microsoft services may not bypass it: the vendor's service "
                    + "cannot reach the key",
                remediation: "az keyvault update --name \(context.vaultName) --resource-group "
                    + "\(context.resourceGroup) --bypass AzureServices. \(advice)",
                evidence: evidence
            )
        }
        return Check(
            id: id,
            state: .ok,
            summary: "The vault's \(gate), and trusted Microsoft services (the vendor's service) bypass it",
            remediation: advice,
            evidence: evidence
        )
    }
}
