import Foundation
import Testing

/// `cmk confirm` (issue 11, item 6): recorded manual steps, shown as ok by `cmk status` for the
/// key they were confirmed for, against the emulator.
@Suite("cmk confirm")
struct ConfirmTests {
    static let key = AzureEmulatorProcess.keyURI

    /// An emulator, and an environment whose state directory lives as long as the test.
    struct Setup {
        let emulator: AzureEmulatorProcess
        let state: TemporaryDirectory
        var environment: [String: String] {
            emulator.signedIn.merging(["XDG_STATE_HOME": state.path, "USER": "alice"]) { _, new in new }
        }
        var file: String { "\(state.path)/cmk/confirmations.json" }
    }

    static func setup(_ scenario: String = "ready", patch: @escaping (inout [String: Any]) -> Void = { _ in })
        async throws -> Setup
    {
        Setup(
            emulator: try await AzureEmulatorProcess(scenario, patch: patch),
            state: try TemporaryDirectory("cmk-state")
        )
    }

    static func confirm(_ arguments: [String], _ setup: Setup, key: String = key) async throws -> CMKResult {
        try await runCMK(
            ["confirm"] + arguments + ["--provider", "azure", "--key-uri", key],
            environment: setup.environment
        )
    }

    @Test("a confirmed manual step shows as ok, by whom, when and the note, with the confirmation in the evidence")
    func confirmAndShow() async throws {
        let setup = try await Self.setup()
        defer { setup.state.cleanUp() }
        let before = try await AzureStatus.run(environment: setup.environment)
        #expect(before.state("vendor-confirmation") == "manual")

        let confirmed = try await Self.confirm(["vendor-confirmation", "--note", "ticket 12345"], setup)
        #expect(confirmed.status == 0, "\(confirmed.stderr)")
        #expect(confirmed.stdout.contains("Confirmed vendor-confirmation (key \(Self.key)): by alice at "))

        let day = String(ISO8601DateFormatter().string(from: Date()).prefix(10))
        let after = try await AzureStatus.run(environment: setup.environment)
        #expect(after.state("vendor-confirmation") == "ok")
        #expect(after.summary("vendor-confirmation") == "confirmed by alice on \(day): ticket 12345")
        let evidence = after.check("vendor-confirmation")["evidence"] as? [String] ?? []
        #expect(
            evidence.contains {
                $0.hasPrefix("confirmed by alice at \(day)T") && $0.hasSuffix("for key \(Self.key): ticket 12345")
            }
        )
        #expect(evidence.contains("the manual step: The vendor's support confirms when CMK is applied to your data"))
        #expect(after.remediation("vendor-confirmation").isEmpty)
        #expect(after.state("support-ticket") == "manual", "only the confirmed step changes")

        let text = try await runCMK(
            ["status", "--provider", "azure", "--key-uri", Self.key],
            environment: setup.environment
        )
        #expect(
            text.stdout.contains("vendor-confirmation: confirmed by alice on \(day): ticket 12345"),
            "\(text.stdout)"
        )
    }

    @Test("the state file: under XDG_STATE_HOME/cmk, mode 0600 in a 0700 directory, no temporary file left")
    func stateFile() async throws {
        let setup = try await Self.setup()
        defer { setup.state.cleanUp() }
        #expect(try await Self.confirm(["entitlement", "--note", "contract C-881"], setup).status == 0)
        let attributes = try FileManager.default.attributesOfItem(atPath: setup.file)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        let directory = try FileManager.default.attributesOfItem(atPath: "\(setup.state.path)/cmk")
        #expect((directory[.posixPermissions] as? Int) == 0o700)
        let names = try FileManager.default.contentsOfDirectory(atPath: "\(setup.state.path)/cmk")
        #expect(Set(names) == ["confirmations.json", "confirmations.lock"], "\(names)")
        let stored = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: setup.file))) as? [String: Any]
        )
        let entry = try #require((stored["confirmations"] as? [[String: Any]])?.first)
        #expect(entry["by"] as? String == "alice")
        #expect(entry["note"] as? String == "contract C-881")
        #expect(entry["key"] as? String == Self.key)
        #expect(entry["check"] as? String == "entitlement")
        #expect(entry["provider"] as? String == "azure")
        #expect((entry["at"] as? String)?.hasSuffix("Z") == true)
    }

    @Test("without XDG_STATE_HOME the file is ~/.local/state/cmk/confirmations.json; without $USER, the account's name")
    func defaultLocationAndUser() async throws {
        let emulator = try await AzureEmulatorProcess("ready")
        let home = try TemporaryDirectory("cmk-home")
        defer { home.cleanUp() }
        let environment = emulator.signedIn.merging(["HOME": home.path]) { _, new in new }
        let result = try await runCMK(
            ["confirm", "support-ticket", "--note", "ticket 1", "--provider", "azure", "--key-uri", Self.key],
            environment: environment
        )
        #expect(result.status == 0, "\(result.stderr)")
        let path = "\(home.path)/.local/state/cmk/confirmations.json"
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let account = String(cString: getpwuid(getuid())!.pointee.pw_name)
        #expect(text.contains("\"by\" : \"\(account)\""), "\(text)")
        let status = try await AzureStatus.run(environment: environment)
        #expect(status.state("support-ticket") == "ok")
    }

    @Test("only manual checks can be confirmed: the error names the state and lists those that can")
    func onlyManual() async throws {
        let setup = try await Self.setup()
        defer { setup.state.cleanUp() }
        let notManual = try await Self.confirm(["key-enabled", "--note", "x"], setup)
        #expect(notManual.status == 64)
        #expect(
            notManual.stderr.contains(
                "'key-enabled' is ok, not manual: only manual steps can be confirmed (cmk checks the others itself); "
                    + "the manual ones: entitlement, support-ticket, vendor-confirmation"
            ),
            "\(notManual.stderr)"
        )
        let unknown = try await Self.confirm(["no-such-check", "--note", "x"], setup)
        #expect(unknown.status == 64)
        #expect(unknown.stderr.contains("provider 'azure' has no check 'no-such-check'; the manual ones: entitlement"))
        let noNote = try await Self.confirm(["entitlement"], setup)
        #expect(noNote.status == 64)
        #expect(noNote.stderr.contains("--note is required"))
        #expect(!FileManager.default.fileExists(atPath: setup.file), "nothing was recorded")
    }

    @Test("tied to the key identifier: another key shows the step as manual again, naming the old confirmation")
    func newKeyConfirmsAgain() async throws {
        let newKey = "https://contoso-cmk.vault.azure.net/keys/cmk-key-2"
        let setup = try await Self.setup("ready") { scenario in
            var vaults = scenario["vaults"] as! [[String: Any]]
            var keys = vaults[0]["keys"] as! [[String: Any]]
            var second = keys[0]
            second["name"] = "cmk-key-2"
            keys.append(second)
            vaults[0]["keys"] = keys
            scenario["vaults"] = vaults
        }
        defer { setup.state.cleanUp() }
        #expect(try await Self.confirm(["vendor-confirmation", "--note", "ticket 12345"], setup).status == 0)
        let other = try await AzureStatus.run(environment: setup.environment, keyURI: newKey)
        #expect(other.state("vendor-confirmation") == "manual")
        let evidence = other.check("vendor-confirmation")["evidence"] as? [String] ?? []
        #expect(
            evidence.contains {
                $0.contains(
                    "for key \(Self.key), not for this key (\(newKey)): do the step for this key and confirm again"
                )
            }
        )

        // Confirmed again for the new key: that one is ok, and the old key's confirmation is replaced.
        #expect(
            try await Self.confirm(["vendor-confirmation", "--note", "ticket 67890"], setup, key: newKey).status == 0
        )
        #expect(
            try await AzureStatus.run(environment: setup.environment, keyURI: newKey).state("vendor-confirmation")
                == "ok"
        )
        #expect(try await AzureStatus.run(environment: setup.environment).state("vendor-confirmation") == "manual")
    }

    @Test("--undo withdraws it (the step is manual again); undoing nothing is an error")
    func undo() async throws {
        let setup = try await Self.setup()
        defer { setup.state.cleanUp() }
        #expect(try await Self.confirm(["vendor-confirmation", "--note", "ticket 12345"], setup).status == 0)
        let undone = try await runCMK(["confirm", "--undo", "vendor-confirmation"], environment: setup.environment)
        #expect(undone.status == 0, "\(undone.stderr)")
        #expect(undone.stdout.contains("Withdrew the confirmation of vendor-confirmation by alice on "))
        #expect(try await AzureStatus.run(environment: setup.environment).state("vendor-confirmation") == "manual")
        let again = try await runCMK(["confirm", "--undo", "vendor-confirmation"], environment: setup.environment)
        #expect(again.status == 1)
        #expect(again.stderr.contains("no confirmation of 'vendor-confirmation' is recorded"))
    }

    @Test("two confirmations at once both land (the update holds a lock; the file is replaced whole)")
    func concurrentConfirmations() async throws {
        let setup = try await Self.setup()
        defer { setup.state.cleanUp() }
        async let first = Self.confirm(["entitlement", "--note", "contract C-881"], setup)
        async let second = Self.confirm(["support-ticket", "--note", "ticket 12345"], setup)
        async let third = Self.confirm(["vendor-confirmation", "--note", "mail of 2026-12-03"], setup)
        let results = try await [first, second, third]
        #expect(results.allSatisfy { $0.status == 0 }, "\(results.map(\.stderr))")
        let status = try await AzureStatus.run(environment: setup.environment)
        for id in ["entitlement", "support-ticket", "vendor-confirmation"] {
            #expect(status.state(id) == "ok", "\(id)")
        }
        #expect(status.result.status == 0)
    }

    @Test("a target's confirmation applies to that target of a targets run only")
    func perTarget() async throws {
        let setup = try await Self.setup()
        defer { setup.state.cleanUp() }
        let targets = try TemporaryDirectory("cmk-targets")
        defer { targets.cleanUp() }
        try targets.write(
            "targets.ini",
            "provider = azure\n[target prod-eu]\nkey-uri = \(Self.key)\n[target prod-us]\nkey-uri = \(Self.key)\n"
        )
        let file = targets.file("targets.ini")
        let confirmed = try await runCMK(
            ["confirm", "vendor-confirmation", "--target", "prod-eu", "--targets", file, "--note", "ticket 12345"],
            environment: setup.environment
        )
        #expect(confirmed.status == 0, "\(confirmed.stderr)")
        #expect(confirmed.stdout.contains("Confirmed vendor-confirmation for target prod-eu"))
        let run = try await runCMK(["status", "--targets", file, "--output", "json"], environment: setup.environment)
        let reports = try #require(try run.json()["targets"] as? [[String: Any]])
        func state(_ target: String) -> String? {
            let report = reports.first { $0["target"] as? String == target }?["report"] as? [String: Any]
            let checks = report?["checks"] as? [[String: Any]]
            return checks?.first { $0["id"] as? String == "vendor-confirmation" }?["state"] as? String
        }
        #expect(state("prod-eu") == "ok")
        #expect(state("prod-us") == "manual")
        #expect(try await AzureStatus.run(environment: setup.environment).state("vendor-confirmation") == "manual")
        let missing = try await runCMK(
            ["confirm", "vendor-confirmation", "--target", "prod-eu", "--note", "x"],
            environment: setup.environment
        )
        #expect(missing.status == 64)
        #expect(missing.stderr.contains("--target needs the targets file"))
        #expect(
            try await runCMK(
                ["confirm", "--undo", "vendor-confirmation", "--target", "prod-eu"],
                environment: setup.environment
            )
            .status == 0
        )
    }

    @Test("a state file that is not cmk's: status warns and runs on; confirm refuses to overwrite it")
    func corruptStateFile() async throws {
        let setup = try await Self.setup()
        defer { setup.state.cleanUp() }
        try setup.state.write("cmk/confirmations.json", "not json")
        let status = try await AzureStatus.run(environment: setup.environment)
        #expect(status.result.status == 0)
        #expect(
            status.result.stderr.contains(
                "Warning: confirmations not applied: state file \(setup.file) is not a cmk state file"
            )
        )
        let confirm = try await Self.confirm(["entitlement", "--note", "x"], setup)
        #expect(confirm.status == 1)
        #expect(try String(contentsOfFile: setup.file, encoding: .utf8) == "not json")
    }
}

extension ConfirmTests {
    @Test("cmk confirm --help matches the stored text (Tests/Fixtures/help/confirm.txt)")
    func help() async throws {
        let stored = try String(
            contentsOfFile: "\(TestPaths.repository)/Tests/Fixtures/help/confirm.txt",
            encoding: .utf8
        )
        let result = try await runCMK(["confirm", "--help"])
        #expect(result.status == 0)
        #expect(result.stdout == stored)
    }
}
