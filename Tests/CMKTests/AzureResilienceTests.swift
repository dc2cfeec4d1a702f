import Testing

/// Throttling, server errors, malformed bodies, dropped connections and timeouts: only the checks
/// that needed the failing call turn unknown, with the reason.
@Suite("Azure resilience")
struct AzureResilienceTests {
    static func fault(_ fault: [String: any Sendable]...) -> (inout [String: Any]) -> Void {
        { $0["faults"] = fault.map { $0.mapValues { $0 as Any } } }
    }

    @Test("429 twice, then success: retried after Retry-After, and the report is complete")
    func throttledThenSuccess() async throws {
        let emulator = try await AzureEmulatorProcess(
            "ready",
            patch: Self.fault(["route": "arm.vault", "status": 429, "times": 2, "retryAfter": 0])
        )
        let status = try await AzureStatus.run(environment: emulator.signedIn)
        #expect(status.result.status == 0, "\(status.result.stdout)")
        #expect(try await emulator.requests().filter { $0.route == "arm.vault" }.map(\.status) == [429, 429, 200])
    }

    @Test("a 503 without Retry-After is retried after a short back-off")
    func serviceUnavailableOnce() async throws {
        let emulator = try await AzureEmulatorProcess(
            "ready",
            patch: Self.fault(["route": "graph.servicePrincipal", "status": 503, "times": 1])
        )
        let status = try await AzureStatus.run(environment: emulator.signedIn)
        #expect(status.result.status == 0)
        #expect(try await emulator.requests().filter { $0.route == "graph.servicePrincipal" }.count == 2)
    }

    @Test("throttled for good: at most three retries, then only the vault's permission check is unknown")
    func throttledForGood() async throws {
        let emulator = try await AzureEmulatorProcess(
            "ready",
            patch: Self.fault(["route": "arm.vault", "status": 429, "retryAfter": 0])
        )
        let status = try await AzureStatus.run(environment: emulator.signedIn)
        #expect(try await emulator.requests().filter { $0.route == "arm.vault" }.count == 4)
        // The vault's properties are the network check's source too.
        #expect(status.ids("unknown") == ["app-key-access", "vault-network"])
        #expect(status.summary("app-key-access").contains("GET management.azure.com/subscriptions/"))
        #expect(status.summary("app-key-access").contains("answered 429 (TooManyRequests)"))
        // The key's recovery level still decides the vault's flags.
        #expect(status.check("vault-purge-protection")["evidence"] as? [String] == ["key recoveryLevel Recoverable"])
    }

    struct FaultCase: CustomTestStringConvertible, Sendable {
        var name: String
        var fault: [String: any Sendable]
        /// A second fault, for calls that have a fallback.
        var also: [String: any Sendable]? = nil
        var unknown: Set<String>
        var reason: String
        var testDescription: String { name }
    }

    static let cases: [FaultCase] = [
        FaultCase(
            name: "500 from Graph",
            fault: ["route": "graph.servicePrincipal", "status": 500],
            unknown: ["app-consent", "app-key-access"],
            reason: "answered 500 (ServiceUnavailable)"
        ),
        FaultCase(
            name: "malformed key body",
            fault: ["route": "vault.key", "after": 1, "malformed": true],
            // key-rotation weighs the key's own expiry, so it needs the key too.
            unknown: ["key-type", "key-operations", "key-enabled", "key-expiry", "key-rotation"],
            reason: "answered a body that is not the expected JSON"
        ),
        FaultCase(
            name: "Resource Graph failing, then a dropped subscription list",
            fault: ["route": "arm.resourceGraph", "status": 500],
            also: ["route": "arm.subscriptions", "drop": true],
            unknown: ["app-key-access", "vault-network"],
            reason: "cannot locate the vault"
        ),
        FaultCase(
            name: "malformed key list",
            fault: ["route": "vault.keys", "malformed": true],
            unknown: ["vault-dedicated"],
            reason: "Cannot list the vault's keys"
        ),
    ]

    @Test("one failing call turns only its own checks unknown", arguments: cases)
    func failingCall(_ failure: FaultCase) async throws {
        let faults = [failure.fault] + (failure.also.map { [$0] } ?? [])
        let emulator = try await AzureEmulatorProcess("ready") {
            $0["faults"] = faults.map { $0.mapValues { $0 as Any } }
        }
        let status = try await AzureStatus.run(environment: emulator.signedIn)
        #expect(status.result.status == 3)
        #expect(status.ids("unknown") == failure.unknown)
        for id in failure.unknown { #expect(status.summary(id).contains(failure.reason), "\(status.summary(id))") }
        #expect(status.ids("ok").count == azureLiveChecks.count - failure.unknown.count)
    }

    @Test("a call slower than the run's deadline times out alone; the run ends on time")
    func timeout() async throws {
        let emulator = try await AzureEmulatorProcess(
            "ready",
            patch: Self.fault(["route": "arm.roleAssignments", "delayMs": 30_000])
        )
        let (result, seconds) = try await runTimed(
            ["status", "--provider", "azure", "--output", "json", "--key-uri", AzureEmulatorProcess.keyURI,
             "--timeout", "1.5"],
            environment: emulator.signedIn
        )
        // The process's own lifetime, far below the 30 s the call would take.
        #expect(seconds < 1.5 + deadlineGrace, "\(seconds) s")
        let status = try AzureStatus(result: result)
        #expect(status.ids("unknown") == ["app-key-access"])
        #expect(status.summary("app-key-access").contains("timed out after"), "\(status.summary("app-key-access"))")
    }
}
