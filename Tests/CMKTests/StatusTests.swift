import Foundation
import Testing

/// `cmk status`: the JSON shape scripts rely on, and every documented exit status.
@Suite("cmk status: JSON shape and exit statuses")
struct StatusTests {
    @Test("JSON has provider, platform {name, evidence}, ready and checks with valid states")
    func jsonShape() async throws {
        let result = try await runCMK(["status", "--output", "json"], sysRoot: TestPaths.fixtureRoot("ec2-nitro"))
        #expect(result.status == 0, "\(result.stderr)")
        let document = try result.json()
        #expect(document["provider"] as? String == "aws")
        let platform = try #require(document["platform"] as? [String: Any])
        #expect(platform["name"] as? String == "Amazon EC2 (Nitro)")
        #expect((platform["evidence"] as? [String])?.isEmpty == false)
        #expect(document["ready"] as? Bool == true)
        let checks = try #require(document["checks"] as? [[String: Any]])
        let states: Set<String> = ["ok", "action-required", "warning", "manual", "unknown", "not-applicable"]
        for check in checks {
            #expect((check["id"] as? String)?.isEmpty == false)
            #expect(states.contains(check["state"] as? String ?? ""))
            #expect((check["summary"] as? String)?.isEmpty == false)
        }
        #expect(checks.first?["id"] as? String == "platform-managed-cmk")
    }

    struct ExitCase: CustomStringConvertible, Sendable {
        var name: String
        var arguments: [String]
        var environment: [String: String] = [:]
        var expected: Int32
        var description: String { name }
    }

    static let exitCases: [ExitCase] = [
        ExitCase(
            name: "ready",
            arguments: ["status", "--provider", "cstub"],
            environment: ["CSTUB_STATE": "ok"],
            expected: 0
        ),
        ExitCase(
            name: "action required",
            arguments: ["status", "--provider", "cstub"],
            environment: ["CSTUB_STATE": "action-required"],
            expected: 2
        ),
        ExitCase(
            name: "ready: a warning does not block readiness",
            arguments: ["status", "--provider", "cstub"],
            environment: ["CSTUB_STATE": "warning"],
            expected: 0
        ),
        ExitCase(
            name: "incomplete: a check unknown",
            arguments: ["status", "--provider", "cstub"],
            environment: ["CSTUB_STATE": "unknown"],
            expected: 3
        ),
        ExitCase(name: "incomplete: nothing detected, nothing chosen", arguments: ["status"], expected: 3),
        ExitCase(
            name: "usage: unknown option",
            arguments: ["status", "--frobnicate", "x", "--provider", "aws"],
            expected: 64
        ),
        ExitCase(name: "usage: bad output format", arguments: ["status", "--output", "yaml"], expected: 64),
        ExitCase(name: "usage: unknown subcommand", arguments: ["stauts"], expected: 64),
        ExitCase(
            name: "failure: chosen provider not installed",
            arguments: ["status", "--provider", "gcp"],
            expected: 1
        ),
        ExitCase(
            name: "failure: provider crashes nothing else",
            arguments: ["status", "--provider", "cstub", "--timeout", "abc"],
            expected: 64
        ),
    ]

    @Test("exit status", arguments: exitCases)
    func exitStatus(_ exitCase: ExitCase) async throws {
        let plugins = try TemporaryDirectory("cmk-plugins")
        defer { plugins.cleanUp() }
        try await TestProvider.build("cstub", in: plugins)
        var environment = exitCase.environment
        environment["CMK_PLUGIN_PATH"] = plugins.path
        let result = try await runCMK(exitCase.arguments, environment: environment)
        #expect(result.status == exitCase.expected, "stdout: \(result.stdout)\nstderr: \(result.stderr)")
        if exitCase.expected == 64 {
            #expect(result.stderr.hasPrefix("Error: "))
            #expect(result.stderr.contains("Usage: cmk"))
        }
    }

    @Test("a provider written in C loads, detects and reports like a Swift one")
    func cProvider() async throws {
        let plugins = try TemporaryDirectory("cmk-plugins")
        let root = try TemporaryDirectory("cmk-root")
        defer { plugins.cleanUp(); root.cleanUp() }
        try await TestProvider.build("cstub", in: plugins)
        try root.write("sys/class/dmi/id/sys_vendor", "Stub Cloud\n")
        let result = try await runCMK(
            ["status", "--output", "json"],
            environment: ["CMK_PLUGIN_PATH": plugins.path, "CSTUB_STATE": "action-required"],
            sysRoot: root.path
        )
        #expect(result.status == 2, "\(result.stderr)")
        let document = try result.json()
        #expect(document["provider"] as? String == "cstub")
        #expect(document["ready"] as? Bool == false)
        let checks = try #require(document["checks"] as? [[String: Any]])
        #expect(checks.first?["remediation"] as? String == "Run the stub fix.")
        #expect(checks.last?["state"] as? String == "manual")
    }

    @Test("a warning from any provider: listed after the other checks, ready, and counted in the verdict")
    func warningState() async throws {
        let plugins = try TemporaryDirectory("cmk-plugins")
        defer { plugins.cleanUp() }
        try await TestProvider.build("cstub", in: plugins)
        let environment = ["CMK_PLUGIN_PATH": plugins.path, "CSTUB_STATE": "warning"]
        let text = try await runCMK(["status", "--provider", "cstub"], environment: environment.merging(["COLUMNS": "1000"]) { $1 })
        #expect(text.status == 0, "\(text.stderr)")
        let lines = text.stdout.split(separator: "\n").map(String.init)
        let warningLine = try #require(lines.firstIndex { $0.contains("warning") && $0.contains("stub-step") })
        let reminderLine = try #require(lines.firstIndex { $0.contains("stub-reminder") })
        #expect(warningLine > reminderLine, "warnings come after the other checks:\n\(text.stdout)")
        #expect(text.stdout.contains("Ready on your side, with 1 warning"), "\(text.stdout)")
        let json = try await runCMK(["status", "--provider", "cstub", "--output", "json"], environment: environment)
        let document = try json.json()
        #expect(document["ready"] as? Bool == true)
        let checks = try #require(document["checks"] as? [[String: Any]])
        #expect(checks.first?["state"] as? String == "warning")
    }

    @Test("with nothing detected, status says so, lists the providers and how to choose")
    func undetectedGuidance() async throws {
        let result = try await runCMK(["status"])
        #expect(result.status == 3)
        #expect(result.stdout.contains("No platform detected"))
        #expect(result.stdout.contains("Installed providers: aws, azure"))
        #expect(result.stdout.contains("--provider"))
        let json = try await runCMK(["status", "--output", "json"])
        #expect(try json.json()["ready"] as? Bool == false)
    }

    @Test("a provider option cmk does not know for that provider is a usage error naming what it takes")
    func unknownProviderOption() async throws {
        let result = try await runCMK(["status", "--provider", "aws", "--key-uri", "https://x.vault.azure.net/keys/k"])
        #expect(result.status == 64)
        #expect(result.stderr.contains("option '--key-uri' belongs to provider 'azure', not to 'aws'"))
        #expect(result.stderr.contains("'aws' takes no options"))
    }
}
