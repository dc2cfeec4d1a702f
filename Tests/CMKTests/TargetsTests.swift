import Foundation
import Testing

/// `cmk status --targets FILE` (issue 11, item 5) against the emulator: the file format, one
/// summary, JSON and the CI formats with the target in each result, the worst exit status, a
/// bound on concurrency, and one sign-in per audience for every target that shares a credential.
@Suite("cmk status --targets")
struct TargetsTests {
    static let key = AzureEmulatorProcess.keyURI
    static let missingKey = "https://contoso-cmk.vault.azure.net/keys/gone"

    static let file = """
        # every target: Azure, signed in from the environment
        provider = azure
        credential = environment

        [target prod-eu]
        key-uri = \(key)
        vault-resource-id = /subscriptions/0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9/resourceGroups/cmk-rg/providers/Microsoft.KeyVault/vaults/contoso-cmk

        [target prod-us]   # a key that was never created
        key-uri = "\(missingKey)"

        [target legacy]
        provider = gcp
        """

    static func run(
        _ text: String = file,
        _ arguments: [String] = [],
        environment: [String: String]
    ) async throws -> CMKResult {
        let directory = try TemporaryDirectory("cmk-targets")
        defer { directory.cleanUp() }
        try directory.write("targets.ini", text)
        return try await runCMK(
            ["status", "--targets", directory.file("targets.ini")] + arguments,
            environment: environment
        )
    }

    @Test("one summary table: target, ready, worst state, first action; the exit status is the worst target's")
    func summary() async throws {
        let emulator = try await AzureEmulatorProcess("ready")
        let result = try await Self.run(environment: emulator.signedIn)
        #expect(result.status == 2, "\(result.stdout)\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(
            lines.first?.split(separator: " ", omittingEmptySubsequences: true) == [
                "TARGET", "READY", "WORST", "FIRST", "ACTION",
            ]
        )
        func row(_ name: String) -> [String] {
            (lines.first { $0.hasPrefix(name + " ") } ?? "").split(
                separator: " ",
                maxSplits: 3,
                omittingEmptySubsequences: true
            )
            .map(String.init)
        }
        #expect(row("prod-eu").prefix(3) == ["prod-eu", "yes", "manual"], "ready; manual reminders remain")
        #expect(row("prod-us").prefix(3) == ["prod-us", "no", "action-required"])
        // The first check that needs action, with its fix: the vault holds another key than this one.
        let first = row("prod-us").last?.trimmingCharacters(in: .whitespaces) ?? ""
        #expect(first.hasPrefix("vault-dedicated: Use a vault only for this key"), "\(first)")
        #expect(row("legacy").prefix(2) == ["legacy", "error"])
        #expect(row("legacy").last?.contains("provider 'gcp' is not installed") == true)
        #expect(lines.last == "1 of 3 targets ready; 1 needs action, 1 failed. (exit 2)", "\(lines.last ?? "")")
    }

    @Test("JSON: one report per target, in the file's order, each with its target; an error for the one that failed")
    func json() async throws {
        let emulator = try await AzureEmulatorProcess("ready")
        let result = try await Self.run(Self.file, ["--output", "json"], environment: emulator.signedIn)
        #expect(result.status == 2)
        let document = try result.json()
        #expect(document["ready"] as? Bool == false)
        let targets = try #require(document["targets"] as? [[String: Any]])
        #expect(targets.map { $0["target"] as? String } == ["prod-eu", "prod-us", "legacy"])
        for target in targets {
            #expect(Set(target.keys) == ["target", "provider", "ready", "error", "report"], "every key present")
        }
        let reports = targets.map { $0["report"] as? [String: Any] }
        #expect(targets[0]["ready"] as? Bool == true)
        #expect(reports[0]?["key"] as? String == Self.key)
        #expect((reports[0]?["checks"] as? [[String: Any]])?.count == 16)
        #expect(reports[1]?["key"] as? String == Self.missingKey)
        #expect(targets[2]["error"] as? String != nil && reports[2] == nil)
        #expect(targets[0]["error"] is NSNull)

        // Each report conforms to the status schema, as a run of that target alone.
        let schema = try JSONSchema.named("cmk-status")
        for report in reports.compactMap({ $0 }) {
            #expect(schema.violations(of: report).isEmpty, "\(schema.violations(of: report))")
        }
        // Each report is what a run of that target alone says.
        let alone = try await AzureStatus.run(environment: emulator.signedIn, keyURI: Self.missingKey)
        let states = (reports[1]?["checks"] as? [[String: Any]])?.map { $0["state"] as? String }
        #expect(states == alone.checks.map { $0["state"] as? String })
    }

    @Test("the CI formats and metrics carry the target in each result")
    func ciFormats() async throws {
        let emulator = try await AzureEmulatorProcess("ready")
        let sarif = try await Self.run(Self.file, ["--output", "sarif"], environment: emulator.signedIn)
        #expect(sarif.status == 2)
        let log = try JSON.parse(sarif.stdout)
        #expect(JSONSchemaValidator(root: CIFormatTests.schema).errors(log).isEmpty)
        let run = try #require(log["runs"]?[0])
        let results = run["results"]?.array ?? []
        #expect(!results.isEmpty)
        for result in results {
            let target = try #require(result["properties"]?["target"]?.string)
            #expect(["prod-eu", "prod-us"].contains(target))
            #expect(result["message"]?["text"]?.string?.hasPrefix("\(target): ") == true)
            #expect(result["locations"]?[0]?["logicalLocations"]?[0]?["name"]?.string == target)
            let uri = result["locations"]?[0]?["physicalLocation"]?["artifactLocation"]?["uri"]?.string
            #expect(uri == (target == "prod-eu" ? Self.key : Self.missingKey))
        }
        let rules = run["tool"]?["driver"]?["rules"]?.array.compactMap { $0["id"]?.string } ?? []
        #expect(rules.count == Set(rules).count, "one rule per check id, shared by the targets")
        let notification = run["invocations"]?[0]?["toolExecutionNotifications"]?[0]?["message"]?["text"]?.string
        #expect(notification?.hasPrefix("legacy: provider 'gcp' is not installed") == true)

        let junit = try await Self.run(Self.file, ["--output", "junit"], environment: emulator.signedIn)
        let root = try XMLTree.parse(junit.stdout)
        #expect(root.children.map { $0.attributes["name"] } == ["prod-eu", "prod-us", "legacy"])
        #expect(root.children[2].children.last?.children.first?.name == "error", "the failed target is an error")

        let metrics = try await Self.run(Self.file, ["--output", "openmetrics"], environment: emulator.signedIn)
        let families = try OpenMetrics.parse(metrics.stdout)
        let ready = families.first { $0.name == "cmk_ready" }?.samples ?? []
        #expect(
            ready.map { "\($0.labels["target"]!)=\(Int($0.value))" } == ["prod-eu=1", "prod-us=0", "legacy=0"]
        )
    }

    @Test("targets that share a credential share its sign-ins: one per audience for all of them")
    func sharedSignIns() async throws {
        let emulator = try await AzureEmulatorProcess("ready")
        let count = 12
        let text = "provider = azure\n" + (1...count).map { "[target t\($0)]\nkey-uri = \(Self.key)\n" }.joined()
        let result = try await Self.run(text, ["--output", "json"], environment: emulator.signedIn)
        #expect(result.status == 0, "\(result.stderr)")
        #expect((try result.json()["targets"] as? [[String: Any]])?.count == count)
        let requests = try await emulator.requests()
        #expect(
            requests.filter { $0.route == "vault.key" && $0.authorization }.count == count,
            "every target was checked"
        )
        #expect(requests.filter { $0.route == "login.token" }.count == 3, "ARM, Graph and Key Vault, once each")
    }

    @Test("at most --jobs targets at a time: 6 slow targets take about 6 rounds with --jobs 1, about 1 with --jobs 6")
    func bound() async throws {
        let emulator = try await AzureEmulatorProcess("ready") { $0["latencyMs"] = 150 }
        let directory = try TemporaryDirectory("cmk-targets")
        defer { directory.cleanUp() }
        try directory.write(
            "targets.ini",
            "provider = azure\n" + (1...6).map { "[target t\($0)]\nkey-uri = \(Self.key)\n" }.joined()
        )
        func elapsed(_ jobs: Int) async throws -> Double {
            let (result, seconds) = try await runTimed(
                ["status", "--targets", directory.file("targets.ini"), "--jobs", String(jobs)],
                environment: emulator.signedIn
            )
            #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
            return seconds
        }
        let serial = try await elapsed(1)
        let parallel = try await elapsed(6)
        // One target is a chain of 3–4 responses (≥ 450 ms); six one after the other at least 2.7 s.
        #expect(serial >= 6 * 0.45, "--jobs 1: \(serial) s")
        #expect(parallel < serial / 2, "--jobs 6: \(parallel) s, --jobs 1: \(serial) s")
    }

    struct BadFile: CustomStringConvertible, Sendable {
        var text: String
        var message: String
        var description: String { message }
    }

    static let badFiles: [BadFile] = [
        BadFile(text: "[target a]\nkey-uri = x\n", message: ":1: target 'a' names no provider"),
        BadFile(text: "[azure]\nprovider = azure\n", message: ":1: a section header looks like [target prod-eu]"),
        BadFile(
            text: "[target a]\nprovider = azure\n[target a]\n",
            message: ":3: target 'a' is already defined on line 1"
        ),
        BadFile(text: "[target a b]\n", message: ":1: a section header looks like [target prod-eu]"),
        BadFile(text: "[target a\"b]\n", message: "a target name is letters, digits"),
        BadFile(text: "provider = azure\n", message: "no target: each target is a [target NAME] section"),
        BadFile(text: "[target a]\nprovider = azure\nprovider = aws\n", message: ":3: 'provider' is already set"),
        BadFile(text: "[target a]\nprovider = azure\nkey uri\n", message: ":3: expected 'key = value'"),
        BadFile(
            text: "[target a]\nprovider = azure\nregion = eu\n",
            message:
                ":3: target 'a': provider 'azure' has no option 'region'; it takes key-uri, credential, vault-resource-id"
        ),
    ]

    @Test("a malformed targets file is a usage error naming the file, the line and what is wrong", arguments: badFiles)
    func badFile(_ bad: BadFile) async throws {
        let result = try await Self.run(bad.text, environment: [:])
        #expect(result.status == 64, "\(result.stdout)")
        #expect(result.stderr.hasPrefix("Error: targets file "), "\(result.stderr)")
        #expect(result.stderr.contains(bad.message), "\(result.stderr)")
    }

    @Test("a targets file written on Windows (a byte-order mark, CRLF line ends) reads the same")
    func crlfAndBOM() async throws {
        let emulator = try await AzureEmulatorProcess("ready")
        let text = "\u{FEFF}provider = azure\r\n\r\n[target prod-eu]\r\nkey-uri = \(Self.key)\r\n"
        let result = try await Self.run(text, ["--output", "json"], environment: emulator.signedIn)
        #expect(result.status == 0, "\(result.stderr)")
        let targets = try #require(try result.json()["targets"] as? [[String: Any]])
        #expect(targets.map { $0["target"] as? String } == ["prod-eu"])
    }

    @Test("usage: --provider and --targets, --jobs without --targets, a bad --jobs")
    func usage() async throws {
        for arguments in [
            ["status", "--targets", "/nonexistent", "--provider", "azure"],
            ["status", "--provider", "aws", "--jobs", "2"],
            ["status", "--targets", "/nonexistent", "--jobs", "0"],
        ] {
            let result = try await runCMK(arguments)
            #expect(result.status == 64, "\(arguments): \(result.stderr)")
        }
        let missing = try await runCMK(["status", "--targets", "/nonexistent/targets.ini"])
        #expect(missing.status == 64)
        #expect(missing.stderr.contains("targets file /nonexistent/targets.ini: cannot be read"))
    }
}
