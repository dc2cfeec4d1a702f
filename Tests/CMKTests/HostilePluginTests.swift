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
        var testDescription: String { "\(mode)\(isolated ? " --isolate" : " in process")" }
    }

    /// `--timeout 1`: the status call's own deadline is then 3 s (the run's deadline + 2 s).
    static let callDeadline = 3.0

    static let cases: [Case] = [
        Case(
            mode: "crash",
            isolated: true,
            status: 1,
            message: "provider 'hostile' failed: crashed (signal 11, SIGSEGV)"
        ),
        Case(mode: "exit0", isolated: true, status: 1, message: "provider 'hostile' failed: its worker sent no reply"),
        Case(mode: "fork-holds-stdout", isolated: false, status: 0, message: nil),
        Case(mode: "fork-holds-stdout", isolated: true, status: 0, message: nil),
        Case(mode: "close-stdio-hang", isolated: false, status: 1, message: nil),
        Case(
            mode: "close-stdio-hang",
            isolated: true,
            status: 1,
            message: "provider 'hostile' failed: no reply within"
        ),
        Case(
            mode: "setsid-grandchild",
            isolated: false,
            status: 1,
            message: "provider 'hostile' failed: no reply within"
        ),
        Case(
            mode: "setsid-grandchild",
            isolated: true,
            status: 1,
            message: "provider 'hostile' failed: no reply within"
        ),
        Case(
            mode: "invalid-utf8",
            isolated: false,
            status: 1,
            message: "provider 'hostile' failed: its status reply is not valid UTF-8"
        ),
        Case(
            mode: "invalid-utf8",
            isolated: true,
            status: 1,
            message: "provider 'hostile' failed: its status reply is not valid UTF-8"
        ),
        Case(
            mode: "huge",
            isolated: false,
            status: 1,
            message: "provider 'hostile' failed: its reply is larger than 16 MiB"
        ),
        Case(
            mode: "huge",
            isolated: true,
            status: 1,
            message: "provider 'hostile' failed: its reply is larger than 16 MiB"
        ),
    ]

    @Test("a hostile provider ends cmk with its documented status, on time", arguments: cases)
    func hostile(_ hostile: Case) async throws {
        let plugins = try await HostileProvider.install()
        defer { plugins.cleanUp() }
        let run = try await runDetached(
            ["status", "--provider", "hostile", "--timeout", "1"] + (hostile.isolated ? ["--isolate"] : []),
            environment: ["HOSTILE_MODE": hostile.mode, "HOSTILE_PIDFILE": plugins.file("pids")],
            cmk: plugins.file("cmk")
        )
        let leftovers = pidsWritten(to: plugins.file("pids"))
        defer { leftovers.forEach { kill($0, SIGKILL) } }
        #expect(run.status == hostile.status, "\(run.stdout)\n\(run.stderr)")
        #expect(run.seconds < Self.callDeadline + deadlineGrace, "\(run.seconds) s")
        if let message = hostile.message {
            #expect(run.stderr.contains(message), "\(run.stderr)")
        }
        if hostile.status == 0 { #expect(run.stdout.contains("hostile-step")) }
        if hostile.isolated {
            // The worker (first pid) and every process the provider started are gone.
            for pid in leftovers {
                #expect(await processEnds(pid, within: .seconds(3)), "\(pid) of \(leftovers) survived")
            }
        }
    }

    @Test(
        "in process, exit(0) from a provider is status 1 with a message, not a silent 'ready'",
        .disabled("needs atexit guard (Sources/cmk/CMK.swift, being fixed on another branch)")
    )
    func exitInProcess() async throws {
        let plugins = try await HostileProvider.install()
        defer { plugins.cleanUp() }
        let run = try await runDetached(
            ["status", "--provider", "hostile", "--timeout", "1"],
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
            "CMK_SYS_ROOT": plugins.file("empty-root"),
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
