import Foundation
import Testing

/// Providers that attack their host (Tests/Providers/hostile/cmk_hostile_provider.c): each case
/// ends with its documented exit status within the deadline, in process and with `--isolate`,
/// and with `--isolate` nothing the provider started survives the run.
///
/// In process, a provider is cmk's own code: a crash ends cmk (documented in docs/plugin-abi.md,
/// not asserted here), and what it forks is cmk's child, which cmk does not hunt down.
@Suite("Hostile providers: documented exit status within the deadline, nothing left behind")
struct HostilePluginTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var mode: String
        var isolated: Bool
        var status: Int32
        /// What stderr says; nil where the provider closed it (in process, cmk's own stderr).
        var message: String?
        /// `--timeout`: short where the provider hangs (the deadline is what is tested), long
        /// elsewhere, so that a loaded machine is not mistaken for a failure.
        var timeout = 20
        var testDescription: String { "\(mode)\(isolated ? " --isolate" : " in process")" }
    }

    static let failed = "provider 'hostile' failed: "
    /// "did not report" (status) or "did not answer" (a call before it, on a loaded machine).
    static let late = "within the run's deadline"

    static let cases: [Case] = [
        Case(mode: "crash", isolated: true, status: 1, message: failed + "crashed (signal 11, SIGSEGV)"),
        // The worker's own exit guard (CMK.main) says it; the host reports the worker's words.
        Case(mode: "exit0", isolated: true, status: 1, message: "exited before cmk printed its report"),
        Case(mode: "fork-holds-stdout", isolated: false, status: 0),
        Case(mode: "fork-holds-stdout", isolated: true, status: 0),
        Case(mode: "close-stdio-hang", isolated: false, status: 1, timeout: 2),
        Case(mode: "close-stdio-hang", isolated: true, status: 1, message: late, timeout: 2),
        Case(mode: "setsid-grandchild", isolated: false, status: 1, message: late, timeout: 2),
        Case(mode: "setsid-grandchild", isolated: true, status: 1, message: late, timeout: 2),
        Case(mode: "invalid-utf8", isolated: false, status: 1, message: failed + "its status reply is not valid UTF-8"),
        Case(mode: "invalid-utf8", isolated: true, status: 1, message: failed + "its status reply is not valid UTF-8"),
        Case(mode: "huge", isolated: false, status: 1, message: failed + "its reply is larger than 16 MiB"),
        Case(mode: "huge", isolated: true, status: 1, message: failed + "its reply is larger than 16 MiB"),
    ]

    @Test("a hostile provider ends cmk with its documented status, on time", arguments: cases)
    func hostile(_ hostile: Case) async throws {
        let plugins = try await HostileProvider.install()
        defer { plugins.cleanUp() }
        let run = try await runDetached(
            ["status", "--provider", "hostile", "--timeout", "\(hostile.timeout)"]
                + (hostile.isolated ? ["--isolate"] : []),
            environment: ["HOSTILE_MODE": hostile.mode, "HOSTILE_PIDFILE": plugins.file("pids")],
            cmk: plugins.file("cmk")
        )
        let leftovers = pidsWritten(to: plugins.file("pids"))
        defer { leftovers.forEach { kill($0, SIGKILL) } }
        #expect(run.status == hostile.status, "\(run.stdout)\n\(run.stderr)")
        #expect(run.seconds < Double(hostile.timeout) + deadlineGrace, "\(run.seconds) s")
        if let message = hostile.message {
            #expect(run.stderr.contains(message), "\(run.stderr)")
        }
        if hostile.status == 0 { #expect(run.stdout.contains("hostile-step")) }
        if hostile.mode == "exit0" && hostile.isolated {
            // The worker is the isolation: advice to isolate would send the admin in a circle.
            #expect(!run.stderr.contains("Run with --isolate"), "\(run.stderr)")
        }
        if hostile.isolated {
            // The worker (first pid) and every process the provider started are gone.
            for pid in leftovers {
                #expect(await processEnds(pid, within: .seconds(3)), "\(pid) of \(leftovers) survived")
            }
        }
    }

    @Test("in process, exit(0) from a provider is status 1 with a message, not a silent 'ready'")
    func exitInProcess() async throws {
        let plugins = try await HostileProvider.install()
        defer { plugins.cleanUp() }
        let run = try await runDetached(
            ["status", "--provider", "hostile", "--timeout", "20"],
            environment: ["HOSTILE_MODE": "exit0"],
            cmk: plugins.file("cmk")
        )
        #expect(run.status == 1, "\(run.stdout)\n\(run.stderr)")
        #expect(run.stderr.contains("exited before"), "\(run.stderr)")
    }

    @Test("killing cmk kills its worker and what the provider started, even in a session of its own")
    func hostKilled() async throws {
        let plugins = try await HostileProvider.install()
        defer { plugins.cleanUp() }
        let pidFile = plugins.file("pids")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: plugins.file("cmk"))
        process.arguments = ["status", "--provider", "hostile", "--isolate", "--timeout", "60"]
        process.environment = [
            "PATH": "/usr/bin:/bin", "HOME": plugins.path, "CMK_ENDPOINT_OVERRIDE": closedLoopbackOrigin,
            "CMK_SYS_ROOT": plugins.path,
            "HOSTILE_MODE": "setsid-grandchild", "HOSTILE_PIDFILE": pidFile,
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        // The worker and its grandchild have written their pids.
        let until = ContinuousClock.now + .seconds(30)
        while pidsWritten(to: pidFile).count < 2 && ContinuousClock.now < until {
            try await Task.sleep(for: .milliseconds(50))
        }
        let pids = pidsWritten(to: pidFile)
        defer { pids.forEach { kill($0, SIGKILL) } }
        try #require(pids.count == 2, "the worker and its grandchild did not start: \(pids)")
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        for pid in pids {
            #expect(await processEnds(pid, within: .seconds(5)), "\(pid) of \(pids) outlived the killed cmk")
        }
    }
}
