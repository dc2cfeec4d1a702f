import CMKCore
import Foundation
import Testing

/// What the tests of issue 11 (CI formats, watch, metrics, targets, confirmations) share.
extension AzureEmulatorProcess {
    /// Puts another scenario in force while the emulator runs (`POST /_emulator/scenario`): a
    /// name under Tests/Fixtures/azure/scenarios or a file path ending in .json.
    func switchScenario(_ name: String) async throws {
        let client = try HTTPClient(environment: caBundle.map { ["CMK_CA_BUNDLE": $0] } ?? [:])
        let encoded = name.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? name
        let response = try await client.send(
            HTTPRequest(method: "POST", url: "\(origin)/_emulator/scenario?name=\(encoded)", timeout: .seconds(30))
        )
        guard response.status == 200 else {
            throw TestFailure(
                "the emulator refused scenario \(name): \(String(decoding: response.body, as: UTF8.self))"
            )
        }
    }

    /// Writes scenario `base` changed by `patch` to a temporary file and returns its path.
    static func scenarioFile(_ base: String, patch: (inout [String: Any]) -> Void) throws -> String {
        let data = try Data(contentsOf: URL(fileURLWithPath: "\(scenarios)/\(base).json"))
        var scenario = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        patch(&scenario)
        let path = NSTemporaryDirectory() + "cmk-azure-scenario-\(UUID().uuidString).json"
        try JSONSerialization.data(withJSONObject: scenario).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// How many times the emulator's token endpoints were asked for a token.
    func signIns() async throws -> Int {
        try await requests().filter { ["login.token", "imds.token", "appservice.token"].contains($0.route) }.count
    }
}

/// Scenario patches the suites use.
enum OpsScenarios {
    /// needs-setup with the vault's ARM read failing: every state but not-applicable in one report
    /// (manual, ok, action-required, unknown, warning).
    static func mixed(_ scenario: inout [String: Any]) {
        scenario["faults"] = [["route": "arm.vault", "status": 500]]
    }

    /// The first vault's first key, changed by `change` (its `attributes`, say).
    static func key(_ change: @escaping (inout [String: Any]) -> Void) -> (inout [String: Any]) -> Void {
        { scenario in
            var vaults = scenario["vaults"] as! [[String: Any]]
            var keys = vaults[0]["keys"] as! [[String: Any]]
            change(&keys[0])
            vaults[0]["keys"] = keys
            scenario["vaults"] = vaults
        }
    }

    /// ready with the key disabled: key-enabled action-required.
    static func disabledKey(_ scenario: inout [String: Any]) {
        key { key in key["attributes"] = ["enabled": false, "recoveryLevel": "Recoverable"] }(&scenario)
    }

    /// 2030-01-01T00:00:00Z
    static let expiry = 1_893_456_000

    /// ready with an expiry date on the key: key-expiry ok with `expires`, key-rotation a warning.
    static func expiringKey(_ scenario: inout [String: Any]) {
        key { key in key["attributes"] = ["enabled": true, "recoveryLevel": "Recoverable", "exp": expiry] }(&scenario)
    }

    /// `mixed` (needs-setup with a fault) or `ready`, as a scenario name and its patch.
    static func named(_ name: String) -> (base: String, patch: (inout [String: Any]) -> Void) {
        if name == "mixed" { return ("needs-setup", { mixed(&$0) }) }
        return (name, { _ in })
    }
}

/// A JSON value with its kind kept (a boolean is not a number), for the schema validator and
/// the tests that compare documents.
indirect enum JSON: Equatable, Decodable, CustomStringConvertible {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSON])
    case object([String: JSON])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSON].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSON].self))
        }
    }

    static func parse(_ text: String) throws -> JSON { try JSONDecoder().decode(JSON.self, from: Data(text.utf8)) }

    subscript(key: String) -> JSON? {
        if case .object(let members) = self { return members[key] }
        return nil
    }

    subscript(index: Int) -> JSON? {
        if case .array(let items) = self, items.indices.contains(index) { return items[index] }
        return nil
    }

    var string: String? { if case .string(let value) = self { value } else { nil } }
    var array: [JSON] { if case .array(let value) = self { value } else { [] } }
    var number: Double? { if case .number(let value) = self { value } else { nil } }

    var description: String {
        switch self {
        case .null: "null"
        case .bool(let value): "\(value)"
        case .number(let value): "\(value)"
        case .string(let value): "\"\(value)\""
        case .array(let items): "[\(items.map(\.description).joined(separator: ","))]"
        case .object(let members): "{\(members.map { "\"\($0.key)\":\($0.value)" }.sorted().joined(separator: ","))}"
        }
    }
}
