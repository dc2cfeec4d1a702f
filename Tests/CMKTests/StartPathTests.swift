import Foundation
import Testing

/// The start path's shape, which docs/benchmarks.md measures: an off-cloud run is one thread.
///
/// Each thread cmk starts costs its start-up a clone and a wake-up that often crosses to the other
/// CPU; on these machines that was most of what stood between `cmk status` and the floor. An
/// interposed `pthread_create` (libdispatch and cmk both start threads through it) records every
/// thread started, so a change that sends the off-cloud path back to the pool fails here.
@Suite("start path")
struct StartPathTests {
    static let interposer = #"""
        #define _GNU_SOURCE
        #include <dlfcn.h>
        #include <fcntl.h>
        #include <pthread.h>
        #include <stdlib.h>
        #include <string.h>
        #include <unistd.h>
        int pthread_create(pthread_t *thread, const pthread_attr_t *attributes, void *(*start)(void *), void *argument) {
            static int (*real)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
            if (real == NULL) real = dlsym(RTLD_NEXT, "pthread_create");
            const char *log = getenv("THREAD_LOG");
            if (log != NULL) {
                int fd = open(log, O_WRONLY | O_APPEND | O_CREAT, 0600);
                if (fd >= 0) { (void)write(fd, "thread\n", 7); close(fd); }
            }
            return real(thread, attributes, start, argument);
        }
        """#

    /// Runs `cmk` with the interposer and returns how many threads it started.
    private func threadsStarted(_ arguments: [String], environment: [String: String] = [:], sysRoot: String? = nil)
        async throws -> (CMKResult, Int)
    {
        let work = try TemporaryDirectory("cmk-threads")
        defer { work.cleanUp() }
        let interposer = try await buildCProvider(
            named: "libcount-threads.so", source: Self.interposer, in: work, extraFlags: ["-ldl"])
        let log = work.file("threads.log")
        var variables = environment
        variables["LD_PRELOAD"] = interposer
        variables["THREAD_LOG"] = log
        let result = try await runCMK(arguments, environment: variables, sysRoot: sysRoot)
        let lines = (try? String(contentsOfFile: log, encoding: .utf8))?.split(separator: "\n").count ?? 0
        return (result, lines)
    }

    @Test("an off-cloud cmk status with both providers starts no thread: detection answers inside the call")
    func offCloudIsOneThread() async throws {
        let (result, threads) = try await threadsStarted(["status"])
        #expect(result.status == 3, "\(result.stderr)")
        #expect(result.stdout.contains("Installed providers: aws, azure"), "\(result.stdout)")
        #expect(threads == 0, "an off-cloud run started \(threads) thread(s)")
    }

    @Test("the interposer sees threads when there are some: a metadata probe runs on threads of its own")
    func interposerCounts() async throws {
        // The EC2 fixture makes the AWS provider confirm with instance metadata (a closed loopback
        // port here): network work goes to threads, and the count shows it, so 0 above is not an
        // interposer that never counts.
        let (result, threads) = try await threadsStarted(
            ["detect", "--probe"], sysRoot: TestPaths.fixtureRoot("ec2-nitro"))
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("Provider: aws (detected)"), "\(result.stdout)")
        #expect(threads > 0, "a probing run started no thread: the interposer is not counting")
    }
}

/// Detection on the caller's thread must not cost the deadlines: a provider that returns from
/// `call` without answering still gets its deadline kept (the watchdog starts then), and does not
/// hold up the verdict of one that answered.
@Suite("detection deadlines")
struct DetectionDeadlineTests {
    @Test("a provider that never answers detect times out at its deadline; the one that answered is chosen")
    func silentProviderTimesOut() async throws {
        let plugins = try TemporaryDirectory("cmk-plugins")
        let root = try TemporaryDirectory("cmk-root")
        defer { plugins.cleanUp(); root.cleanUp() }
        try await TestProvider.build("silent", in: plugins, defines: ["TEST_DETECT_SILENT", "TEST_NAME=\"silent\""])
        try await TestProvider.build("cstub", in: plugins)
        try root.write("sys/class/dmi/id/sys_vendor", "Stub Cloud\n")
        for isolate in [false, true] {
            let variant = isolate ? "isolated" : "in process"
            let flags = isolate ? ["--isolate"] : []
            // status: the whole run within --timeout.
            var started = ContinuousClock.now
            let status = try await runCMK(
                ["status", "--output", "json", "--timeout", "2"] + flags,
                environment: ["CMK_PLUGIN_PATH": plugins.path],
                sysRoot: root.path
            )
            var took = ContinuousClock.now - started
            #expect(status.status == 0, "\(variant): \(status.stderr)")
            #expect(took < .seconds(2 + deadlineGrace), "\(variant): status took \(took) with --timeout 2")
            #expect(try status.json()["provider"] as? String == "cstub", "\(variant): \(status.stdout)")
            // detect: each verdict, the silent one's a timeout at the per-provider deadline (3 s).
            started = ContinuousClock.now
            let detect = try await runCMK(
                ["detect", "--output", "json"] + flags, environment: ["CMK_PLUGIN_PATH": plugins.path], sysRoot: root.path)
            took = ContinuousClock.now - started
            #expect(took < .seconds(3 + deadlineGrace), "\(variant): detect took \(took) for a 3 s deadline")
            let document = try detect.json()
            #expect(document["provider"] as? String == "cstub", "\(variant): \(detect.stdout)")
            let candidates = try #require(document["candidates"] as? [[String: Any]], "\(variant): \(detect.stdout)")
            let silent = try #require(candidates.first { $0["provider"] as? String == "silent" }, "\(variant)")
            let error = silent["error"] as? String ?? ""
            #expect(error.contains("no reply") || error.contains("timed out"), "\(variant): \(error)")
        }
    }
}
