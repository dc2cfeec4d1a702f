import CMKCore

/// The provider's options, parsed: a malformed value is a usage error naming the option.
struct AzureOptions: Sendable {
    static let declared: [ProviderOption] = [
        ProviderOption(
            name: "key-uri",
            environment: "CMK_AZURE_KEY_URI",
            valueName: "URI",
            help: "Key Vault key identifier, e.g. \(KeyIdentifier.example)"
        ),
        ProviderOption(
            name: "credential",
            environment: "CMK_AZURE_CREDENTIAL",
            valueName: "KIND",
            help: "Sign-in to use: " + choices + " (default auto)"
        ),
        ProviderOption(
            name: "vault-resource-id",
            environment: "CMK_AZURE_VAULT_RESOURCE_ID",
            valueName: "ID",
            help: "The vault's ARM id; skips searching the subscriptions for it"
        ),
    ]

    /// `auto, cli, …`, joined by hand: the provider is loaded on every cmk start, and
    /// joined(separator:)'s first use there costs a conformance scan.
    private static var choices: String {
        var text = ""
        for choice in CredentialChain.Choice.allCases { text += (text.isEmpty ? "" : ", ") + choice.rawValue }
        return text
    }

    let key: KeyIdentifier?
    let credential: CredentialChain.Choice
    let vaultID: VaultResourceID?

    init(_ options: [String: String]) throws(ProviderError) {
        func value(_ name: String) -> String? {
            options[name].flatMap { $0.trimmingWhitespace().isEmpty ? nil : $0.trimmingWhitespace() }
        }
        do {
            key = try value("key-uri").map { text throws(KeyURIError) in try KeyIdentifier(parsing: text) }
        } catch {
            throw ProviderError.usage("--key-uri: \(error.description)")
        }
        let choice = value("credential") ?? CredentialChain.Choice.auto.rawValue
        guard let credential = CredentialChain.Choice(rawValue: choice.lowercased()) else {
            let allowed = CredentialChain.Choice.allCases.map(\.rawValue).joined(separator: ", ")
            throw ProviderError.usage("--credential: '\(choice)' is not one of \(allowed)")
        }
        self.credential = credential
        if let text = value("vault-resource-id") {
            guard let id = VaultResourceID(text) else {
                throw ProviderError.usage(
                    "--vault-resource-id: '\(text)' is not a vault id like \(VaultResourceID.example)"
                )
            }
            if let key, id.name.lowercased() != key.vaultName {
                throw ProviderError.usage(
                    "--vault-resource-id names vault '\(id.name)' but the key is in '\(key.vaultName)'"
                )
            }
            vaultID = id
        } else {
            vaultID = nil
        }
    }
}
