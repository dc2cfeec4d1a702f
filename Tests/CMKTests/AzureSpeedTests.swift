import Testing

/// Independent calls overlap: with 50 ms added to every response, a full `cmk status` costs about
/// the longest chain (sign-in → subscriptions → resources → vault and role assignments), 4 × 50 ms,
/// not the 15 × 50 ms of its calls one after the other.
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

    @Test("15 calls, 3 sign-ins, and the added latency of a chain of 4 round trips")
    func chainBound() async throws {
        let slow = try await AzureEmulatorProcess("ready") { $0["latencyMs"] = Self.latency }
        let fast = try await AzureEmulatorProcess("ready")
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
        #expect(requests.count == 5 * 15)
        #expect(requests.filter { $0.route == "login.token" }.count == 5 * 3, "one sign-in per audience per run")
        // A structural check, not a speed measurement (that is bench/bench.py): run one after the
        // other, the 15 calls would add at least 15 × 50 ms; overlapped, about the chain's 4 × 50.
        let added = slowest - fastest
        #expect(added < .milliseconds(8 * Self.latency), "the latency added \(added) (\(slowest) - \(fastest))")
    }
}
