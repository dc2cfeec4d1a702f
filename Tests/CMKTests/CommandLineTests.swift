import Foundation
import Testing

/// Help, version, usage errors, colour and the config file: the conventions of a mature CLI.
@Suite("Command-line conventions")
struct CommandLineTests {
    @Test(
        "help and --version go to stdout with exit 0",
        arguments: [
            ["--help"], ["-h"], ["help"], ["help", "status"], ["status", "--help"], ["detect", "-h"], ["--version"],
        ]
    )
    func helpAndVersion(_ arguments: [String]) async throws {
        let result = try await runCMK(arguments)
        #expect(result.status == 0)
        #expect(result.stderr.isEmpty)
        #expect(result.stdout.contains(arguments == ["--version"] ? "cmk " : "USAGE: cmk"))
    }

    @Test(
        "help text matches the stored text (Tests/Fixtures/help), so changes to it are reviewed",
        arguments: ["", "status", "detect", "providers", "ticket", "help", "verify"]
    )
    func helpMatchesStoredText(_ command: String) async throws {
        let stored = try String(
            contentsOfFile: "\(TestPaths.repository)/Tests/Fixtures/help/\(command.isEmpty ? "cmk" : command).txt",
            encoding: .utf8
        )
        let arguments: [String] =
            switch command {
            case "": ["--help"]
            case "help": ["help", "help"]
            case "verify": ["providers", "verify", "--help"]
            default: [command, "--help"]
            }
        let result = try await runCMK(arguments)
        #expect(result.stdout == stored)
    }

    @Test("the main help documents subcommands, exit statuses and environment variables")
    func mainHelpContent() async throws {
        let help = try await runCMK(["--help"]).stdout
        for needle in [
            "SUBCOMMANDS:", "status", "detect", "providers", "ticket", "EXIT STATUS:", "64", "CMK_PLUGIN_PATH",
            "CMK_ENDPOINT_OVERRIDE", "NO_COLOR",
        ] {
            #expect(help.contains(needle), "missing \(needle)")
        }
    }

    @Test("a usage error prints Error, the usage line and where to get help, to stderr, exit 64")
    func usageError() async throws {
        let result = try await runCMK(["detect", "--bogus"])
        #expect(result.status == 64)
        #expect(result.stdout.isEmpty)
        let lines = result.stderr.split(separator: "\n").map(String.init)
        #expect(lines.first == "Error: unknown option '--bogus'")
        #expect(lines.dropFirst().first?.hasPrefix("Usage: cmk detect") == true)
        #expect(lines.last?.contains("detect --help'") == true)
    }

    @Test("no colour when stdout is not a terminal")
    func noColourInPipes() async throws {
        let result = try await runCMK(["status", "--provider", "aws"])
        #expect(!result.stdout.contains("\u{1B}["))
    }

    @Test("a malformed config file is a usage error naming the file and line")
    func badConfig() async throws {
        let config = try TemporaryDirectory("cmk-config")
        defer { config.cleanUp() }
        try config.write("cmk/config", "provider = aws\nthis line has no equals sign\n")
        let result = try await runCMK(["status"], environment: ["XDG_CONFIG_HOME": config.path])
        #expect(result.status == 64)
        #expect(result.stderr.contains("cmk/config:2: expected 'key = value'"))
    }

    @Test("flags beat the environment, which beats the config file (output format)")
    func precedence() async throws {
        let config = try TemporaryDirectory("cmk-config")
        defer { config.cleanUp() }
        try config.write("cmk/config", "provider = aws\noutput = json\n")
        let fromConfig = try await runCMK(["status"], environment: ["XDG_CONFIG_HOME": config.path])
        #expect(fromConfig.stdout.hasPrefix("{"))
        let fromEnvironment = try await runCMK(
            ["status"],
            environment: ["XDG_CONFIG_HOME": config.path, "CMK_OUTPUT": "text"]
        )
        #expect(fromEnvironment.stdout.hasPrefix("Provider: aws"))
        let fromFlag = try await runCMK(
            ["status", "--output", "json"],
            environment: ["XDG_CONFIG_HOME": config.path, "CMK_OUTPUT": "text"]
        )
        #expect(fromFlag.stdout.hasPrefix("{"))
    }

    @Test("a non-loopback endpoint override is refused with a clear error")
    func overrideMustBeLoopback() async throws {
        let result = try await runCMK(
            ["status", "--provider", "aws"],
            environment: ["CMK_ENDPOINT_OVERRIDE": "http://10.1.2.3:8080"]
        )
        #expect(result.status == 64)
        #expect(result.stderr.contains("only a loopback origin"))
    }
}
