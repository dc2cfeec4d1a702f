import Testing

/// Where a token may go: a vault gets one only when its challenge names a resource whose domain
/// holds the vault's host (the Azure SDKs' challenge resource verification).
@Suite("Azure token policy")
struct AzureTokenPolicyTests {
    struct Row: CustomTestStringConvertible, Sendable {
        var challengeResource: String
        var sent: Bool
        var testDescription: String { "\(challengeResource) → \(sent ? "sent" : "refused")" }
    }

    static let rows: [Row] = [
        Row(challengeResource: "https://vault.azure.net", sent: true),
        Row(challengeResource: "https://vault.azure.net/", sent: true),
        Row(challengeResource: "https://azure.net", sent: true),
        Row(challengeResource: "https://evil.example.com", sent: false),
        Row(challengeResource: "https://vault.azure.net.evil.example.com", sent: false),
        Row(challengeResource: "https://contoso-cmk.vault.azure.net", sent: false),
        Row(challengeResource: "https://vault.usgovcloudapi.net", sent: false),
        Row(challengeResource: "https://management.azure.com", sent: false),
        Row(challengeResource: "not a url", sent: false),
    ]

    @Test("a vault's token follows its challenge only within the vault's domain", arguments: rows)
    func challengeResource(_ row: Row) async throws {
        let emulator = try await AzureEmulatorProcess(
            "ready",
            patch: AzureChecksTests.vault {
                $0["challengeResource"] = row.challengeResource
            }
        )
        let status = try await AzureStatus.run(environment: emulator.signedIn)
        let vaultRequests = try await emulator.requests().filter { $0.host == "contoso-cmk.vault.azure.net" }
        #expect(vaultRequests.contains { $0.authorization } == row.sent)
        if row.sent {
            #expect(status.state("key-type") == "ok")
        } else {
            #expect(status.state("key-type") == "unknown")
            #expect(
                status.summary("key-type").contains("no token sent to GET contoso-cmk.vault.azure.net/keys/cmk-key")
            )
            // Refused is not forbidden: the ARM fallback is not taken either.
            #expect(status.state("vault-dedicated") == "unknown")
        }
        // The other services are unaffected.
        #expect(status.state("app-key-access") == "ok")
    }
}
