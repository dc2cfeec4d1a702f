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
        #expect(result.status != 70, "\(result.stderr)")
        #expect(threads > 0, "a probing run started no thread: the interposer is not counting")
    }
}
