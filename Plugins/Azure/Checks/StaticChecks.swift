import CMKCore

/// The checks that need no call: the contract, the identifier, the ticket, the confirmation.
enum StaticChecks {
    static func entitlement() -> Check {
        Check(
            id: CheckID.entitlement.rawValue,
            state: .manual,
            summary: "CMK needs the Healthcare Shield or Privacy & Security Shield add-on, with the platform running "
                + "on Azure; no API can confirm it",
            remediation: "Confirm the entitlement and that your organisation's platform runs on Azure with your "
                + "account team"
        )
    }

    static func keyURI(_ key: KeyIdentifier?, configPath: String = "~/.config/cmk/config") -> Check {
        guard let key else {
            return Check(
                id: CheckID.keyURI.rawValue,
                state: .actionRequired,
                summary: "No key identifier was given",
                remediation: "Create an RSA key (2048, 3072 or 4096 bits) in a vault used only for this, then give "
                    + "its Key Identifier with --key-uri URI, or export CMK_AZURE_KEY_URI=URI, or add "
                    + "key-uri = \"URI\" under [azure] in \(configPath) (for example \(KeyIdentifier.example))"
            )
        }
        let version = key.version.map { "version \($0)" } ?? "no version (the latest is used)"
        let store = key.store == .vault ? "vault" : "Managed HSM"
        return Check(
            id: CheckID.keyURI.rawValue,
            state: .ok,
            summary:
                "\(key.uri): \(store) \(key.vaultName), key \(key.keyName), \(version), Azure \(key.cloud.displayName)"
        )
    }

    /// The ticket's text is long and is for pasting: the check points to `cmk ticket`, which prints it.
    static func supportTicket(_ key: KeyIdentifier?, command: String = "cmk") -> Check {
        guard let key else {
            return Check(
                id: CheckID.supportTicket.rawValue,
                state: .manual,
                summary: "The support ticket needs the key identifier (see key-uri)",
                remediation: "Give the key identifier first; then '\(command) ticket' prints the ticket's text"
            )
        }
        return Check(
            id: CheckID.supportTicket.rawValue,
            state: .manual,
            summary: "Open a ticket with the vendor's support that asks for CMK on this key",
            remediation: "Paste what '\(command) ticket --key-uri \(key.uri)' prints (the key identifier, the "
                + "vault and the tenant) into a new support ticket",
            evidence: ["key identifier \(key.uri)"]
        )
    }

    static func vendorConfirmation() -> Check {
        Check(
            id: CheckID.vendorConfirmation.rawValue,
            state: .manual,
            summary: "The vendor's support confirms when CMK is applied to your data",
            remediation: "Wait for support's confirmation on the ticket; until then data stays encrypted with "
                + "the vendor's keys"
        )
    }

    /// A live check that could not run, with why and how to make it run.
    static func unknown(_ id: CheckID, _ reason: String, remediation: String? = nil, cause: CheckCause? = nil) -> Check {
        Check(id: id.rawValue, state: .unknown, summary: reason, remediation: remediation, cause: cause)
    }
}
