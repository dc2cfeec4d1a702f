import Foundation
import Testing

/// What an admin types and reads: typos caught with "did you mean", errors that name their
/// source, hints that are true, help at every level, a stable JSON schema, honest wording.
@Suite("The CLI an admin reads and types")
struct CLIUsabilityTests {
    struct Typo: Sendable, CustomTestStringConvertible {
        var arguments: [String]
        var message: String
        var usage: String
        var testDescription: String { arguments.joined(separator: " ") }
    }

    @Test(
        "typos are usage errors naming the closest valid word",
        arguments: [
            Typo(arguments: ["status", "--provder", "aws"], message: "unknown option '--provder' (did you mean --provider?)", usage: "cmk status"),
            Typo(arguments: ["status", "--outptu", "json"], message: "unknown option '--outptu' (did you mean --output?)", usage: "cmk status"),
            Typo(arguments: ["status", "--Provider", "aws"], message: "unknown option '--Provider' (did you mean --provider?)", usage: "cmk status"),
            Typo(arguments: ["ticket", "--provder", "azure"], message: "unknown option '--provder' (did you mean --provider?)", usage: "cmk ticket"),
            Typo(arguments: ["detect", "--provder"], message: "unknown option '--provder' (did you mean --provider?)", usage: "cmk detect"),
            Typo(arguments: ["status", "--key-ur", "x"], message: "unknown option '--key-ur' (did you mean --key-uri?)", usage: "cmk status"),
            Typo(arguments: ["statsu"], message: "unknown subcommand 'statsu' (did you mean 'status'?)", usage: "cmk <subcommand>"),
            Typo(arguments: ["status", "--provider", "awss"], message: "provider 'awss' (from --provider) is not installed (did you mean 'aws'?)", usage: "cmk status"),
            Typo(arguments: ["status", "--provider", "aws", "--provider", "azure"], message: "option '--provider' is given twice ('aws' and 'azure'); give it once", usage: "cmk status"),
            Typo(arguments: ["ticket", "--output", "json"], message: "unknown option '--output'", usage: "cmk ticket"),
            Typo(arguments: ["status", "--output", "jsno"], message: "--output 'jsno' is not one of: text, json, sarif, junit, openmetrics (did you mean json?)", usage: "cmk status"),  // ops (issue 11)
            Typo(arguments: ["status", "--timeout", "0"], message: "--timeout must be more than 0 and at most 3600 seconds, not '0'", usage: "cmk status"),
            Typo(arguments: ["help", "statsu"], message: "unknown subcommand 'statsu' (did you mean 'status'?)", usage: "cmk help"),
        ]
    )
    func typos(_ typo: Typo) async throws {
        let result = try await runCMK(typo.arguments)
        #expect(result.status == 64, "\(result.stderr)")
        #expect(result.stdout.isEmpty)
        let lines = errorLines(result)
        #expect(lines.first?.hasPrefix("Error: \(typo.message)") == true, "\(lines)")
        #expect(lines.dropFirst().first?.hasPrefix("Usage: \(typo.usage)") == true, "\(lines)")
    }

    @Test("provider names are case-insensitive")
    func caseInsensitiveProvider() async throws {
        let result = try await runCMK(["status", "--provider", "AWS"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.hasPrefix("Provider: aws"))
    }

    @Test("a provider's option is refused when another provider is selected")
    func foreignProviderOption() async throws {
        let result = try await runCMK(["status", "--provider", "aws", "--key-uri", AzureEmulatorProcess.keyURI])
        #expect(result.status == 64)
        #expect(errorLines(result).first?.contains("option '--key-uri' belongs to provider 'azure', not to 'aws'") == true)
    }

    // MARK: errors name their source

    struct SourceCase: Sendable, CustomTestStringConvertible {
        var name: String
        var config: String?
        var environment: [String: String] = [:]
        var arguments: [String] = ["status", "--provider", "azure"]
        /// What stderr's first line must contain; `{config}` is the config file's path.
        var expected: String
        var testDescription: String { name }
    }

    @Test(
        "a bad value is reported where it came from: the config file's line, the variable, or the flag",
        arguments: [
            SourceCase(name: "output in the config", config: "provider = aws\noutput = yaml\n", arguments: ["status"], expected: "config file {config}:2: output = yaml: the output format is one of text, json"),
            SourceCase(name: "key-uri under [azure]", config: "\n[azure]\nkey-uri = https://nope/keys/x\n", expected: "config file {config}:3: key-uri: "),
            SourceCase(name: "CMK_AZURE_KEY_URI", environment: ["CMK_AZURE_KEY_URI": "https://nope/keys/x"], expected: "CMK_AZURE_KEY_URI: "),
            SourceCase(name: "--key-uri", arguments: ["status", "--provider", "azure", "--key-uri", "https://nope/keys/x"], expected: "--key-uri: "),
            SourceCase(name: "isolate = maybe", config: "isolate = maybe\n", expected: "config file {config}:1: isolate = maybe: must be true or false"),
            SourceCase(name: "CMK_ISOLATE=maybe", environment: ["CMK_ISOLATE": "maybe"], expected: "CMK_ISOLATE=maybe: must be true or false"),
            SourceCase(name: "CMK_OUTPUT=yaml", environment: ["CMK_OUTPUT": "yaml"], expected: "CMK_OUTPUT=yaml: the output format is one of text, json"),
            SourceCase(name: "an unknown key under [azure]", config: "[azure]\nkeyuri = x\n", expected: "config file {config}:2: unknown option 'keyuri' for provider 'azure' (did you mean 'key-uri'?)"),
            SourceCase(name: "an unknown top-level key", config: "provdier = aws\n", expected: "config file {config}:1: unknown setting 'provdier' (did you mean 'provider'?)"),
            SourceCase(name: "CMK_CONFIG names no file", environment: ["CMK_CONFIG": "/nonexistent/cmk-config"], expected: "config file /nonexistent/cmk-config (CMK_CONFIG): no such file"),
            SourceCase(name: "CMK_SYS_ROOT names no directory", environment: ["CMK_SYS_ROOT": "/nonexistent/root"], expected: "CMK_SYS_ROOT=/nonexistent/root: no such directory"),
        ]
    )
    func errorsNameTheirSource(_ test: SourceCase) async throws {
        let home = try TemporaryDirectory("cmk-source")
        defer { home.cleanUp() }
        var environment = test.environment
        let configPath = home.file("config")
        if let config = test.config {
            try home.write("config", config)
            environment["CMK_CONFIG"] = configPath
        }
        let result = try await runCMK(test.arguments, environment: environment)
        #expect(result.status == 64, "\(result.stderr)")
        let lines = errorLines(result)
        let expected = test.expected.replacingOccurrences(of: "{config}", with: configPath)
        #expect(lines.first?.hasPrefix("Error: \(expected)") == true, "\(lines)")
        // A value from the environment or the config file is not a command-line mistake: no usage line.
        if !test.arguments.contains("--key-uri") { #expect(!lines.contains { $0.hasPrefix("Usage:") }) }
    }

    @Test("a config file that is a directory says so")
    func configIsDirectory() async throws {
        let home = try TemporaryDirectory("cmk-source")
        defer { home.cleanUp() }
        let result = try await runCMK(["status", "--provider", "aws"], environment: ["CMK_CONFIG": home.path])
        #expect(result.status == 64)
        #expect(errorLines(result).first?.contains("is a directory, not a regular file") == true)
    }

    @Test("a config file with CRLF line ends and a byte-order mark reads the same")
    func crlfAndBOM() async throws {
        let home = try TemporaryDirectory("cmk-source")
        defer { home.cleanUp() }
        try home.write("config", "\u{FEFF}provider = aws\r\noutput = json\r\n")
        let result = try await runCMK(["status"], environment: ["CMK_CONFIG": home.file("config")])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try result.json()["provider"] as? String == "aws")
    }

    @Test("a relative plugin-path is taken from the config file's directory and named in messages")
    func relativePluginPath() async throws {
        let home = try TemporaryDirectory("cmk-source")
        defer { home.cleanUp() }
        try home.write("config", "plugin-path = plugins-here\n")
        let result = try await runCMK(["providers"], environment: ["CMK_CONFIG": home.file("config")])
        #expect(result.status == 0)
        #expect(result.stdout.contains("\(home.path)/plugins-here (plugin-path at \(home.file("config")):1)"))
    }

    // MARK: hints that are true

    @Test("hints name the config file cmk reads and the command as it was run")
    func truthfulHints() async throws {
        let home = try TemporaryDirectory("cmk-hints")
        defer { home.cleanUp() }
        let result = try await runCMK(["status"], environment: ["XDG_CONFIG_HOME": home.path, "COLUMNS": "1000"])
        #expect(result.status == 3)
        #expect(result.stdout.contains("'provider = aws' in \(home.path)/cmk/config"))
        // Run by path (as the README's set-up leaves it), the hint is that path.
        #expect(result.stdout.contains("'\(TestPaths.cmk) status --provider aws'"))
    }

    @Test("cmk providers lists the directories it searched, in order, with where each came from")
    func providersListsSearchPath() async throws {
        let result = try await runCMK(["providers"], environment: ["CMK_PLUGIN_PATH": "/nonexistent/cmk-plugins"])
        #expect(result.stdout.contains("Searched, in order:"))
        #expect(result.stdout.contains("/nonexistent/cmk-plugins (CMK_PLUGIN_PATH)"))
        #expect(result.stdout.contains("\(TestPaths.products) (default)"))
        let json = try await runCMK(["providers", "--output", "json"])
        let searched = try json.json()["searched"] as? [[String: Any]] ?? []
        #expect(searched.contains { $0["path"] as? String == TestPaths.products })
    }

    @Test("the endpoint override is announced on stderr, so a shell left with its exports fools no one")
    func overrideNote() async throws {
        let result = try await runCMK(["status", "--provider", "aws"], keepNotes: true)
        #expect(result.stderr.contains("Note: requests go to the loopback endpoint \(closedLoopbackOrigin) (CMK_ENDPOINT_OVERRIDE)"))
    }

    // MARK: help at every level

    @Test(
        "help at every level, to stdout with exit 0",
        arguments: [
            (["help", "help"], "cmk help"),
            (["help", "providers", "verify"], "cmk providers verify"),
            (["providers", "verify", "--help"], "cmk providers verify"),
            (["help", "ticket"], "cmk ticket"),
        ]
    )
    func helpEverywhere(_ arguments: [String], usage: String) async throws {
        let result = try await runCMK(arguments)
        #expect(result.status == 0)
        #expect(result.stdout.contains("USAGE: \(usage)"))
    }

    @Test("providers verify has its own exit statuses")
    func verifyHelp() async throws {
        let help = try await runCMK(["help", "providers", "verify"]).stdout
        #expect(help.contains("EXIT STATUS:"))
        #expect(help.contains("every row passed"))
        let missing = try await runCMK(["providers", "verify"])
        #expect(missing.status == 64)
        #expect(errorLines(missing).dropFirst().first?.hasPrefix("Usage: cmk providers verify") == true)
    }

    // MARK: JSON

    @Test("JSON: every key present, platform null when not detected, selection says how, empty arrays compact")
    func jsonShape() async throws {
        let result = try await runCMK(["status", "--provider", "aws", "--output", "json"])
        try expectConforms(result, to: "cmk-status")
        let document = try result.json()
        #expect(document["platform"] is NSNull)
        let selection = document["selection"] as? [String: Any]
        #expect(selection?["kind"] as? String == "flag")
        #expect(selection?["detail"] as? String == "--provider")
        #expect(result.stdout.range(of: #"\[\s*\n\s*\]"#, options: .regularExpression) == nil, "an empty array on several lines")
        #expect(result.stdout.contains("\"causes\": []"))

        let undetected = try await runCMK(["status", "--output", "json"])
        #expect(undetected.status == 3)
        try expectConforms(undetected, to: "cmk-status")

        for arguments in [["detect", "--output", "json"], ["detect", "--provider", "aws", "--output", "json"]] {
            let detect = try await runCMK(arguments)
            try expectConforms(detect, to: "cmk-detect")
        }
        let fromEnvironment = try await runCMK(["status", "--output", "json"], environment: ["CMK_PROVIDER": "aws"])
        #expect((try fromEnvironment.json()["selection"] as? [String: Any])?["kind"] as? String == "environment")
    }

    @Test(
        "every emulator scenario's JSON conforms to the schema",
        arguments: ["ready", "needs-setup", "access-policy", "firewall-blocked", "key-deleted", "tenant-mismatch"]
    )
    func scenarioJSONConforms(_ scenario: String) async throws {
        let emulator = try await AzureEmulatorProcess(scenario, tls: true)
        defer { emulator.stop() }
        let status = try await AzureStatus.run(environment: emulator.signedIn)
        try expectConforms(status.result, to: "cmk-status")
    }

    // MARK: wording and escaping

    @Test("with manual steps left, ready says they remain; the exit status stays 0")
    func honestReadiness() async throws {
        let emulator = try await AzureEmulatorProcess("ready", tls: true)
        defer { emulator.stop() }
        let result = try await runCMK(
            ["status", "--provider", "azure", "--key-uri", AzureEmulatorProcess.keyURI],
            environment: emulator.signedIn.merging(["COLUMNS": "1000"]) { $1 }
        )
        #expect(result.status == 0, "\(result.stdout)")
        let verdict = result.stdout.split(separator: "\n").last.map(String.init) ?? ""
        #expect(verdict.hasPrefix("Ready on your side"), "\(verdict)")
        #expect(result.stdout.contains("manual steps remain ("))
        #expect(result.stdout.contains("support-ticket, vendor-confirmation)"))
        #expect(!result.stdout.contains("customer-managed keys are set up"))
    }

    @Test("control characters in what cmk echoes are escaped, never sent to the terminal")
    func escapesControlCharacters() async throws {
        let hostile = "https://contoso-cmk.vault.azure.net/keys/\u{1B}]0;owned\u{07}\u{1B}[2J"
        let result = try await runCMK(["status", "--provider", "azure", "--key-uri", hostile])
        #expect(result.status == 64)
        #expect(!result.stderr.contains("\u{1B}"))
        #expect(!result.stderr.contains("\u{07}"))
        #expect(result.stderr.contains("\\x1B"))
    }

    @Test("a shared cause is said once, above the checks it affects")
    func sharedCauseOnce() async throws {
        let result = try await runCMK(["status", "--provider", "azure", "--key-uri", AzureEmulatorProcess.keyURI])
        #expect(result.status == 3)
        let fix = "Set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET"
        #expect(result.stdout.components(separatedBy: fix).count == 2, "the sign-in fix is printed once")
        #expect(result.stdout.contains("marked \"needs sign-in\""))
        #expect(result.stdout.contains("app-key-access: Not checked (needs sign-in)"))
        // Every unknown check says what would determine it: here, the cause above.
        let json = try await AzureStatus(["--key-uri", AzureEmulatorProcess.keyURI], environment: [:])
        for check in json.checks where check["state"] as? String == "unknown" {
            #expect(!(check["cause"] is NSNull) || !(check["remediation"] is NSNull), "\(check)")
        }
    }

    private func errorLines(_ result: CMKResult) -> [String] {
        result.stderr.split(separator: "\n").map(String.init).filter { !$0.hasPrefix("Note: requests go to") }
    }
}
