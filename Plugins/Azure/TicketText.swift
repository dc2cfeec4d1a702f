/// The text of the vendor's support ticket: what step 5 of the procedure asks to send.
///
/// `cmk ticket` prints it and the `support-ticket` check carries it, so both say the same.
enum TicketText {
    static func make(key: KeyIdentifier, tenant: String?) -> String {
        var lines = [
            "Subject: Customer-managed key (CMK) for Customer Journey Analytics on Azure",
            "",
            "Please apply customer-managed keys to our organisation's data with this key:",
            "",
            "Key identifier: \(key.uri)",
            "\(key.store == .vault ? "Key vault" : "Managed HSM"): \(key.vaultName) (\(key.vaultURL))",
            "Azure cloud: \(key.cloud.displayName) (\(key.cloud.environmentName))",
        ]
        if let tenant { lines.append("Microsoft Entra tenant: \(tenant)") }
        lines.append("Application granted access to the key: \(VendorApp.applicationID)")
        return lines.joined(separator: "\n")
    }
}
