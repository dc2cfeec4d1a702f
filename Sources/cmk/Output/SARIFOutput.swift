import CMKCore
import CMKHost
import FoundationEssentials

/// `--output sarif`: SARIF 2.1.0 (OASIS), what GitHub code scanning and other CI dashboards read.
///
/// One run; one rule per check id, its help text the check's remediation; one result per check
/// that is not `ok`, its level from the state; the key identifier as the location, and the
/// target (with `--targets`) in the message, the logical location and the properties.
///
/// | state | result kind | level |
/// |---|---|---|
/// | action-required | fail | error |
/// | warning | fail | warning |
/// | unknown | open (could not be determined) | none |
/// | manual | review | none |
/// | not-applicable | notApplicable | none |
///
/// SARIF §3.27.9: a level other than `none` only goes with kind `fail`.
enum SARIFOutput {
    static let schema = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"

    static func render(_ outcomes: [TargetOutcome], exit: ExitStatus) -> String {
        var rules: [Rule] = []
        var ruleIndex: [String: Int] = [:]
        for outcome in outcomes {
            for check in outcome.checks {
                if let index = ruleIndex[check.id] {
                    // The first remediation seen is the rule's help: later targets' may differ in names only.
                    if rules[index].help.text == nil, let remediation = check.remediation {
                        rules[index].help = Message(text: remediation)
                    }
                    continue
                }
                ruleIndex[check.id] = rules.count
                rules.append(
                    Rule(
                        id: check.id,
                        shortDescription: Message(text: "\(outcome.provider) check \(check.id)"),
                        help: Message(text: check.remediation),
                        properties: ["provider": outcome.provider]
                    )
                )
            }
        }
        // A rule needs help text: a check that never needed a fix says what it verifies.
        for index in rules.indices where rules[index].help.text == nil {
            rules[index].help = Message(text: "No action needed when this check is ok.")
        }
        var results: [Result] = []
        var notifications: [Notification] = []
        for outcome in outcomes {
            if let failure = outcome.failure {
                notifications.append(
                    Notification(
                        level: "error",
                        message: Message(text: (outcome.target.map { "\($0): " } ?? "") + failure)
                    )
                )
                continue
            }
            let location = outcome.document?.key ?? "cmk:\(outcome.provider)"
            for check in outcome.checks where check.state != .ok {
                let (kind, level) = classify(check.state)
                var properties: [String: JSONValue] = [
                    "state": .string(check.state.rawValue), "provider": .string(outcome.provider),
                ]
                if let target = outcome.target { properties["target"] = .string(target) }
                if let remediation = check.remediation { properties["remediation"] = .string(remediation) }
                if let evidence = check.evidence { properties["evidence"] = .array(evidence.map(JSONValue.string)) }
                if let expires = check.expires { properties["expires"] = .number(expires) }
                let prefix = outcome.target.map { "\($0): " } ?? ""
                let fix = check.remediation.map { "\n→ \($0)" } ?? ""
                results.append(
                    Result(
                        ruleId: check.id,
                        ruleIndex: ruleIndex[check.id]!,
                        kind: kind,
                        level: level,
                        message: Message(text: prefix + check.summary + fix),
                        locations: [
                            Location(
                                physicalLocation: PhysicalLocation(artifactLocation: ArtifactLocation(uri: location)),
                                logicalLocations: [
                                    LogicalLocation(
                                        name: outcome.target ?? outcome.provider,
                                        fullyQualifiedName: [outcome.provider, outcome.target, check.id]
                                            .compactMap { $0 }.joined(separator: "/"),
                                        kind: "resource"
                                    )
                                ]
                            )
                        ],
                        partialFingerprints: [
                            "cmkCheck/v1": [outcome.provider, outcome.target ?? "", location, check.id]
                                .joined(separator: "|")
                        ],
                        properties: properties
                    )
                )
            }
        }
        let log = Log(
            schema: schema,
            version: "2.1.0",
            runs: [
                Run(
                    tool: Tool(
                        driver: Driver(
                            name: "cmk",
                            version: CMK.version,
                            semanticVersion: CMK.version,
                            rules: rules
                        )
                    ),
                    invocations: [
                        Invocation(
                            executionSuccessful: outcomes.contains { $0.document != nil },
                            exitCode: Int(exit.rawValue),
                            toolExecutionNotifications: notifications.isEmpty ? nil : notifications
                        )
                    ],
                    results: results
                )
            ]
        )
        return encodeJSON(log)
    }

    static func classify(_ state: CheckState) -> (kind: String, level: String) {
        switch state {
        case .actionRequired: ("fail", "error")
        case .warning: ("fail", "warning")
        case .unknown: ("open", "none")
        case .manual: ("review", "none")
        case .notApplicable: ("notApplicable", "none")
        case .ok: ("pass", "none")
        }
    }

    struct Log: Encodable {
        var schema: String
        var version: String
        var runs: [Run]
        enum CodingKeys: String, CodingKey {
            case schema = "$schema"
            case version, runs
        }
    }

    struct Run: Encodable {
        var tool: Tool
        var invocations: [Invocation]
        var results: [Result]
    }

    struct Tool: Encodable { var driver: Driver }

    struct Driver: Encodable {
        var name: String
        var version: String
        var semanticVersion: String
        var rules: [Rule]
    }

    struct Rule: Encodable {
        var id: String
        var shortDescription: Message
        var help: Message
        var properties: [String: String]
    }

    struct Message: Encodable { var text: String? }

    struct Invocation: Encodable {
        var executionSuccessful: Bool
        var exitCode: Int
        var toolExecutionNotifications: [Notification]?
    }

    struct Notification: Encodable {
        var level: String
        var message: Message
    }

    struct Result: Encodable {
        var ruleId: String
        var ruleIndex: Int
        var kind: String
        var level: String
        var message: Message
        var locations: [Location]
        var partialFingerprints: [String: String]
        var properties: [String: JSONValue]
    }

    struct Location: Encodable {
        var physicalLocation: PhysicalLocation
        var logicalLocations: [LogicalLocation]
    }

    struct PhysicalLocation: Encodable { var artifactLocation: ArtifactLocation }
    struct ArtifactLocation: Encodable { var uri: String }

    struct LogicalLocation: Encodable {
        var name: String
        var fullyQualifiedName: String
        var kind: String
    }

    /// A property bag's values.
    enum JSONValue: Encodable {
        case string(String)
        case number(Int)
        case array([JSONValue])

        func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .string(let value): try container.encode(value)
            case .number(let value): try container.encode(value)
            case .array(let values): try container.encode(values)
            }
        }
    }
}
