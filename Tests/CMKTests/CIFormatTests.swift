import Foundation
import FoundationXML
import Testing

/// `--output sarif` and `--output junit` (issue 11, item 1), and `--fail-on` (item 2), against
/// the emulator: SARIF validated against the OASIS SARIF 2.1.0 schema kept in Tests/Fixtures/sarif,
/// JUnit parsed as XML and checked against the report it renders.
@Suite("CI formats and --fail-on")
struct CIFormatTests {
    static let schema: JSON = {
        let path = "\(TestPaths.repository)/Tests/Fixtures/sarif/sarif-schema-2.1.0.json"
        return (try? JSON.parse(String(contentsOfFile: path, encoding: .utf8))) ?? .null
    }()

    /// The same report as JSON and in `format`, from one emulator.
    static func both(_ format: String, scenario: String, patch: @escaping (inout [String: Any]) -> Void = { _ in })
        async throws -> (json: AzureStatus, output: CMKResult)
    {
        let emulator = try await AzureEmulatorProcess(scenario, patch: patch)
        let json = try await AzureStatus.run(environment: emulator.signedIn)
        let output = try await runCMK(
            ["status", "--provider", "azure", "--key-uri", AzureEmulatorProcess.keyURI, "--output", format],
            environment: emulator.signedIn
        )
        return (json, output)
    }

    // MARK: SARIF

    @Test("the validator finds what the SARIF schema forbids (so that a pass means something)")
    func validatorRejects() throws {
        let validator = JSONSchemaValidator(root: Self.schema)
        let minimal = try JSON.parse(#"{"version": "2.1.0", "runs": []}"#)
        #expect(validator.errors(minimal).isEmpty)
        let broken: [(String, String)] = [
            (#"{"runs": []}"#, "required"),
            (#"{"version": "2.0.0", "runs": []}"#, "enum"),
            (#"{"version": "2.1.0", "runs": [], "extra": 1}"#, "additional"),
            (#"{"version": "2.1.0", "runs": [{}]}"#, "required"),  // run.tool, through $ref
            (#"{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": 3}}}]}"#, "type"),
            (
                #"{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}, "results": [{"message": {"text": "m"}, "level": "fatal"}]}]}"#,
                "enum"
            ),
            (
                #"{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}, "results": [{"message": {}}]}]}"#,
                "anyOf"
            ),
            (
                #"{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x", "guid": "not-a-guid"}}}]}"#,
                "pattern"
            ),
        ]
        for (document, keyword) in broken {
            let errors = validator.errors(try JSON.parse(document))
            #expect(errors.contains { $0.contains(keyword) }, "\(document): \(errors)")
        }
    }

    @Test(
        "SARIF is valid against the SARIF 2.1.0 schema: one rule per check, one result per check not ok",
        arguments: ["mixed", "ready"]
    )
    func sarif(_ scenario: String) async throws {
        let named = OpsScenarios.named(scenario)
        let (json, output) = try await Self.both("sarif", scenario: named.base, patch: named.patch)
        #expect(output.status == json.result.status, "the format does not change the exit status")
        let log = try JSON.parse(output.stdout)
        let errors = JSONSchemaValidator(root: Self.schema).errors(log)
        #expect(errors.isEmpty, "\(errors.prefix(10))")

        #expect(log["version"]?.string == "2.1.0")
        let run = try #require(log["runs"]?[0])
        #expect(run["tool"]?["driver"]?["name"]?.string == "cmk")
        let rules = run["tool"]?["driver"]?["rules"]?.array ?? []
        let ids = json.checks.compactMap { $0["id"] as? String }
        #expect(rules.compactMap { $0["id"]?.string } == ids, "one rule per check id, in the report's order")
        for rule in rules {
            #expect(rule["help"]?["text"]?.string?.isEmpty == false, "\(rule)")
            let check = json.check(rule["id"]?.string ?? "")
            if let remediation = check["remediation"] as? String {
                #expect(rule["help"]?["text"]?.string == remediation, "the help text is the check's fix")
            }
        }
        let results = run["results"]?.array ?? []
        let notOK = json.checks.filter { $0["state"] as? String != "ok" }
        #expect(results.count == notOK.count)
        let levels = [
            "action-required": "error", "warning": "warning", "unknown": "none", "manual": "none",
            "not-applicable": "none",
        ]
        let kinds = [
            "action-required": "fail", "warning": "fail", "unknown": "open", "manual": "review",
            "not-applicable": "notApplicable",
        ]
        for (result, check) in zip(results, notOK) {
            let state = check["state"] as! String
            #expect(result["ruleId"]?.string == check["id"] as? String)
            #expect(result["level"]?.string == levels[state], "\(state)")
            #expect(result["kind"]?.string == kinds[state], "\(state)")
            #expect(result["properties"]?["state"]?.string == state)
            #expect(result["message"]?["text"]?.string?.hasPrefix(check["summary"] as! String) == true)
            let index = Int(result["ruleIndex"]?.number ?? -1)
            #expect(rules.indices.contains(index) && rules[index]["id"] == result["ruleId"])
            #expect(
                result["locations"]?[0]?["physicalLocation"]?["artifactLocation"]?["uri"]?.string
                    == AzureEmulatorProcess.keyURI,
                "the key identifier is the location"
            )
        }
        let states = Set(notOK.compactMap { $0["state"] as? String })
        let expected: Set<String> =
            scenario == "mixed" ? ["action-required", "warning", "unknown", "manual"] : ["not-applicable", "manual"]
        #expect(states.isSuperset(of: expected), "\(states)")
        #expect(run["invocations"]?[0]?["exitCode"]?.number == Double(json.result.status))
    }

    @Test("a run that gives no report still writes a valid file: the failure as a notification, a JUnit error")
    func failureStillWritesTheFile() async throws {
        let arguments = ["status", "--provider", "azure", "--key-uri", "https://not-a-vault.example/keys/k"]
        let sarif = try await runCMK(arguments + ["--output", "sarif"])
        #expect(sarif.status == 64)
        let log = try JSON.parse(sarif.stdout)
        #expect(JSONSchemaValidator(root: Self.schema).errors(log).isEmpty)
        let invocation = try #require(log["runs"]?[0]?["invocations"]?[0])
        #expect(invocation["executionSuccessful"] == .bool(false))
        #expect(invocation["exitCode"]?.number == 64)
        #expect(
            invocation["toolExecutionNotifications"]?[0]?["message"]?["text"]?.string?.contains("--key-uri") == true
        )
        let junit = try await runCMK(arguments + ["--output", "junit"])
        let root = try XMLTree.parse(junit.stdout)
        #expect(root.attributes["errors"] == "1")
    }

    // MARK: JUnit

    @Test(
        "JUnit: a test case per check; action-required fails, unknown errs, manual and n/a skip, warning passes with a note"
    )
    func junit() async throws {
        for scenario in ["mixed", "ready"] {
            let named = OpsScenarios.named(scenario)
            let (json, output) = try await Self.both("junit", scenario: named.base, patch: named.patch)
            #expect(output.status == json.result.status)
            let root = try XMLTree.parse(output.stdout)
            #expect(root.name == "testsuites")
            let suites = root.children.filter { $0.name == "testsuite" }
            #expect(suites.count == 1)
            let suite = try #require(suites.first)
            #expect(suite.attributes["name"] == AzureEmulatorProcess.keyURI)
            let cases = suite.children.filter { $0.name == "testcase" }
            #expect(cases.map { $0.attributes["name"] ?? "" } == json.checks.compactMap { $0["id"] as? String })
            var counts = ["failure": 0, "error": 0, "skipped": 0]
            for (testCase, check) in zip(cases, json.checks) {
                let state = check["state"] as! String
                let outcome = testCase.children.map(\.name)
                switch state {
                case "action-required":
                    #expect(outcome == ["failure"], "\(state)")
                    #expect(testCase.children.first?.attributes["message"] == check["summary"] as? String)
                    #expect(testCase.children.first?.text.contains((check["remediation"] as? String) ?? "") == true)
                case "unknown": #expect(outcome == ["error"], "\(state)")
                case "manual", "not-applicable": #expect(outcome == ["skipped"], "\(state)")
                case "warning":
                    #expect(outcome == ["system-out"], "\(state)")
                    #expect(testCase.children.first?.text.hasPrefix("warning: ") == true)
                default: #expect(outcome.isEmpty, "\(state): a pass")
                }
                for name in outcome where counts[name] != nil { counts[name]! += 1 }
            }
            for (attribute, value) in [
                ("tests", cases.count), ("failures", counts["failure"]!), ("errors", counts["error"]!),
                ("skipped", counts["skipped"]!),
            ] {
                #expect(suite.attributes[attribute] == String(value), "testsuite \(attribute)")
                #expect(root.attributes[attribute] == String(value), "testsuites \(attribute)")
            }
            #expect(Double(suite.attributes["time"] ?? "") != nil)
            #expect(suite.attributes["timestamp"]?.count == 19, "ISO 8601 without a zone, as the JUnit schema has it")
        }
    }

    @Test("XML special characters in summaries are escaped: the document parses")
    func junitEscaping() async throws {
        // The needs-setup consent URL carries '&' and the fixes '<new-vault>'.
        let (_, output) = try await Self.both("junit", scenario: "needs-setup")
        #expect(output.stdout.contains("&amp;"))
        #expect(output.stdout.contains("&lt;new-vault&gt;"))
        _ = try XMLTree.parse(output.stdout)
    }

    // MARK: --fail-on

    struct FailOnCase: CustomStringConvertible, Sendable {
        var state: String
        var failOn: String?
        var expected: Int32
        var description: String { "\(state), --fail-on \(failOn ?? "(default)") → \(expected)" }
    }

    static let failOnCases: [FailOnCase] = [
        FailOnCase(state: "action-required", failOn: nil, expected: 2),
        FailOnCase(state: "unknown", failOn: nil, expected: 3),
        FailOnCase(state: "warning", failOn: nil, expected: 0),
        FailOnCase(state: "ok", failOn: nil, expected: 0),
        FailOnCase(state: "action-required", failOn: "action-required", expected: 2),
        FailOnCase(state: "unknown", failOn: "action-required", expected: 0),
        FailOnCase(state: "warning", failOn: "action-required", expected: 0),
        FailOnCase(state: "unknown", failOn: "unknown", expected: 3),
        FailOnCase(state: "action-required", failOn: "unknown", expected: 2),
        FailOnCase(state: "warning", failOn: "warning", expected: 4),
        FailOnCase(state: "unknown", failOn: "warning", expected: 3),
        FailOnCase(state: "ok", failOn: "warning", expected: 0),
        FailOnCase(state: "action-required", failOn: "never", expected: 0),
        FailOnCase(state: "unknown", failOn: "never", expected: 0),
    ]

    @Test("--fail-on: each level adds to the one before; the default is today's behaviour", arguments: failOnCases)
    func failOn(_ testCase: FailOnCase) async throws {
        let plugins = try TemporaryDirectory("cmk-plugins")
        defer { plugins.cleanUp() }
        try await TestProvider.build("cstub", in: plugins)
        for format in ["text", "sarif"] {
            let result = try await runCMK(
                ["status", "--provider", "cstub", "--output", format]
                    + (testCase.failOn.map { ["--fail-on", $0] } ?? []),
                environment: ["CMK_PLUGIN_PATH": plugins.path, "CSTUB_STATE": testCase.state]
            )
            #expect(result.status == testCase.expected, "\(format): \(result.stdout)\(result.stderr)")
            let readiness: Int32 = ["action-required": 2, "unknown": 3][testCase.state] ?? 0
            if format == "text", let failOn = testCase.failOn, testCase.expected != readiness {
                #expect(result.stdout.contains("--fail-on \(failOn): exit \(testCase.expected)"), "\(result.stdout)")
            }
        }
    }

    @Test("--fail-on against the emulator: a report that needs action passes the pipeline only with never")
    func failOnEmulator() async throws {
        let emulator = try await AzureEmulatorProcess("needs-setup")
        for (failOn, expected) in [("action-required", Int32(2)), ("never", 0)] {
            let result = try await runCMK(
                [
                    "status", "--provider", "azure", "--key-uri", AzureEmulatorProcess.keyURI, "--output", "sarif",
                    "--fail-on", failOn,
                ],
                environment: emulator.signedIn
            )
            #expect(result.status == expected)
            #expect(
                try JSON.parse(result.stdout)["runs"]?[0]?["invocations"]?[0]?["exitCode"]?.number == Double(expected)
            )
        }
    }

    @Test("a bad --fail-on is a usage error naming the levels; --fail-on is documented beside the exit statuses")
    func failOnUsage() async throws {
        let result = try await runCMK(["status", "--provider", "aws", "--fail-on", "sometimes"])
        #expect(result.status == 64)
        #expect(result.stderr.contains("--fail-on takes action-required, unknown, warning, never, not 'sometimes'"))
        let help = try await runCMK(["status", "--help"]).stdout
        let exitTable = try #require(help.range(of: "EXIT STATUS:"))
        let failOnTable = try #require(help.range(of: "FAIL ON (--fail-on"))
        #expect(exitTable.upperBound < failOnTable.lowerBound)
        let readme = try String(contentsOfFile: "\(TestPaths.repository)/README.md", encoding: .utf8)
        #expect(readme.contains("--fail-on"))
    }
}

// MARK: - A JSON Schema (draft 04) validator, for the keywords the SARIF schema uses

/// Validates a JSON value against a draft-04 schema: `$ref` (JSON pointers into the root), `type`,
/// `enum`, `properties`, `additionalProperties`, `required`, `items`, `minItems`, `uniqueItems`,
/// `minimum`, `maximum`, `pattern`, `anyOf` and `oneOf`. `format` and `default` are not checked.
struct JSONSchemaValidator {
    let root: JSON

    func errors(_ value: JSON) -> [String] {
        var errors: [String] = []
        validate(value, root, "$", &errors)
        return errors
    }

    private func resolve(_ reference: String) -> JSON? {
        guard reference.hasPrefix("#") else { return nil }
        var node = root
        for part in reference.dropFirst().split(separator: "/") {
            let key = part.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
            guard let next = node[key] else { return nil }
            node = next
        }
        return node
    }

    private func isType(_ value: JSON, _ type: String) -> Bool {
        switch (type, value) {
        case ("null", .null), ("boolean", .bool), ("object", .object), ("array", .array), ("string", .string),
            ("number", .number):
            return true
        case ("integer", .number(let number)): return number == number.rounded()
        default: return false
        }
    }

    private func validate(_ value: JSON, _ schema: JSON, _ path: String, _ errors: inout [String]) {
        guard case .object = schema else { return }
        if let reference = schema["$ref"]?.string {
            // Draft 04: a $ref replaces the schema it sits in.
            guard let target = resolve(reference) else {
                errors.append("\(path): $ref \(reference) does not resolve")
                return
            }
            validate(value, target, path, &errors)
            return
        }
        if let type = schema["type"] {
            let types = type.string.map { [$0] } ?? type.array.compactMap(\.string)
            if !types.contains(where: { isType(value, $0) }) {
                errors.append("\(path): type \(types) expected, found \(value)")
                return
            }
        }
        if let options = schema["enum"]?.array, !options.contains(value) {
            errors.append("\(path): enum \(options) does not have \(value)")
        }
        if let alternatives = schema["anyOf"]?.array {
            let matching = alternatives.filter { alternative in
                var scratch: [String] = []
                validate(value, alternative, path, &scratch)
                return scratch.isEmpty
            }
            if matching.isEmpty { errors.append("\(path): anyOf: no alternative matches") }
        }
        if let alternatives = schema["oneOf"]?.array {
            let matching = alternatives.filter { alternative in
                var scratch: [String] = []
                validate(value, alternative, path, &scratch)
                return scratch.isEmpty
            }
            if matching.count != 1 { errors.append("\(path): oneOf: \(matching.count) alternatives match, not 1") }
        }
        switch value {
        case .object(let members):
            for name in schema["required"]?.array.compactMap(\.string) ?? [] where members[name] == nil {
                errors.append("\(path): required property '\(name)' is missing")
            }
            let properties: [String: JSON]
            if case .object(let declared)? = schema["properties"] { properties = declared } else { properties = [:] }
            for (name, member) in members {
                if let property = properties[name] {
                    validate(member, property, "\(path).\(name)", &errors)
                } else if let additional = schema["additionalProperties"] {
                    if additional == .bool(false) {
                        errors.append("\(path): additional property '\(name)' is not allowed")
                    } else {
                        validate(member, additional, "\(path).\(name)", &errors)
                    }
                }
            }
        case .array(let items):
            if let minimum = schema["minItems"]?.number, Double(items.count) < minimum {
                errors.append("\(path): minItems \(Int(minimum)), found \(items.count)")
            }
            if schema["uniqueItems"] == .bool(true), Set(items.map(\.description)).count != items.count {
                errors.append("\(path): uniqueItems: duplicates")
            }
            if let itemSchema = schema["items"] {
                for (index, item) in items.enumerated() { validate(item, itemSchema, "\(path)[\(index)]", &errors) }
            }
        case .number(let number):
            if let minimum = schema["minimum"]?.number, number < minimum {
                errors.append("\(path): minimum \(minimum), found \(number)")
            }
            if let maximum = schema["maximum"]?.number, number > maximum {
                errors.append("\(path): maximum \(maximum), found \(number)")
            }
        case .string(let text):
            if let pattern = schema["pattern"]?.string {
                let expression = try? NSRegularExpression(pattern: pattern)
                let range = NSRange(text.startIndex..., in: text)
                if expression?.firstMatch(in: text, range: range) == nil {
                    errors.append("\(path): pattern \(pattern) does not match '\(text)'")
                }
            }
        default:
            break
        }
    }
}

// MARK: - XML, as far as the JUnit tests need it

/// An XML element tree, from Foundation's XMLParser: a parse error fails the test.
final class XMLTree {
    let name: String
    let attributes: [String: String]
    var children: [XMLTree] = []
    var text = ""

    init(name: String, attributes: [String: String]) {
        self.name = name
        self.attributes = attributes
    }

    static func parse(_ document: String) throws -> XMLTree {
        let builder = Builder()
        let parser = XMLParser(data: Data(document.utf8))
        parser.delegate = builder
        guard parser.parse(), let root = builder.root else {
            throw TestFailure("not well-formed XML (\(parser.parserError.map { "\($0)" } ?? "no root")):\n\(document)")
        }
        return root
    }

    private final class Builder: NSObject, XMLParserDelegate {
        var root: XMLTree?
        var stack: [XMLTree] = []

        func parser(
            _ parser: XMLParser,
            didStartElement elementName: String,
            namespaceURI: String?,
            qualifiedName: String?,
            attributes: [String: String] = [:]
        ) {
            let element = XMLTree(name: elementName, attributes: attributes)
            stack.last?.children.append(element)
            if root == nil { root = element }
            stack.append(element)
        }

        func parser(
            _ parser: XMLParser,
            didEndElement elementName: String,
            namespaceURI: String?,
            qualifiedName: String?
        ) {
            stack.removeLast()
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) { stack.last?.text += string }
    }
}
