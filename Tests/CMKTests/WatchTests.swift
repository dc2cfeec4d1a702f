import Foundation
import Synchronization
import Testing

/// `cmk status --watch` (issue 11, item 3) against the emulator, whose scenario changes while the
/// watch runs (`POST /_emulator/scenario`).
@Suite("cmk status --watch")
struct WatchTests {
    static let key = AzureEmulatorProcess.keyURI

    static func watch(_ emulator: AzureEmulatorProcess, _ extra: [String]) throws -> WatchedProcess {
        try WatchedProcess(
            ["status", "--provider", "azure", "--key-uri", key, "--watch"] + extra,
            environment: emulator.signedIn
        )
    }

    /// `2026-12-03T10:11:12Z  key-enabled  action-required  The key is disabled…` → (check, state).
    static func change(_ line: String) -> (check: String, state: String)? {
        let fields = line.split(separator: " ", omittingEmptySubsequences: true)
        guard fields.count >= 3, fields[0].hasSuffix("Z") else { return nil }
        return (String(fields[1]), String(fields[2]))
    }

    @Test("a change while it runs: one line when the key is disabled, one when it is back; one sign-in per audience")
    func changesWhileRunning() async throws {
        let emulator = try await AzureEmulatorProcess("ready")
        let disabled = try AzureEmulatorProcess.scenarioFile("ready") { OpsScenarios.disabledKey(&$0) }
        let watch = try Self.watch(emulator, ["--interval", "0.3"])
        defer { watch.kill() }
        let checks = 16
        try await watch.waitForLines(checks, "the first round prints every check")
        #expect(watch.lines.compactMap(Self.change).first { $0.check == "key-enabled" }?.state == "ok")

        try await emulator.switchScenario(disabled)
        try await watch.waitFor("the disabled key") {
            Self.change($0).map { $0 == ("key-enabled", "action-required") } ?? false
        }
        try await emulator.switchScenario("ready")
        try await watch.waitForLines(checks + 2, "the key enabled again")
        // A few more rounds with nothing changing print nothing.
        let settled = watch.lines.count
        try await Task.sleep(for: .seconds(1))
        #expect(watch.lines.count == settled, "\(watch.lines.suffix(watch.lines.count - checks))")

        watch.signal(SIGTERM)
        let status = try await watch.wait()
        #expect(status == 0, "the last state was ready: \(watch.errors)")
        #expect(watch.errors.contains("Stopped by SIGTERM: exit 0"), "\(watch.errors)")

        let changes = watch.lines.compactMap(Self.change)
        #expect(changes.filter { $0.check == "key-enabled" }.map(\.state) == ["ok", "action-required", "ok"])
        var last: [String: String] = [:]
        for (check, state) in changes {
            #expect(last[check] != state, "\(check) printed twice as \(state)")
            last[check] = state
        }
        let requests = try await emulator.requests()
        let rounds = requests.filter { $0.route == "vault.key" && $0.authorization }.count
        #expect(rounds >= 4, "\(rounds) rounds")
        #expect(
            requests.filter { $0.route == "login.token" }.count == 3,
            "one sign-in per audience (ARM, Graph, Key Vault) across \(rounds) rounds: tokens reused"
        )
    }

    @Test("tokens are reused until they expire: tokens within five minutes of their exp are asked for again")
    func tokensExpire() async throws {
        // Tokens that live 60 s are inside the 5-minute refresh margin at once: each round signs in.
        let emulator = try await AzureEmulatorProcess("ready") { $0["tokenLifetime"] = 60 }
        let watch = try Self.watch(emulator, ["--interval", "0.3"])
        defer { watch.kill() }
        try await watch.waitForLines(16, "the first round")
        try await Task.sleep(for: .seconds(1.5))
        watch.signal(SIGTERM)
        #expect(try await watch.wait() == 0)
        let requests = try await emulator.requests()
        let rounds = requests.filter { $0.route == "vault.key" && $0.authorization }.count
        #expect(rounds >= 2)
        // A round cut short by the signal may have signed in without reading the key yet.
        let signIns = requests.filter { $0.route == "login.token" }.count
        #expect(signIns >= 3 * rounds && signIns <= 3 * rounds + 3, "\(signIns) sign-ins in \(rounds) rounds")
    }

    @Test("SIGINT stops it with the last state's exit status (2: action required)")
    func interruptWhileFailing() async throws {
        let emulator = try await AzureEmulatorProcess("ready") { OpsScenarios.disabledKey(&$0) }
        let watch = try Self.watch(emulator, ["--interval", "30", "--failing-interval", "0.2"])
        defer { watch.kill() }
        try await watch.waitForLines(16, "the first round")
        watch.signal(SIGINT)
        let status = try await watch.wait()
        #expect(status == 2, "\(watch.errors)")
        #expect(watch.errors.contains("Stopped by SIGINT: exit 2"))
    }

    @Test("a failing state is checked every --failing-interval, a ready one every --interval")
    func failingIsCheckedMoreOften() async throws {
        for (patch, fast) in [(true, true), (false, false)] {
            let emulator =
                patch
                ? try await AzureEmulatorProcess("ready") { OpsScenarios.disabledKey(&$0) }
                : try await AzureEmulatorProcess("ready")
            let watch = try Self.watch(emulator, ["--interval", "30", "--failing-interval", "0.2"])
            defer { watch.kill() }
            try await watch.waitForLines(16, "the first round")
            if fast {
                try await Self.waitForRounds(3, emulator)  // well before the 30 s --interval
            } else {
                try await Task.sleep(for: .seconds(2))
                let rounds = try await emulator.requests().filter { $0.route == "vault.key" && $0.authorization }.count
                #expect(rounds == 1, "ready: \(rounds) rounds in 2 s at --interval 30")
            }
            watch.signal(SIGTERM)
            #expect(try await watch.wait() == (fast ? 2 : 0))
        }
    }

    @Test("never two rounds at once: a round slower than the interval is followed, not overlapped")
    func noOverlap() async throws {
        // Rounds of ≥ 0.9 s (a chain of 3 responses at 300 ms once tokens are cached), due every 0.05 s.
        let emulator = try await AzureEmulatorProcess("ready") { $0["latencyMs"] = 300 }
        let watch = try Self.watch(emulator, ["--interval", "0.05", "--failing-interval", "0.05"])
        defer { watch.kill() }
        try await Self.waitForRounds(4, emulator)
        watch.signal(SIGTERM)
        #expect(try await watch.wait() == 0)
        // The log's order, not a clock (this process's lags under load): each round's key read
        // needs the vault's challenge first, and is logged before the next round's challenge only
        // if that round starts after it ended. Overlapping rounds would log challenges back to back.
        let keyReads = try await emulator.requests().filter { $0.route == "vault.key" }.map(\.authorization)
        let pairs = stride(from: 0, to: keyReads.count - 1, by: 2).map { [keyReads[$0], keyReads[$0 + 1]] }
        #expect(pairs.allSatisfy { $0 == [false, true] }, "challenge (false), read (true), …: \(keyReads)")
    }

    /// Waits until the emulator has served `count` rounds (the key read with a token).
    static func waitForRounds(_ count: Int, _ emulator: AzureEmulatorProcess) async throws {
        for _ in 0..<600 {
            if try await emulator.requests().filter({ $0.route == "vault.key" && $0.authorization }).count >= count {
                return
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TestFailure("fewer than \(count) rounds within a minute")
    }

    @Test("a reader that goes away ends the watch, even when nothing changes (cmk status --watch | head -1)")
    func readerGone() async throws {
        let emulator = try await AzureEmulatorProcess("ready")
        let result = try await runCMK(
            [
                "-c", "\"$0\" status --provider azure --key-uri \(Self.key) --watch --interval 0.2 | head -1",
                TestPaths.cmk,
            ],
            environment: emulator.signedIn,
            executable: "/bin/bash",
            timeout: .seconds(30)
        )
        #expect(result.stdout.split(separator: "\n").count == 1)
    }

    @Test("--output json prints one object per change; the formats that are documents are refused")
    func jsonLinesAndUsage() async throws {
        let emulator = try await AzureEmulatorProcess("ready")
        let watch = try Self.watch(emulator, ["--output", "json", "--interval", "30"])
        defer { watch.kill() }
        try await watch.waitForLines(16, "the first round")
        for line in watch.lines {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            #expect(object["time"] is String && object["check"] is String && object["state"] is String)
            #expect(object["summary"] is String)
        }
        watch.signal(SIGTERM)
        #expect(try await watch.wait() == 0)

        for arguments in [
            ["--watch", "--output", "sarif"], ["--interval", "5"], ["--watch", "--interval", "0"],
            ["--watch", "--interval", "soon"],
        ] {
            let result = try await runCMK(["status", "--provider", "aws"] + arguments)
            #expect(result.status == 64, "\(arguments): \(result.stderr)")
        }
    }
}

/// A `cmk` that keeps running: its stdout read line by line as it comes, signals sent by the test.
final class WatchedProcess: @unchecked Sendable {  // the process is set once; lines and errors behind a lock
    private let process = Process()
    private final class Output: Sendable {
        let state = Mutex<(lines: [String], errors: String)>(([], ""))
    }

    private let output = Output()
    private let finished = DispatchSemaphore(value: 0)
    private let home: TemporaryDirectory

    var lines: [String] { output.state.withLock { $0.lines } }
    var errors: String { output.state.withLock { $0.errors } }

    init(_ arguments: [String], environment: [String: String]) throws {
        home = try TemporaryDirectory("cmk-home")
        // cmk refuses a CMK_SYS_ROOT that does not exist: an empty tree, as runCMK makes.
        try FileManager.default.createDirectory(atPath: home.file("empty-root"), withIntermediateDirectories: true)
        var base = [
            "PATH": "/usr/bin:/bin", "HOME": home.path, "CMK_ENDPOINT_OVERRIDE": closedLoopbackOrigin,
            "CMK_SYS_ROOT": home.file("empty-root"),
        ]
        base.merge(environment) { _, given in given }
        process.executableURL = URL(fileURLWithPath: TestPaths.cmk)
        process.arguments = arguments
        process.environment = base.filter { !$0.value.isEmpty }
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let collected = self.output
        Thread.detachNewThread {
            var pending: [UInt8] = []
            // availableData returns what the pipe has (read(upToCount:) waits for the whole count).
            while let data = readSome(output.fileHandleForReading.fileDescriptor), !data.isEmpty {
                for byte in data {
                    if byte == 10 {
                        let line = String(decoding: pending, as: UTF8.self)
                        collected.state.withLock { $0.lines.append(line) }
                        pending = []
                    } else {
                        pending.append(byte)
                    }
                }
            }
        }
        Thread.detachNewThread {
            let data = readToEnd(errors.fileHandleForReading.fileDescriptor)
            collected.state.withLock { $0.errors = String(decoding: data, as: UTF8.self) }
        }
        let process = process
        let finished = finished
        Thread.detachNewThread {
            process.waitUntilExit()
            finished.signal()
        }
    }

    deinit {
        kill()
        home.cleanUp()
    }

    func signal(_ number: Int32) { Glibc.kill(process.processIdentifier, number) }

    func kill() { if process.isRunning { Glibc.kill(process.processIdentifier, SIGKILL) } }

    /// Waits (asynchronously, polling) until `condition` holds for some line.
    func waitFor(_ what: String, timeout: Duration = .seconds(60), _ condition: (String) -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if lines.contains(where: condition) { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestFailure("no line for \(what) within \(timeout): \(lines.suffix(20))\n\(errors)")
    }

    func waitForLines(_ count: Int, _ what: String, timeout: Duration = .seconds(60)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if lines.count >= count { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestFailure("fewer than \(count) lines for \(what) within \(timeout): \(lines)\n\(errors)")
    }

    /// The exit status, once the process ended (and its stderr was read).
    func wait(timeout: Duration = .seconds(30)) async throws -> Int32 {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if finished.wait(timeout: .now()) == .success {
                finished.signal()
                // stderr is complete when the process is gone and the reader reached EOF.
                for _ in 0..<100 where errors.isEmpty { try await Task.sleep(for: .milliseconds(10)) }
                return process.terminationStatus
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestFailure("cmk did not stop within \(timeout) of the signal: \(lines.suffix(5))\n\(errors)")
    }
}
