import Testing

/// The key identifier: every cloud, vaults and Managed HSMs, and each way of getting it wrong.
@Suite("Azure key identifier")
struct AzureKeyURITests {
    struct Valid: CustomTestStringConvertible, Sendable {
        var uri: String
        /// What the ticket's "Key identifier:" line must say (canonical form).
        var canonical: String
        /// A line the ticket must hold (the store and the cloud).
        var line: String
        var testDescription: String { uri }
    }

    static let version = "0123456789abcdef0123456789abcdef"

    static let valid: [Valid] = [
        Valid(
            uri: "https://contoso-cmk.vault.azure.net/keys/cmk-key/\(version)",
            canonical: "https://contoso-cmk.vault.azure.net/keys/cmk-key/\(version)",
            line: "Azure cloud: public cloud (AzurePublicCloud)"
        ),
        Valid(
            uri: "https://contoso-cmk.vault.azure.net/keys/cmk-key",
            canonical: "https://contoso-cmk.vault.azure.net/keys/cmk-key",
            line: "Key vault: contoso-cmk (https://contoso-cmk.vault.azure.net)"
        ),
        Valid(
            uri: "https://Contoso-CMK.Vault.Azure.NET/keys/cmk-key/",
            canonical: "https://contoso-cmk.vault.azure.net/keys/cmk-key",
            line: "Key vault: contoso-cmk"
        ),
        Valid(
            uri: "https://contoso-cmk.vault.azure.net:443/keys/cmk-key/0123456789ABCDEF0123456789ABCDEF",
            canonical: "https://contoso-cmk.vault.azure.net/keys/cmk-key/\(version)",
            line: "Key vault: contoso-cmk"
        ),
        Valid(
            uri: "https://gov-keys.vault.usgovcloudapi.net/keys/k1",
            canonical: "https://gov-keys.vault.usgovcloudapi.net/keys/k1",
            line: "Azure cloud: US Government (AzureUSGovernmentCloud)"
        ),
        Valid(
            uri: "https://cn-keys.vault.azure.cn/keys/k1",
            canonical: "https://cn-keys.vault.azure.cn/keys/k1",
            line: "Azure cloud: China (AzureChinaCloud)"
        ),
        Valid(
            uri: "https://contoso-hsm.managedhsm.azure.net/keys/hsm-key/\(version)",
            canonical: "https://contoso-hsm.managedhsm.azure.net/keys/hsm-key/\(version)",
            line: "Managed HSM: contoso-hsm (https://contoso-hsm.managedhsm.azure.net)"
        ),
        Valid(
            uri: "https://gov-hsm.managedhsm.usgovcloudapi.net/keys/k",
            canonical: "https://gov-hsm.managedhsm.usgovcloudapi.net/keys/k",
            line: "Azure cloud: US Government (AzureUSGovernmentCloud)"
        ),
        Valid(
            uri: "https://cn-hsm.managedhsm.azure.cn/keys/k",
            canonical: "https://cn-hsm.managedhsm.azure.cn/keys/k",
            line: "Managed HSM: cn-hsm"
        ),
        Valid(
            uri: "https://abc.vault.azure.net/keys/\(String(repeating: "k", count: 127))",
            canonical: "https://abc.vault.azure.net/keys/\(String(repeating: "k", count: 127))",
            line: "Key vault: abc"
        ),
        Valid(
            uri: "https://a\(String(repeating: "1", count: 23)).vault.azure.net/keys/K-1",
            canonical: "https://a\(String(repeating: "1", count: 23)).vault.azure.net/keys/K-1",
            line: "Key vault: a1"
        ),
    ]

    @Test("a valid identifier is accepted and printed in canonical form", arguments: valid)
    func acceptsValid(_ valid: Valid) async throws {
        let result = try await runCMK(["ticket", "--provider", "azure", "--key-uri", valid.uri])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("Key identifier: \(valid.canonical)\n"), "\(result.stdout)")
        #expect(result.stdout.contains(valid.line), "\(result.stdout)")
        #expect(result.stdout.contains("251e3919-1940-4296-bb8b-6b9a5e8a4805"))
    }

    struct Invalid: CustomTestStringConvertible, Sendable {
        var uri: String
        /// The part of the message that names what is wrong.
        var names: String
        var testDescription: String { uri }
    }

    static let invalid: [Invalid] = [
        Invalid(uri: "http://contoso-cmk.vault.azure.net/keys/k", names: "the scheme must be https, not 'http'"),
        Invalid(uri: "contoso-cmk.vault.azure.net/keys/k", names: "is not a URL"),
        Invalid(uri: "https://contoso-cmk.vault.azure.net:8443/keys/k", names: "port '8443'"),
        Invalid(
            uri: "https://contoso-cmk.vault.azure.com/keys/k",
            names: "host 'contoso-cmk.vault.azure.com' is not a Key Vault"
        ),
        Invalid(
            uri: "https://contoso.vault.azure.net.example.com/keys/k",
            names: "is not a Key Vault or Managed HSM host"
        ),
        Invalid(uri: "https://vault.azure.net/keys/k", names: "is not a Key Vault or Managed HSM host"),
        Invalid(uri: "https://ab.vault.azure.net/keys/k", names: "vault name 'ab' must be 3-24 characters"),
        Invalid(
            uri: "https://a\(String(repeating: "b", count: 24)).vault.azure.net/keys/k",
            names: "must be 3-24 characters"
        ),
        Invalid(uri: "https://1contoso.vault.azure.net/keys/k", names: "must start with a letter"),
        Invalid(uri: "https://contoso-.vault.azure.net/keys/k", names: "must end with a letter or digit"),
        Invalid(uri: "https://con--toso.vault.azure.net/keys/k", names: "must not contain '--'"),
        Invalid(uri: "https://con_toso.vault.azure.net/keys/k", names: "only letters, digits and hyphens"),
        Invalid(uri: "https://x1.managedhsm.azure.net/keys/k", names: "Managed HSM name 'x1' must be 3-24 characters"),
        Invalid(
            uri: "https://contoso-cmk.vault.azure.net/secrets/k",
            names: "must start with /keys/ (found 'secrets')"
        ),
        Invalid(uri: "https://contoso-cmk.vault.azure.net", names: "must start with /keys/ (found nothing)"),
        Invalid(uri: "https://contoso-cmk.vault.azure.net/keys/", names: "the path must be /keys/<name>"),
        Invalid(
            uri: "https://contoso-cmk.vault.azure.net/keys/k/\(version)/extra",
            names: "the path must be /keys/<name>"
        ),
        Invalid(uri: "https://contoso-cmk.vault.azure.net/keys/cmk_key", names: "key name 'cmk_key'"),
        Invalid(
            uri: "https://contoso-cmk.vault.azure.net/keys/\(String(repeating: "k", count: 128))",
            names: "must be 1-127"
        ),
        Invalid(uri: "https://contoso-cmk.vault.azure.net/keys/k/0123", names: "version '0123' must be 32 hexadecimal"),
        Invalid(
            uri: "https://contoso-cmk.vault.azure.net/keys/k/\(String(repeating: "g", count: 32))",
            names: "must be 32 hexadecimal"
        ),
        Invalid(uri: "https://contoso-cmk.vault.azure.net/keys/k?api-version=7.5", names: "no query or fragment"),
        Invalid(uri: "https://admin@contoso-cmk.vault.azure.net/keys/k", names: "has no user name"),
    ]

    @Test("a malformed identifier is a usage error naming the wrong part, with a valid example", arguments: invalid)
    func refusesInvalid(_ invalid: Invalid) async throws {
        let result = try await runCMK(["ticket", "--provider", "azure", "--key-uri", invalid.uri])
        #expect(result.status == 64)
        #expect(result.stderr.contains(invalid.names), "\(result.stderr)")
        #expect(
            result.stderr.contains("https://contoso-cmk.vault.azure.net/keys/cmk-key/0123456789abcdef0123456789abcdef")
        )
        #expect(result.stdout.isEmpty)
    }

    @Test("status refuses a malformed identifier the same way, also from CMK_AZURE_KEY_URI")
    func statusRefusesInvalid() async throws {
        let flag = try await runCMK([
            "status", "--provider", "azure", "--key-uri", "https://contoso-cmk.vault.azure.net/secrets/s",
        ])
        #expect(flag.status == 64)
        #expect(flag.stderr.contains("--key-uri: invalid key identifier"))
        let environment = try await runCMK(
            ["status", "--provider", "azure"],
            environment: ["CMK_AZURE_KEY_URI": "https://ab.vault.azure.net/keys/k"]
        )
        #expect(environment.status == 64)
        #expect(environment.stderr.contains("vault name 'ab'"))
    }

    @Test("without an identifier, key-uri says how to give it and the key checks wait for it")
    func missingIdentifier() async throws {
        let status = try await AzureStatus(environment: [:])
        #expect(status.result.status == 2)
        #expect(status.state("key-uri") == "action-required")
        let remediation = status.remediation("key-uri")
        for way in ["--key-uri", "CMK_AZURE_KEY_URI", "key-uri = \"URI\" under [azure] in ", "/.config/cmk/config"] {
            #expect(remediation.contains(way), "\(remediation)")
        }
        #expect(status.summary("key-type").hasPrefix("Needs the key identifier (see key-uri)"))
        #expect(status.state("support-ticket") == "manual")

        let ticket = try await runCMK(["ticket", "--provider", "azure"])
        #expect(ticket.status == 64)
        #expect(ticket.stderr.contains("the ticket needs the key identifier"))
    }

    @Test("the identifier can come from the config file's [azure] section")
    func identifierFromConfig() async throws {
        let home = try TemporaryDirectory("cmk-azure-home")
        defer { home.cleanUp() }
        try home.write(".config/cmk/config", "[azure]\nkey-uri = \"https://cn-keys.vault.azure.cn/keys/k1\"\n")
        let result = try await runCMK(["ticket", "--provider", "azure"], environment: ["HOME": home.path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("Key identifier: https://cn-keys.vault.azure.cn/keys/k1"))
    }

    @Test(
        "other options are checked too",
        arguments: [
            (["--credential", "password"], "--credential: 'password' is not one of auto, environment"),
            (
                ["--vault-resource-id", "/subscriptions/s/vaults/v"],
                "--vault-resource-id: '/subscriptions/s/vaults/v' is not a vault id"
            ),
            (
                ["--vault-resource-id", "/subscriptions/s/resourceGroups/g/providers/Microsoft.KeyVault/vaults/other"],
                "names vault 'other' but the key is in 'contoso-cmk'"
            ),
        ]
    )
    func otherOptions(_ arguments: [String], _ message: String) async throws {
        let result = try await runCMK(
            ["status", "--provider", "azure", "--key-uri", "https://contoso-cmk.vault.azure.net/keys/k"] + arguments
        )
        #expect(result.status == 64)
        #expect(result.stderr.contains(message), "\(result.stderr)")
    }
}
