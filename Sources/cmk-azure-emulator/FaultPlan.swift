import Synchronization

/// The scenario's faults, each with its own counts: a 429 twice, then success.
final class FaultPlan: Sendable {
    private struct Counts {
        var passed: Int
        var remaining: Int?
    }

    private let faults: [Scenario.Fault]
    private let counts: Mutex<[Counts]>

    init(_ faults: [Scenario.Fault]) {
        self.faults = faults
        counts = Mutex(faults.map { Counts(passed: 0, remaining: $0.times) })
    }

    /// The first fault that applies to this request of `route`, counted as used.
    func take(_ route: String) -> Scenario.Fault? {
        counts.withLock { counts in
            for (index, fault) in faults.enumerated() where fault.route == route || fault.route == "*" {
                if counts[index].passed < fault.after ?? 0 {
                    counts[index].passed += 1
                    continue
                }
                switch counts[index].remaining {
                case nil:
                    return fault
                case let count? where count > 0:
                    counts[index].remaining = count - 1
                    return fault
                default:
                    continue
                }
            }
            return nil
        }
    }
}
