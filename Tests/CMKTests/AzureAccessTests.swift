import Foundation
import Testing

/// Verdicts that hold on a real tenant: the vault's network, key access as Azure computes it (role
/// definitions, wildcards, notDataActions, scopes up to `/`, groups, deny assignments, access
/// policies), the vendor's service principal, admin roles, the tenant and the cloud. Each case is a
/// shipped scenario whose `expect` block states the check's state and cmk's exit status; the table
/// of cases is the scenario folder.
@Suite("Azure access")
struct AzureAccessTests {
    static let sp = AzureEmulatorProcess.servicePrincipalID
    /// A shipped scenario that states the verdict it must give (its `expect` block).
    struct Expectation: Decodable, Sendable, CustomTestStringConvertible {
        var scenario: String
        var check: String
        var state: String
        var exit: Int32
        /// Text that the check's summary, remediation or evidence must hold.
        var text: String
        var keyURI: String?
        /// `azure-cli` signs in as the scenario's person through a fake `az`; else the client secret.
        var signIn: String?
        var testDescription: String { "\(scenario): \(check) \(state), exit \(exit)" }

        enum CodingKeys: String, CodingKey { case check, state, exit, text, keyURI, signIn }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            scenario = ""
            check = try container.decode(String.self, forKey: .check)
            state = try container.decode(String.self, forKey: .state)
            exit = try container.decode(Int32.self, forKey: .exit)
            text = try container.decode(String.self, forKey: .text)
            keyURI = try container.decodeIfPresent(String.self, forKey: .keyURI)
            signIn = try container.decodeIfPresent(String.self, forKey: .signIn)
        }
    }

    /// Every scenario under Tests/Fixtures/azure/scenarios with an `expect` block.
    static let expectations: [Expectation] = {
        struct File: Decodable { var expect: Expectation? }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: AzureEmulatorProcess.scenarios)) ?? []
        return names.filter { $0.hasSuffix(".json") }.sorted().compactMap { name in
            let path = "\(AzureEmulatorProcess.scenarios)/\(name)"
            guard let data = FileManager.default.contents(atPath: path),
                var expectation = try? JSONDecoder().decode(File.self, from: data).expect
            else { return nil }
            expectation.scenario = String(name.dropLast(".json".count))
            return expectation
        }
    }()

    /// Summary, remediation and evidence of one check, for "holds this text" expectations.
    static func text(_ status: AzureStatus, _ id: String) -> String {
        ([status.summary(id), status.remediation(id)] + (status.check(id)["evidence"] as? [String] ?? []))
            .joined(separator: "\n")
    }

    @Test("the shipped scenarios are many: one per case of the issue")
    func scenarioCount() {
        #expect(Self.expectations.count >= 30, "\(Self.expectations.map(\.scenario))")
    }

    /// Over TLS: the verdicts are those of the production https transport, as an admin gets them.
    @Test("each scenario gives the state and cmk exit status it states, over TLS", arguments: expectations)
    func verdict(_ expected: Expectation) async throws {
        let emulator = try await AzureEmulatorProcess(expected.scenario, tls: true)
        var environment = emulator.signedIn
        let bin = try TemporaryDirectory("cmk-azure-bin")
        defer { bin.cleanUp() }
        if expected.signIn == "azure-cli" {
            try await AzureCredentialTests.fakeAzure(emulator, in: bin)
            environment = [
                "CMK_ENDPOINT_OVERRIDE": emulator.origin, "CMK_CA_BUNDLE": emulator.caBundle ?? "",
                "PATH": "\(bin.path):/usr/bin:/bin",
            ]
        }
        let status = try await AzureStatus.run(
            environment: environment,
            keyURI: expected.keyURI ?? AzureEmulatorProcess.keyURI
        )
        #expect(status.state(expected.check) == expected.state, "\(Self.text(status, expected.check))")
        #expect(status.result.status == expected.exit, "\(status.result.stdout)")
        #expect(Self.text(status, expected.check).contains(expected.text), "\(Self.text(status, expected.check))")
        if expected.signIn == "azure-cli" { #expect(status.credential == "Azure CLI (az)") }
        for secret in azureSecrets { #expect(!status.output.contains(secret)) }
    }

    @Test("a disabled service principal puts its object id and owner tenant in the evidence, and setup is not done")
    func disabledPrincipalEvidence() async throws {
        let emulator = try await AzureEmulatorProcess("ready") {
            $0["servicePrincipal"] = ["objectId": Self.sp, "accountEnabled": false]
        }
        let status = try await AzureStatus.run(environment: emulator.signedIn)
        let evidence = status.check("app-consent")["evidence"] as? [String] ?? []
        #expect(evidence.contains("service principal object id \(Self.sp)"))
        #expect(evidence.contains("appOwnerOrganizationId fa7b1b5a-7b34-4387-94ae-d2c178decee1"))
        #expect(status.state("admin-role") == "manual", "setup is not done: the admin role still matters")
    }

    @Test("a tenant mismatch makes every live check unknown with one message naming both tenants")
    func tenantMismatch() async throws {
        let other = "72f988bf-86f1-41af-91ab-2d7cd011db47"
        let emulator = try await AzureEmulatorProcess("tenant-mismatch")
        let status = try await AzureStatus.run(environment: emulator.signedIn)
        #expect(status.result.status == 3)
        #expect(status.ids("unknown") == azureLiveChecks)
        for id in azureLiveChecks {
            #expect(status.summary(id).contains("tenant \(other)"))
            #expect(status.summary(id).contains("tenant \(AzureEmulatorProcess.tenant)"))
            #expect(status.remediation(id).contains("AZURE_TENANT_ID=\(other)"))
        }
    }

    @Test("a US Government key: key-uri says the vendor's application is not there; no consent URL is offered")
    func usGovernmentKey() async throws {
        let emulator = try await AzureEmulatorProcess("us-government-key")
        let status = try await AzureStatus.run(
            environment: emulator.signedIn,
            keyURI: "https://contoso-cmk.vault.usgovcloudapi.net/keys/cmk-key"
        )
        #expect(status.result.status == 2)
        #expect(status.state("key-uri") == "action-required")
        #expect(
            status.summary("key-uri") == "The vendor's application is not available in Azure US Government: the key "
                + "must be in the public cloud"
        )
        #expect(status.state("app-consent") == "action-required")
        for id in ["app-consent", "app-key-access"] {
            #expect(!status.remediation(id).contains("oauth2/authorize"))
            #expect(!status.remediation(id).contains("az ad sp create"))
        }
    }

    @Test("a 403 names the permission the check needs")
    func permissionNamed() async throws {
        let emulator = try await AzureEmulatorProcess("ready") {
            $0["faults"] = [["route": "graph.servicePrincipal", "status": 403]]
        }
        let status = try await AzureStatus.run(environment: emulator.signedIn)
        #expect(status.state("app-consent") == "unknown")
        #expect(status.result.status == 3)
        #expect(status.remediation("app-consent").contains("Application.Read.All"))
    }

    @Test("the Azure CLI is asked for tokens in the vault's tenant, and without it when it is not a member there")
    func azureCLITenant() async throws {
        let emulator = try await AzureEmulatorProcess("ready")
        let bin = try TemporaryDirectory("cmk-azure-bin")
        defer { bin.cleanUp() }
        let log = bin.file("calls")
        var script = "#!/bin/sh\necho \"$*\" >> \(log)\n"
        // Refuses the vault's tenant once, as az does for a tenant the account is not in.
        script += "case \"$*\" in *--tenant*) [ -e \(log).refused ] || { : > \(log).refused; exit 1; } ;; esac\n"
        script += "case \"$*\" in\n"
        for resource in ["https://management.azure.com", "https://graph.microsoft.com", "https://vault.azure.net"] {
            let token = try await emulator.token(resource: resource)
            script += "  *\"--resource \(resource) \"*) echo '{\"accessToken\": \"\(token)\"}' ;;\n"
        }
        script += "esac\n"
        try bin.write("az", script)
        chmod(bin.file("az"), 0o755)
        let status = try await AzureStatus.run(
            environment: ["CMK_ENDPOINT_OVERRIDE": emulator.origin, "PATH": "\(bin.path):/usr/bin:/bin"]
        )
        #expect(status.result.status == 0, "\(status.result.stdout)")
        let calls = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n")
        #expect(calls.filter { $0.hasSuffix("--tenant \(AzureEmulatorProcess.tenant)") }.count == 3)
        #expect(calls.filter { !$0.contains("--tenant") }.count == 1, "one retry in the default tenant")
    }
}
