import Foundation
import Testing

/// The text an admin reads: wrapped to the width with hanging indents, causes said once,
/// commands pasteable, ASCII outside UTF-8 — compared with stored files (Tests/Fixtures/text).
///
/// `CMK_UPDATE_GOLDEN=1 swift test --filter TextLayoutTests` rewrites the stored files; review the diff.
@Suite("Text layout")
struct TextLayoutTests {
    struct Golden: Sendable, CustomTestStringConvertible {
        var scenario: String
        var columns: Int
        var signedIn = true
        var locale = "C.UTF-8"
        var file: String {
            "\(scenario)\(signedIn ? "" : "-no-sign-in")\(locale == "C" ? "-ascii" : "")-\(columns).txt"
        }
        var testDescription: String { file }
    }

    static let goldens: [Golden] = [
        Golden(scenario: "ready", columns: 80), Golden(scenario: "ready", columns: 120),
        Golden(scenario: "needs-setup", columns: 80), Golden(scenario: "needs-setup", columns: 120),
        Golden(scenario: "firewall-blocked", columns: 80), Golden(scenario: "firewall-blocked", columns: 120),
        Golden(scenario: "tenant-mismatch", columns: 80),
        Golden(scenario: "needs-setup", columns: 80, signedIn: false),
        Golden(scenario: "needs-setup", columns: 80, locale: "C"),
    ]

    @Test("cmk status text matches the stored layout", arguments: goldens)
    func matchesStoredText(_ golden: Golden) async throws {
        let text = try await Self.statusText(golden)
        let path = "\(TestPaths.repository)/Tests/Fixtures/text/\(golden.file)"
        if ProcessInfo.processInfo.environment["CMK_UPDATE_GOLDEN"] == "1" {
            try FileManager.default.createDirectory(
                atPath: (path as NSString).deletingLastPathComponent,
                withIntermediateDirectories: true
            )
            try text.write(toFile: path, atomically: true, encoding: .utf8)
        }
        let stored = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text == stored, "differs from \(golden.file); CMK_UPDATE_GOLDEN=1 rewrites it")
    }

    @Test("no line is wider than the width, except a single word that cannot break (a URL)", arguments: [60, 80, 120])
    func fitsTheWidth(_ columns: Int) async throws {
        let text = try await Self.statusText(Golden(scenario: "needs-setup", columns: columns))
        for line in text.split(separator: "\n") where line.count > columns {
            // A quoted shell argument is one word; an option and its value stay together.
            let unquoted = String(line).replacingOccurrences(of: #""[^"]*""#, with: "Q", options: .regularExpression)
            let words = unquoted.split(separator: " ").filter { $0 != "→" && $0 != "\\" }
            let oneArgument = words.count <= 2 && (words.first?.hasPrefix("--") == true || words.count == 1)
            #expect(oneArgument || words.contains { $0.count > columns / 2 }, "too wide: \(line)")
        }
    }

    @Test("a command broken over lines is the same command when pasted", arguments: [60, 80])
    func commandsPasteWhole(_ columns: Int) async throws {
        let emulator = try await AzureEmulatorProcess("needs-setup", tls: true)
        defer { emulator.stop() }
        let json = try await AzureStatus.run(environment: emulator.signedIn)
        let text = try await Self.statusText(Golden(scenario: "needs-setup", columns: columns), emulator: emulator)
        // What a shell sees: a trailing backslash joins the next line.
        let pasted = text.replacingOccurrences(of: " \\\n", with: " ").split(separator: "\n")
            .map { $0.split(separator: " ").joined(separator: " ") }
        for id in ["vault-purge-protection", "app-key-access"] {
            let remediation = json.remediation(id)
            let command = try #require(remediation.range(of: "az ").map { String(remediation[$0.lowerBound...]) })
            let collapsed = command.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
            #expect(pasted.contains { $0.hasPrefix("→ ") ? String($0.dropFirst(2)) == collapsed : $0 == collapsed },
                "\(id): '\(collapsed)' is not one pasteable command in:\n\(text)")
        }
    }

    @Test("outside a UTF-8 locale the markers and arrows are ASCII")
    func asciiMarkers() async throws {
        let text = try await Self.statusText(Golden(scenario: "needs-setup", columns: 80, locale: "C"))
        #expect(!text.contains("✓") && !text.contains("✗") && !text.contains("→"))
        #expect(text.contains("  x action-required  "))
        #expect(text.contains("-> "))
    }

    static func statusText(_ golden: Golden, emulator given: AzureEmulatorProcess? = nil) async throws -> String {
        let started = given == nil ? try await AzureEmulatorProcess(golden.scenario, tls: true) : nil
        defer { started?.stop() }
        let emulator = try #require(given ?? started)
        var environment =
            golden.signedIn
            ? emulator.signedIn
            : ["CMK_ENDPOINT_OVERRIDE": emulator.origin, "CMK_CA_BUNDLE": emulator.caBundle ?? ""]
        environment["COLUMNS"] = String(golden.columns)
        environment["LANG"] = golden.locale
        let result = try await runCMK(
            ["status", "--provider", "azure", "--key-uri", AzureEmulatorProcess.keyURI],
            environment: environment,
            onPath: true
        )
        return result.stdout
    }
}
