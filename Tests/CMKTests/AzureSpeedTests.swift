import Testing

/// Independent calls overlap: with 50 ms added to every response, a full `cmk status` costs about
/// the longest chain (sign-in → Resource Graph → role assignments → role definitions), 4 × 50 ms,
/// not the 16 × 50 ms of its calls one after the other, with 2 subscriptions or 300.
@Suite("Azure speed", .serialized)
struct AzureSpeedTests {
    static let latency = 50

    /// How long one `cmk status` against `emulator` takes.
    static func elapsed(_ emulator: AzureEmulatorProcess) async throws -> Duration {
        let start = ContinuousClock.now
        let status = try await AzureStatus.run(environment: emulator.signedIn)
        #expect(status.result.status == 0)
        return ContinuousClock.now - start
    }

    @Test(
        "16 calls, 3 sign-ins, and the added latency of a chain of 4 round trips, with 2 or 300 subscriptions",
        arguments: ["ready", "many-subscriptions"]
    )
    func chainBound(_ scenario: String) async throws {
        let slow = try await AzureEmulatorProcess(scenario) { $0["latencyMs"] = Self.latency }
        let fast = try await AzureEmulatorProcess(scenario)
        // Interleaved, best of 5 each: the machine's load (tests run in parallel) affects both
        // alike, so the difference is what the latency added. The absolute figure, measured on a
        // quiet machine, is in docs/azure.md.
        var slowest = Duration.seconds(60)
        var fastest = Duration.seconds(60)
        for _ in 0..<5 {
            slowest = min(slowest, try await Self.elapsed(slow))
            fastest = min(fastest, try await Self.elapsed(fast))
        }
        let requests = try await slow.requests()
        #expect(requests.count == 5 * 16, "\(Dictionary(grouping: requests, by: \.route).mapValues(\.count))")
        #expect(!requests.contains { $0.route == "arm.resources" }, "Resource Graph, not a walk of the subscriptions")
        #expect(requests.filter { $0.route == "login.token" }.count == 5 * 3, "one sign-in per audience per run")
        // A structural check, not a speed measurement (that is bench/bench.py): run one after the
        // other, the 16 calls would add at least 16 × 50 ms; overlapped, about the chain's 4 × 50.
        let added = slowest - fastest
        #expect(added < .milliseconds(8 * Self.latency), "the latency added \(added) (\(slowest) - \(fastest))")
    }

    @Test("without Resource Graph the walk finds the vault among 300 subscriptions, at most 16 searches at a time")
    func boundedWalk() async throws {
        let latency = 20
        let emulator = try await AzureEmulatorProcess("many-subscriptions") { scenario in
            scenario["latencyMs"] = latency
            scenario["faults"] = [["route": "arm.resourceGraph", "status": 403]]
        }
        let start = ContinuousClock.now
        let status = try await AzureStatus.run(environment: emulator.signedIn)
        let elapsed = ContinuousClock.now - start
        #expect(status.result.status == 0, "\(status.result.stdout)")
        #expect(status.state("app-key-access") == "ok")
        let searches = try await emulator.requests().filter { $0.route == "arm.resources" }.count
        #expect(searches > 16 && searches <= 300)
        // At most 16 in flight: the searches before the vault's take at least searches / 16 rounds.
        #expect(elapsed >= .milliseconds(latency * ((searches - 1) / 16)), "\(elapsed) for \(searches) searches")
    }
}
