import Testing

/// Azure detection: local signals first, instance metadata only to confirm them (or with --probe).
@Suite("Azure detection")
struct AzureDetectionTests {
    static func azure(_ result: CMKResult) throws -> [String: Any] {
        let candidates = try result.json()["candidates"] as? [[String: Any]] ?? []
        return candidates.first { $0["provider"] as? String == "azure" }?["detection"] as? [String: Any] ?? [:]
    }

    @Test("an Azure VM: the chassis tag, confirmed by instance metadata, which names the cloud")
    func virtualMachine() async throws {
        let emulator = try await AzureEmulatorProcess("ready") {
            $0["instance"] = ["compute": ["azEnvironment": "azureusgovernmentcloud"]]
        }
        let result = try await runCMK(
            ["detect", "--output", "json"],
            environment: ["CMK_ENDPOINT_OVERRIDE": emulator.origin],
            sysRoot: TestPaths.fixtureRoot("azure-vm")
        )
        let detection = try Self.azure(result)
        #expect(detection["strength"] as? String == "strong")
        #expect(detection["platform"] as? String == "Azure (US Government)")
        #expect((detection["details"] as? [String: String])?["cloud"] == "AzureUSGovernmentCloud")
        let evidence = detection["evidence"] as? [String] ?? []
        #expect(evidence.contains("instance metadata: azEnvironment azureusgovernmentcloud"))
        #expect(try await emulator.requests().map(\.route) == ["imds.instance"])
    }

    @Test(
        "App Service, Functions and Container Apps are recognised from the environment alone",
        arguments: [
            ["WEBSITE_SITE_NAME": "contoso-web"], ["FUNCTIONS_WORKER_RUNTIME": "dotnet-isolated"],
            ["CONTAINER_APP_NAME": "contoso-app"],
            ["IDENTITY_ENDPOINT": "http://localhost:42356/msi/token", "IDENTITY_HEADER": "h"],
        ]
    )
    func platformServices(_ environment: [String: String]) async throws {
        let emulator = try await AzureEmulatorProcess("ready")
        var all = environment
        all["CMK_ENDPOINT_OVERRIDE"] = emulator.origin
        let detection = try Self.azure(try await runCMK(["detect", "--output", "json"], environment: all))
        #expect(detection["strength"] as? String == "strong")
        #expect(try await emulator.requests().isEmpty)
    }

    @Test("on-premises Hyper-V and an unconfirmed laptop never reach instance metadata")
    func offAzure() async throws {
        let emulator = try await AzureEmulatorProcess("ready")
        let hyperV = try await runCMK(
            ["detect", "--output", "json"],
            environment: ["CMK_ENDPOINT_OVERRIDE": emulator.origin],
            sysRoot: TestPaths.fixtureRoot("hyperv-onprem")
        )
        let rejected = try Self.azure(hyperV)["rejected"] as? [String] ?? []
        #expect(rejected.contains("DMI sys_vendor is Microsoft Corporation, which on-premises Hyper-V reports too"))
        _ = try await runCMK(["detect", "--output", "json"], environment: ["CMK_ENDPOINT_OVERRIDE": emulator.origin])
        #expect(try await emulator.requests().isEmpty)
    }

    @Test("cloud-init's azure-china names the cloud; unanswered metadata is reported, not fatal")
    func cloudInitChina() async throws {
        let root = try TemporaryDirectory("cmk-azure-root")
        defer { root.cleanUp() }
        try root.write("run/cloud-init/cloud-id", "azure-china\n")
        let emulator = try await AzureEmulatorProcess("ready") { $0["instance"] = nil }
        let detection = try Self.azure(
            try await runCMK(
                ["detect", "--output", "json"],
                environment: ["CMK_ENDPOINT_OVERRIDE": emulator.origin],
                sysRoot: root.path
            )
        )
        #expect(detection["platform"] as? String == "Azure (China)")
        #expect(
            (detection["rejected"] as? [String] ?? []).contains { $0.hasPrefix("instance metadata did not confirm") }
        )
    }

    @Test("--probe asks instance metadata without a local signal")
    func probe() async throws {
        let emulator = try await AzureEmulatorProcess("ready")
        let detection = try Self.azure(
            try await runCMK(
                ["detect", "--probe", "--output", "json"],
                environment: ["CMK_ENDPOINT_OVERRIDE": emulator.origin]
            )
        )
        #expect(detection["platform"] as? String == "Azure (public cloud)")
        // Other providers probe too (their own metadata paths); Azure asked its endpoint once.
        #expect(try await emulator.requests().filter { $0.route.hasPrefix("imds.") }.map(\.route) == ["imds.instance"])
    }
}
