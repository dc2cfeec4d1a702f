import Foundation
import Testing

/// Sign-in like DefaultAzureCredential: environment, workload identity, managed identity (only on
/// Azure), Azure CLI; which one was used, and never a secret or a token in the output.
@Suite("Azure credentials")
struct AzureCredentialTests {
    @Test("without a credential every live check is unknown, says how to sign in, and nothing is signed")
    func noCredential() async throws {
        let emulator = try await AzureEmulatorProcess("ready")
        let status = try await AzureStatus.run(environment: ["CMK_ENDPOINT_OVERRIDE": emulator.origin])
        #expect(status.result.status == 3)
        #expect(status.ids("unknown") == azureLiveChecks)
        for id in azureLiveChecks {
            #expect(status.summary(id).hasPrefix("Not checked — No Azure sign-in is set up"), "\(status.summary(id))")
            #expect(status.remediation(id).contains("AZURE_CLIENT_SECRET"))
            #expect(status.remediation(id).contains("az login"))
        }
        // The vault's unauthenticated challenge names the tenant: the consent URL is the tenant's own.
        #expect(
            status.remediation("app-consent").contains(
                "https://login.microsoftonline.com/\(AzureEmulatorProcess.tenant)/oauth2/authorize?response_type=code"
            )
        )
        #expect(status.credential == nil)
        let requests = try await emulator.requests()
        #expect(requests.map(\.route) == ["vault.key"])
        #expect(!requests.contains { $0.authorization })
    }

    @Test("the seed's consent URL, exactly, when the tenant is unknown")
    func commonConsentURL() async throws {
        let status = try await AzureStatus.run(environment: [:])
        #expect(
            (status.check("app-consent")["remediation"] as? String ?? "").hasSuffix(
                "https://login.microsoftonline.com/common/oauth2/authorize?response_type=code"
                    + "&client_id=251e3919-1940-4296-bb8b-"
                    + "6b9a5e8a4805&redirect_uri=https://experience.adobe.com&scope=user.read"
            )
        )
    }

    @Test(
        "a national cloud's key: the vendor's application is not there, so no consent URL and no az ad sp create",
        arguments: [
            ("https://gov-keys.vault.usgovcloudapi.net/keys/k", "https://login.microsoftonline.us/"),
            ("https://cn-keys.vault.azure.cn/keys/k", "https://login.chinacloudapi.cn/"),
        ]
    )
    func sovereignConsentURL(_ keyURI: String, _ login: String) async throws {
        let status = try await AzureStatus.run(
            environment: ["AZURE_TENANT_ID": AzureEmulatorProcess.tenant],
            keyURI: keyURI
        )
        #expect(!status.remediation("app-consent").contains("\(login)"))
        #expect(!status.remediation("app-consent").contains("oauth2/authorize"))
        #expect(status.state("key-uri") == "action-required")
        #expect(status.summary("key-uri").contains("the key must be in the public cloud"))
        #expect(status.result.status == 2)
    }

    @Test("--credential none turns sign-in off")
    func credentialNone() async throws {
        let emulator = try await AzureEmulatorProcess("ready")
        let status = try await AzureStatus.run(["--credential", "none"], environment: emulator.signedIn)
        #expect(status.summary("key-type") == "Not checked — Not checked: sign-in is off (--credential none)")
        #expect(!(try await emulator.requests()).contains { $0.route == "login.token" })
    }

    @Test("a refused client secret: the live checks say why, and the secret is never repeated")
    func wrongSecret() async throws {
        let emulator = try await AzureEmulatorProcess("ready")
        var environment = emulator.signedIn
        environment["AZURE_CLIENT_SECRET"] = "wrong-secret-5e6f7a8b"
        let status = try await AzureStatus.run(environment: environment)
        #expect(status.result.status == 3)
        #expect(
            status.summary("key-type").contains("(401: invalid_client, AADSTS7000215)"),
            "\(status.summary("key-type"))"
        )
        #expect(!status.output.contains("wrong-secret-5e6f7a8b"))
    }

    @Test("workload identity: the federated token file is the client assertion")
    func workloadIdentity() async throws {
        let emulator = try await AzureEmulatorProcess("ready")
        let directory = try TemporaryDirectory("cmk-azure-wi")
        defer { directory.cleanUp() }
        try directory.write("token", AzureEmulatorProcess.federatedAssertion + "\n")
        let status = try await AzureStatus.run(environment: [
            "CMK_ENDPOINT_OVERRIDE": emulator.origin, "AZURE_TENANT_ID": AzureEmulatorProcess.tenant,
            "AZURE_CLIENT_ID": "11111111-2222-4333-8444-555555555555",
            "AZURE_FEDERATED_TOKEN_FILE": directory.file("token"),
        ])
        #expect(status.result.status == 0, "\(status.result.stdout)")
        #expect(status.credential == "workload identity (client id 1111…)")
        for secret in azureSecrets { #expect(!status.output.contains(secret)) }
    }

    @Test("managed identity through App Service's endpoint, when asked for")
    func appServiceManagedIdentity() async throws {
        let emulator = try await AzureEmulatorProcess("ready")
        let status = try await AzureStatus.run(
            ["--credential", "managed-identity"],
            environment: [
                "CMK_ENDPOINT_OVERRIDE": emulator.origin, "IDENTITY_ENDPOINT": "http://localhost:42356/msi/token",
                "IDENTITY_HEADER": AzureEmulatorProcess.identityHeader,
            ]
        )
        #expect(status.result.status == 0, "\(status.result.stdout)")
        #expect(status.credential == "managed identity (App Service endpoint)")
        #expect(!status.output.contains(AzureEmulatorProcess.identityHeader))
    }

    @Test("instance-metadata managed identity is used on an Azure VM, and never asked off Azure")
    func instanceMetadataOnlyOnAzure() async throws {
        let onAzure = try await AzureEmulatorProcess("ready")
        let vm = try await AzureStatus(
            ["--key-uri", AzureEmulatorProcess.keyURI],
            environment: ["CMK_ENDPOINT_OVERRIDE": onAzure.origin],
            sysRoot: TestPaths.fixtureRoot("azure-vm")
        )
        #expect(vm.result.status == 0, "\(vm.result.stdout)")
        #expect(vm.credential == "managed identity (instance metadata)")
        #expect(try await onAzure.requests().contains { $0.route == "imds.token" })

        let offAzure = try await AzureEmulatorProcess("ready")
        let laptop = try await AzureStatus.run(environment: ["CMK_ENDPOINT_OVERRIDE": offAzure.origin])
        #expect(laptop.ids("unknown") == azureLiveChecks)
        #expect(!(try await offAzure.requests()).contains { $0.host == "169.254.169.254" })
    }

    /// A fake `az` that prints tokens the emulator issued for a signed-in user.
    static func fakeAzure(
        _ emulator: AzureEmulatorProcess,
        in directory: TemporaryDirectory,
        body: String? = nil,
        prelude: String = ""
    ) async throws {
        var script = "#!/bin/sh\n" + prelude
        if let body {
            script += body
        } else {
            script += "case \"$*\" in\n"
            for resource in ["https://management.azure.com", "https://graph.microsoft.com", "https://vault.azure.net"] {
                let token = try await emulator.token(resource: resource)
                script +=
                    "  *\"--resource \(resource) \"*) "
                    + "echo '{\"accessToken\": \"\(token)\", \"tokenType\": \"Bearer\"}' ;;\n"
            }
            script += "  *) echo 'unexpected' >&2; exit 2 ;;\nesac\n"
        }
        try directory.write("az", script)
        chmod(directory.file("az"), 0o755)
    }

    @Test(
        "the Azure CLI's user: admin-role reads the user's directory roles; not needed once setup is done",
        arguments: [
            ("ready", "not-applicable", "Setup is done; no admin role is needed to keep it"),
            ("needs-setup", "action-required", "The signed-in user holds none of"),
        ]
    )
    func azureCLIUser(_ scenario: String, _ state: String, _ summary: String) async throws {
        let emulator = try await AzureEmulatorProcess(scenario)
        let bin = try TemporaryDirectory("cmk-azure-bin")
        defer { bin.cleanUp() }
        try await Self.fakeAzure(emulator, in: bin)
        let status = try await AzureStatus.run(
            environment: ["CMK_ENDPOINT_OVERRIDE": emulator.origin, "PATH": "\(bin.path):/usr/bin:/bin"])
        #expect(status.credential == "Azure CLI (az)")
        #expect(status.state("admin-role") == state)
        #expect(status.summary("admin-role").hasPrefix(summary))
        #expect(try await emulator.requests().contains { $0.route == "graph.transitiveRoleAssignments" })
        for secret in azureSecrets { #expect(!status.output.contains(secret)) }
    }

    @Test(
        "an Azure CLI that is not signed in, or hangs, leaves the checks unknown with the reason",
        arguments: [
            (
                "echo \"ERROR: Please run 'az login' to setup account.\" >&2\nexit 1\n",
                "Azure CLI is not signed in: run az login"
            ),
            ("exec sleep 30\n", "did not finish in time and was stopped"),
        ]
    )
    func azureCLIFailures(_ body: String, _ reason: String) async throws {
        let emulator = try await AzureEmulatorProcess("ready")
        let bin = try TemporaryDirectory("cmk-azure-bin")
        defer { bin.cleanUp() }
        try await Self.fakeAzure(emulator, in: bin, body: body)
        let (result, seconds) = try await runTimed(
            [
                "status", "--provider", "azure", "--output", "json", "--key-uri", AzureEmulatorProcess.keyURI,
                "--timeout", "2",
            ],
            environment: ["CMK_ENDPOINT_OVERRIDE": emulator.origin, "PATH": "\(bin.path):/usr/bin:/bin"]
        )
        // The process's own lifetime: far below the 30 s the hanging `az` would take.
        #expect(seconds < 2 + deadlineGrace, "\(seconds) s")
        let status = try AzureStatus(result: result)
        #expect(status.result.status == 3)
        #expect(status.summary("key-type").contains(reason), "\(status.summary("key-type"))")
    }

    @Test("an az that prints its token and leaves a background child holding stdout keeps its sign-in")
    func azureCLIBackgroundChild() async throws {
        let emulator = try await AzureEmulatorProcess("ready")
        let bin = try TemporaryDirectory("cmk-azure-bin")
        defer { bin.cleanUp() }
        // What az's telemetry upload does: a detached process that inherits stdout and outlives az.
        try await Self.fakeAzure(emulator, in: bin, prelude: "sleep 8 &\n")
        let (result, seconds) = try await runTimed(
            [
                "status", "--provider", "azure", "--output", "json", "--key-uri", AzureEmulatorProcess.keyURI,
                "--timeout", "4",
            ],
            environment: ["CMK_ENDPOINT_OVERRIDE": emulator.origin, "PATH": "\(bin.path):/usr/bin:/bin"]
        )
        let status = try AzureStatus(result: result)
        #expect(status.credential == "Azure CLI (az)", "\(status.output)")
        #expect(status.state("key-type") == "ok", "\(status.summary("key-type"))")
        #expect(result.status == 0, "\(status.output)")
        // Waiting for the pipe's end (the 8 s sleep) instead of az would have hit the 4 s deadline.
        #expect(seconds < 4 + deadlineGrace, "\(seconds) s")
    }

    @Test("az's error line is shown without tokens or secrets, and cut to 200 characters")
    func azureCLIErrorRedacted() async throws {
        let emulator = try await AzureEmulatorProcess("ready")
        let bin = try TemporaryDirectory("cmk-azure-bin")
        defer { bin.cleanUp() }
        let jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhZG1pbiJ9.c2lnbmF0dXJlLWJ5dGVz"
        let secret = "Xq8Q~abcDEF1234ghiJKL5678mnoPQR9012stu"
        let padding = String(repeating: "retry later ", count: 40)
        try await Self.fakeAzure(
            emulator,
            in: bin,
            body:
                "echo \"ERROR: request failed: Authorization: Bearer \(jwt) client_secret=\(secret) \(padding)\" >&2\nexit 1\n"
        )
        let status = try await AzureStatus.run(
            environment: ["CMK_ENDPOINT_OVERRIDE": emulator.origin, "PATH": "\(bin.path):/usr/bin:/bin"]
        )
        #expect(status.result.status == 3)
        let summary = status.summary("key-type")
        #expect(summary.contains("Azure CLI exited with status 1: ERROR: request failed"), "\(summary)")
        #expect(summary.contains("[redacted]"), "\(summary)")
        for leaked in [jwt, secret, "eyJhbGci", "abcDEF1234"] {
            #expect(!status.output.contains(leaked), "\(leaked) in \(summary)")
        }
        let line = try #require(summary.range(of: "ERROR: request failed").map { String(summary[$0.lowerBound...]) })
        #expect(line.count <= 200, "\(line.count) characters: \(line)")
    }

    @Test("a FIFO as AZURE_FEDERATED_TOKEN_FILE is refused at once, naming the variable; the run ends on time")
    func federatedTokenFIFO() async throws {
        let emulator = try await AzureEmulatorProcess("ready")
        let directory = try TemporaryDirectory("cmk-azure-wi")
        defer { directory.cleanUp() }
        let fifo = directory.file("token")
        #expect(mkfifo(fifo, 0o600) == 0)
        let (result, seconds) = try await runTimed(
            [
                "status", "--provider", "azure", "--output", "json", "--key-uri", AzureEmulatorProcess.keyURI,
                "--timeout", "3",
            ],
            environment: [
                "CMK_ENDPOINT_OVERRIDE": emulator.origin, "AZURE_TENANT_ID": AzureEmulatorProcess.tenant,
                "AZURE_CLIENT_ID": AzureEmulatorProcess.clientID, "AZURE_FEDERATED_TOKEN_FILE": fifo,
            ]
        )
        #expect(seconds < 3 + deadlineGrace, "\(seconds) s")
        let status = try AzureStatus(result: result)
        #expect(result.status == 3, "\(status.output)")
        #expect(
            status.summary("key-type").contains("AZURE_FEDERATED_TOKEN_FILE=\(fifo) is a FIFO, not a regular file"),
            "\(status.summary("key-type"))"
        )
        #expect(!(try await emulator.requests()).contains { $0.route == "login.token" })
    }

    @Test("a federated token file larger than 1 MiB is refused with its size")
    func federatedTokenTooLarge() async throws {
        let emulator = try await AzureEmulatorProcess("ready")
        let directory = try TemporaryDirectory("cmk-azure-wi")
        defer { directory.cleanUp() }
        try directory.write("token", String(repeating: "a", count: 2 << 20))
        let status = try await AzureStatus.run(environment: [
            "CMK_ENDPOINT_OVERRIDE": emulator.origin, "AZURE_TENANT_ID": AzureEmulatorProcess.tenant,
            "AZURE_CLIENT_ID": AzureEmulatorProcess.clientID, "AZURE_FEDERATED_TOKEN_FILE": directory.file("token"),
        ])
        #expect(status.result.status == 3)
        #expect(
            status.summary("key-type").contains("is 2097152 bytes, more than the 1024 KiB allowed"),
            "\(status.summary("key-type"))"
        )
    }

    @Test("AZURE_AUTHORITY_HOST must be the cloud's login host: the secret goes nowhere else")
    func foreignAuthority() async throws {
        let emulator = try await AzureEmulatorProcess("ready")
        var environment = emulator.signedIn
        environment["AZURE_AUTHORITY_HOST"] = "https://login.example.com"
        let status = try await AzureStatus.run(environment: environment)
        #expect(status.summary("key-type").contains("AZURE_AUTHORITY_HOST 'https://login.example.com' is not"))
        #expect(!(try await emulator.requests()).contains { $0.route == "login.token" })

        environment["AZURE_AUTHORITY_HOST"] = "https://login.microsoftonline.com/"
        let accepted = try await AzureStatus.run(environment: environment)
        #expect(accepted.result.status == 0)
    }
}
