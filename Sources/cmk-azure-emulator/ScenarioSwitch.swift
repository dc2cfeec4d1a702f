import Synchronization

/// The scenario in force and its faults, which a test may replace while cmk runs:
/// `POST /_emulator/scenario?name=<name|file.json>` (a key disabled between two rounds of
/// `cmk status --watch`). Tokens already issued stay valid and the request log is kept, so a
/// client sees one tenant whose state changed, not a new emulator.
final class ScenarioSwitch: Sendable {
    private struct Current {
        var scenario: Scenario
        var faults: FaultPlan
    }

    private let current: Mutex<Current>
    /// Where scenarios named without `.json` are read from (Tests/Fixtures/azure/scenarios).
    private let directory: String?

    init(_ scenario: Scenario, directory: String?) {
        current = Mutex(Current(scenario: scenario, faults: FaultPlan(scenario.faults ?? [])))
        self.directory = directory
    }

    var scenario: Scenario { current.withLock { $0.scenario } }
    var faults: FaultPlan { current.withLock { $0.faults } }

    /// Loads `name` (a scenario name, or a path ending in .json) and puts it in force, with fresh fault counts.
    func replace(with name: String) throws -> Scenario {
        let path: String
        if name.hasSuffix(".json") {
            path = name
        } else {
            guard let directory, !name.contains("/") else { throw EmulatorError("no scenario named '\(name)'") }
            path = "\(directory)/\(name).json"
        }
        let scenario = try Scenario.load(path)
        current.withLock { $0 = Current(scenario: scenario, faults: FaultPlan(scenario.faults ?? [])) }
        return scenario
    }
}
