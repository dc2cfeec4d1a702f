import Foundation
import Testing

/// Every `az` command cmk prints must work when pasted: each command and flag of every
/// remediation, over every scenario and the paths the tables of the other suites reach, is
/// checked against `Tests/Fixtures/azure/az-cli-reference.json` (taken from the Azure CLI
/// reference, with its sources and date). A command or flag not in the table fails.
@Suite("Azure CLI reference")
struct AzureCLIReferenceTests {
    struct Reference: Decodable {
        struct Command: Decodable {
            var reference: String
            var flags: [String]
        }

        var retrieved: String
        var sources: [String]
        var commands: [String: Command]

        static func load() throws -> Reference {
            let path = "\(TestPaths.repository)/Tests/Fixtures/azure/az-cli-reference.json"
            return try JSONDecoder().decode(Reference.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        }
    }

    /// One `az …` found in a text: its command words and its flags.
    struct Invocation: Equatable, CustomStringConvertible {
        var command: String
        var flags: [String]
        var description: String { "az \(command) \(flags.joined(separator: " "))" }
    }

    /// The `az` invocations of `text`: the longest known command after each `az `, then the flags
    /// up to the first value or flag that ends a clause (`,` `;` `)`); an unknown command is
    /// reported by its words.
    static func invocations(_ text: String, known: Set<String>) -> [Invocation] {
        var found: [Invocation] = []
        var rest = Substring(text)
        while let start = rest.firstRange(of: "az ") {
            let before = rest[..<start.lowerBound].last
            rest = rest[start.upperBound...]
            guard before == nil || before == " " || before == "(" || before == "`" else { continue }
            let tokens = Self.tokens(rest.prefix { $0 != "\n" })
            let words = tokens.prefix { $0.allSatisfy { $0.isLowercase || $0 == "-" } && !$0.hasPrefix("-") }
            guard !words.isEmpty else { continue }
            let command =
                (1...words.count).reversed().map { words.prefix($0).joined(separator: " ") }.first(
                    where: known.contains
                )
                ?? words.joined(separator: " ")
            var flags: [String] = []
            let afterCommand = tokens.dropFirst(command.split(separator: " ").count)
            if afterCommand.first?.hasPrefix("--") == true {
                for token in afterCommand {
                    if token == "az" { break }
                    let ends = token.hasSuffix(",") || token.hasSuffix(";") || token.hasSuffix(")")
                    if token.hasPrefix("--") {
                        flags.append(String(token.trimmingCharacters(in: CharacterSet(charactersIn: ",;)"))))
                    }
                    if ends { break }
                }
            }
            found.append(Invocation(command: command, flags: flags))
        }
        return found
    }

    /// Words of a shell line, a double-quoted value being one word.
    static func tokens(_ line: Substring) -> [String] {
        var tokens: [String] = []
        var current = ""
        var quoted = false
        for character in line {
            if character == "\"" {
                quoted.toggle()
                current.append(character)
            } else if character == " ", !quoted {
                if !current.isEmpty { tokens.append(current) }
                current = ""
            } else {
                current.append(character)
            }
        }
        if !current.isEmpty { tokens.append(current) }
        return tokens
    }

    /// What is wrong with `invocation` according to the table; nil when nothing.
    static func problem(_ invocation: Invocation, _ reference: Reference) -> String? {
        guard let command = reference.commands[invocation.command] else {
            return "az \(invocation.command) is not in the reference table"
        }
        let unknown = invocation.flags.filter { !command.flags.contains($0) }
        return unknown.isEmpty ? nil : "az \(invocation.command) has no \(unknown.joined(separator: ", "))"
    }

    struct ParserCase: CustomTestStringConvertible, Sendable {
        var text: String
        var problems: Int
        var testDescription: String { text }
    }

    static let parserCases: [ParserCase] = [
        ParserCase(text: "az keyvault update --name v --resource-group g --enable-soft-delete true", problems: 1),
        ParserCase(text: "az keyvault update-hsm --name h --enable-purge-protection true", problems: 1),
        ParserCase(
            text: "Create it: az keyvault key create --vault-name v --name k --kty RSA --size 3072",
            problems: 0
        ),
        ParserCase(text: "az keyvault key set-atributes --vault-name v --name k --enabled true", problems: 1),
        ParserCase(
            text: "Rotate: az keyvault key rotate --vault-name v --name k, or az keyvault key set-attributes "
                + "--vault-name v --name k --version 0123 --expires <date>",
            problems: 0
        ),
        ParserCase(text: "az keyvault key rotate --vault-name v --name k --version 0123", problems: 1),
        ParserCase(text: "or run cmk status after az login as that person", problems: 0),
        ParserCase(
            text: "az role assignment create --role \"Key Vault Crypto Service Encryption User\" --scope /x "
                + "--assignee-object-id o --assignee-principal-type ServicePrincipal",
            problems: 0
        ),
    ]

    @Test(
        "the checker itself: a removed flag, a typo'd command, a flag of another command fail",
        arguments: parserCases
    )
    func parser(_ parserCase: ParserCase) throws {
        let reference = try Reference.load()
        let found = Self.invocations(parserCase.text, known: Set(reference.commands.keys))
        #expect(!found.isEmpty)
        #expect(found.compactMap { Self.problem($0, reference) }.count == parserCase.problems, "\(found)")
    }

    /// A run of `cmk status`: a scenario (and how it is changed), the key identifier, signed in or not.
    struct Run: Sendable {
        var scenario: String
        var keyURI: String? = AzureEmulatorProcess.keyURI
        var signedIn = true
        var patch: (@Sendable (inout [String: Any]) -> Void)?
    }

    static let hsmKeyURI = "https://contoso-hsm.managedhsm.azure.net/keys/cmk-key"
    static let pinned = "\(AzureEmulatorProcess.keyURI)/0123456789abcdef0123456789abcdef"

    static func keyPatch(_ fields: [String: any Sendable]) -> @Sendable (inout [String: Any]) -> Void {
        { scenario in AzureChecksTests.key { key in for (name, value) in fields { key[name] = value } }(&scenario) }
    }

    static func vaultPatch(_ fields: [String: any Sendable]) -> @Sendable (inout [String: Any]) -> Void {
        { scenario in AzureChecksTests.vault { vault in for (name, value) in fields { vault[name] = value } }(&scenario)
        }
    }

    /// Every scenario, plus the variants that reach the remaining remediations.
    static func runs() throws -> [Run] {
        let files = try FileManager.default.contentsOfDirectory(atPath: AzureEmulatorProcess.scenarios)
            .filter { $0.hasSuffix(".json") }.map { String($0.dropLast(5)) }.sorted()
        var runs = files.map {
            Run(scenario: $0, keyURI: $0 == "managed-hsm" ? hsmKeyURI : AzureEmulatorProcess.keyURI)
        }
        let now = Int(Date().timeIntervalSince1970)
        runs += [
            Run(scenario: "pinned-version", keyURI: pinned),
            Run(scenario: "rotation-in-place", keyURI: pinned),
            Run(scenario: "ready", signedIn: false),
            Run(scenario: "ready", keyURI: nil),
            Run(scenario: "vault-deleted", keyURI: hsmKeyURI) { scenario in
                var deleted = scenario["deletedVaults"] as! [[String: Any]]
                deleted[0]["name"] = "contoso-hsm"
                deleted[0]["kind"] = "managedHSM"
                scenario["deletedVaults"] = deleted
            },
            Run(scenario: "ready", patch: keyPatch(["kty": "EC", "keySize": NSNull()])),
            Run(scenario: "ready", patch: keyPatch(["keyOps": ["wrapKey"], "attributes": ["enabled": false]])),
            Run(
                scenario: "ready",
                keyURI: pinned,
                patch: keyPatch(["keyOps": ["wrapKey"], "attributes": ["enabled": false]])
            ),
            Run(scenario: "ready", patch: keyPatch(["attributes": ["exp": now - 86_400]])),
            Run(scenario: "ready", keyURI: pinned, patch: keyPatch(["attributes": ["exp": now + 86_400 * 5]])),
            Run(scenario: "ready", patch: keyPatch(["attributes": ["nbf": now + 86_400 * 5]])),
            Run(scenario: "ready", patch: keyPatch(["name": "another-key"])),
            Run(scenario: "ready", patch: { $0["servicePrincipal"] = nil }),
            Run(scenario: "ready", patch: vaultPatch(["roleAssignments": [[String: String]]()])),
            Run(scenario: "access-policy") { scenario in
                AzureChecksTests.vault { vault in
                    vault["properties"] = ["enableRbacAuthorization": false, "accessPolicies": [[String: Any]]()]
                }(&scenario)
            },
            Run(
                scenario: "managed-hsm",
                keyURI: hsmKeyURI,
                patch: vaultPatch(["hsmRoleAssignments": [[String: String]]()])
            ),
            Run(scenario: "managed-hsm", keyURI: hsmKeyURI, patch: { $0["servicePrincipal"] = nil }),
            Run(
                scenario: "managed-hsm",
                keyURI: hsmKeyURI,
                patch: { $0["faults"] = [["route": "hsm.roleAssignments", "status": 500]] }
            ),
            Run(scenario: "managed-hsm", keyURI: hsmKeyURI) { scenario in
                AzureChecksTests.vault { vault in
                    vault["properties"] = ["enablePurgeProtection": false]
                    vault["keys"] = [["name": "other-key", "kty": "RSA-HSM", "keySize": 2048]]
                }(&scenario)
            },
            Run(
                scenario: "managed-hsm",
                keyURI: hsmKeyURI,
                patch: keyPatch(["keySize": 2048, "attributes": ["exp": now + 86_400 * 90]])
            ),
        ]
        return runs
    }

    /// Every remediation of every check of one run, with where it came from.
    static func remediations(_ run: Run) async throws -> [(String, String)] {
        let emulator =
            if let patch = run.patch {
                try await AzureEmulatorProcess(run.scenario, patch: patch)
            } else {
                try await AzureEmulatorProcess(run.scenario)
            }
        let environment = run.signedIn ? emulator.signedIn : ["CMK_ENDPOINT_OVERRIDE": emulator.origin]
        let status = try await AzureStatus(run.keyURI.map { ["--key-uri", $0] } ?? [], environment: environment)
        let causes = (status.document["causes"] as? [[String: Any]] ?? []).compactMap { cause in
            (cause["remediation"] as? String).map { ("\(run.scenario) cause \(cause["id"] ?? "")", $0) }
        }
        return causes + status.checks.compactMap { check in
            (check["remediation"] as? String).map { ("\(run.scenario) \(check["id"] ?? "")", $0) }
        }
    }

    @Test("every az command and flag cmk prints, over every scenario, is in the reference table; every entry is used")
    func everyRemediation() async throws {
        let reference = try Reference.load()
        #expect(reference.retrieved.count == 10 && !reference.sources.isEmpty)
        let known = Set(reference.commands.keys)
        let all = try await withThrowingTaskGroup(of: [(String, String)].self) { group in
            for run in try Self.runs() { group.addTask { try await Self.remediations(run) } }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        var used: Set<String> = []
        for (origin, remediation) in all {
            for invocation in Self.invocations(remediation, known: known) {
                used.insert(invocation.command)
                if let problem = Self.problem(invocation, reference) {
                    Issue.record("\(origin): \(problem) in: \(remediation)")
                }
            }
        }
        #expect(used == known, "in the table but never printed: \(known.subtracting(used).sorted())")
    }

    @Test("every az command and --flag written in the provider's checks is in the table (paths no scenario reaches)")
    func sources() throws {
        let reference = try Reference.load()
        let known = Set(reference.commands.keys)
        let flags = Set(reference.commands.values.flatMap(\.flags))
        // cmk's own options, printed in the same texts (`cmk ticket --provider azure --key-uri …`).
        let cmkFlags: Set<String> = ["--provider", "--key-uri", "--credential", "--vault-resource-id"]
        let docs =
            try String(contentsOfFile: "\(TestPaths.repository)/docs/azure.md", encoding: .utf8)
            + String(contentsOfFile: "\(TestPaths.repository)/Tests/Fixtures/help/status.txt", encoding: .utf8)
        for flag in cmkFlags { #expect(docs.contains(flag), "\(flag) is not a cmk option") }
        let directory = "\(TestPaths.repository)/Plugins/Azure"
        let files =
            try FileManager.default.contentsOfDirectory(atPath: "\(directory)/Checks").map { "Checks/\($0)" }
            + ["AzureProvider.swift"]
        let literal = try NSRegularExpression(pattern: #""(?:[^"\\]|\\.)*""#)
        let flag = try NSRegularExpression(pattern: #"--[a-z][a-z-]*"#)
        var seen = 0
        for file in files {
            let text = try String(contentsOfFile: "\(directory)/\(file)", encoding: .utf8)
            for match in literal.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                let string = String(text[Range(match.range, in: text)!])
                for invocation in Self.invocations(string, known: known) where !known.contains(invocation.command) {
                    Issue.record("\(file): az \(invocation.command) is not in the reference table: \(string)")
                }
                for found in flag.matches(in: string, range: NSRange(string.startIndex..., in: string)) {
                    let name = String(string[Range(found.range, in: string)!])
                    seen += 1
                    #expect(flags.contains(name) || cmkFlags.contains(name), "\(file): \(name) in \(string)")
                }
            }
        }
        #expect(seen > 30, "the scan found the flags")
    }
}
