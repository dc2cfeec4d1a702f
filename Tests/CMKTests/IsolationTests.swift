import Foundation
import Testing

/// `--isolate`: a provider that crashes, aborts or hangs becomes an error in the report (exit 1),
/// not a dead or stuck cmk.
@Suite("Isolation: providers in worker processes")
struct IsolationTests {
    @Test("a C provider that calls abort() is reported, cmk exits 1 with a reason")
    func abortingProvider() async throws {
        let plugins = try TemporaryDirectory("cmk-plugins")
        defer { plugins.cleanUp() }
        try await TestProvider.build("aborts", in: plugins, defines: ["TEST_ABORT", "TEST_NAME=\"aborts\""])
        let result = try await runCMK(
            ["status", "--provider", "aborts", "--isolate"],
            environment: ["CMK_PLUGIN_PATH": plugins.path]
        )
        #expect(result.status == 1)
        #expect(result.stderr.contains("provider 'aborts' failed: crashed (signal 6, SIGABRT)"), "\(result.stderr)")
    }

    @Test("a Swift provider that calls fatalError is reported with its message")
    func fatalErrorProvider() async throws {
        let plugins = try TemporaryDirectory("cmk-plugins")
        defer { plugins.cleanUp() }
        let library = plugins.file("libcmk-provider-swiftfatal.so")
        let swiftc = try await runProcess(
            "/usr/bin/env",
            [
                "swiftc", "-emit-library", "-parse-as-library", "-I",
                "\(TestPaths.repository)/Sources/CMKPluginABI/include",
                "-o", library, "\(TestPaths.repository)/Tests/Providers/swift-fatal/FatalErrorProvider.swift",
            ],
            environment: ProcessInfo.processInfo.environment,
            timeout: .seconds(300)
        )
        try #require(swiftc.status == 0, "swiftc failed: \(swiftc.stderr)")
        chmod(library, 0o755)
        let result = try await runCMK(
            ["status", "--provider", "swiftfatal"],
            environment: ["CMK_PLUGIN_PATH": plugins.path, "CMK_ISOLATE": "1"]
        )
        #expect(result.status == 1)
        #expect(result.stderr.contains("provider 'swiftfatal' failed: crashed"), "\(result.stderr)")
        #expect(result.stderr.contains("the fatal provider gives up on purpose"), "\(result.stderr)")
    }

    @Test("a provider that never answers is stopped at the deadline")
    func hangingProvider() async throws {
        let plugins = try TemporaryDirectory("cmk-plugins")
        defer { plugins.cleanUp() }
        try await TestProvider.build("hangs", in: plugins, defines: ["TEST_HANG", "TEST_NAME=\"hangs\""])
        let result = try await runCMK(
            ["status", "--provider", "hangs", "--isolate", "--timeout", "1"],
            environment: ["CMK_PLUGIN_PATH": plugins.path]
        )
        #expect(result.status == 1)
        #expect(result.stderr.contains("provider 'hangs' did not"), "\(result.stderr)")
        #expect(result.stderr.contains("within the run's deadline"), "\(result.stderr)")
    }

    @Test("in isolation, well-behaved providers report exactly as in process")
    func sameReport() async throws {
        let inProcess = try await runCMK(["status", "--output", "json"], sysRoot: TestPaths.fixtureRoot("ec2-nitro"))
        let isolated = try await runCMK(
            ["status", "--output", "json", "--isolate"],
            sysRoot: TestPaths.fixtureRoot("ec2-nitro")
        )
        #expect(isolated.status == inProcess.status)
        #expect(isolated.stdout == inProcess.stdout)
        let providers = try await runCMK(["providers", "--isolate"])
        #expect(providers.stdout.contains("aws 1.0.0"))
    }

    @Test("in isolation, a library that does not load is still one line, not a crash")
    func isolatedLoadFailure() async throws {
        let plugins = try TemporaryDirectory("cmk-plugins")
        defer { plugins.cleanUp() }
        try await TestProvider.build("abi99", in: plugins, defines: ["TEST_ABI_VERSION=99", "TEST_NAME=\"abi\""])
        let result = try await runCMK(["providers", "--isolate"], environment: ["CMK_PLUGIN_PATH": plugins.path])
        #expect(result.status == 0)
        #expect(result.stderr.contains("libcmk-provider-abi99.so: ABI version 99"), "\(result.stderr)")
    }
}
