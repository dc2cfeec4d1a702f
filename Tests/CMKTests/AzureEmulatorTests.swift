import CMKCore
import Foundation
import Testing

/// The emulator itself: it serves the REST examples' shapes, checks token audiences, challenges
/// like Key Vault, and refuses a bad command line.
@Suite("Azure emulator")
struct AzureEmulatorTests {
    static func get(_ emulator: AzureEmulatorProcess, _ path: String, token: String? = nil) async throws -> HTTPResponse
    {
        let headers = token.map { ["Authorization": "Bearer \($0)"] } ?? [:]
        return try await HTTPClient(environment: [:]).send(
            HTTPRequest(url: "\(emulator.origin)\(path)", headers: headers)
        )
    }

    @Test("a token is accepted only by the audience it was issued for")
    func audiences() async throws {
        let emulator = try await AzureEmulatorProcess("ready")
        let arm = try await emulator.token(resource: "https://management.azure.com", kind: "app")
        #expect(try await Self.get(emulator, "/management.azure.com/subscriptions", token: arm).status == 200)
        #expect(try await Self.get(emulator, "/management.azure.com/subscriptions", token: arm + "x").status == 401)
        let servicePrincipal =
            "/graph.microsoft.com/v1.0/servicePrincipals(appId='251e3919-1940-4296-bb8b-6b9a5e8a4805')"
        #expect(try await Self.get(emulator, servicePrincipal, token: arm).status == 401)
        let key = "/contoso-cmk.vault.azure.net/keys/cmk-key?api-version=7.5"
        #expect(try await Self.get(emulator, key, token: arm).status == 401)
        let vault = try await emulator.token(resource: "https://vault.azure.net")
        #expect(try await Self.get(emulator, key, token: vault).status == 200)
    }

    @Test("Key Vault's challenge names the tenant's authority and the vault resource")
    func challenge() async throws {
        let emulator = try await AzureEmulatorProcess("ready")
        let response = try await Self.get(emulator, "/contoso-cmk.vault.azure.net/keys/cmk-key?api-version=7.5")
        #expect(response.status == 401)
        #expect(
            response.header("www-authenticate") == "Bearer authorization=\"https://login.microsoftonline.com/"
                + "\(AzureEmulatorProcess.tenant)\", resource=\"https://vault.azure.net\""
        )
    }

    @Test("responses keep the REST examples' shapes: the ARM key URI with :443, the example's key fields")
    func fixtureShapes() async throws {
        let emulator = try await AzureEmulatorProcess("ready")
        let arm = try await emulator.token(resource: "https://management.azure.com", kind: "app")
        let vaultPath = "/management.azure.com\(AzureChecksTests.vaultID)"
        let key = try await Self.get(emulator, "\(vaultPath)/keys/cmk-key?api-version=2026-02-01", token: arm)
        let properties = try #require(
            (try JSONSerialization.jsonObject(with: Data(key.body)) as? [String: Any])?["properties"] as? [String: Any]
        )
        #expect(properties["keyUri"] as? String == "https://contoso-cmk.vault.azure.net:443/keys/cmk-key")
        #expect(properties["keySize"] as? Int == 3072)
        let vault = try await Self.get(emulator, "\(vaultPath)?api-version=2026-02-01", token: arm)
        let vaultProperties = try #require(
            (try JSONSerialization.jsonObject(with: Data(vault.body)) as? [String: Any])?["properties"]
                as? [String: Any]
        )
        #expect(vaultProperties["enabledForDiskEncryption"] as? Bool == true, "the example's own fields stay")
        #expect(vaultProperties["tenantId"] as? String == AzureEmulatorProcess.tenant)
    }

    @Test("a missing scenario is a usage error")
    func missingScenario() async throws {
        let result = try await runProcess(
            "\(TestPaths.products)/cmk-azure-emulator",
            ["--scenario", "no-such-scenario"],
            environment: [:]
        )
        #expect(result.status == 64)
        #expect(result.stderr.contains("cannot read scenario"))
        #expect(result.stderr.contains("usage: cmk-azure-emulator --scenario"))
    }
}
