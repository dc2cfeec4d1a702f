#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#else
    #error("cmk needs Glibc or Musl")
#endif

/// The text of the current `errno`.
package func errnoText() -> String { String(cString: strerror(errno)) }

/// Runs blocking work on its own thread, so that sockets waiting on the network never occupy the
/// cooperative pool (two threads on these machines) and concurrent requests really overlap.
package func runOnOwnThread<Result: Sendable>(_ work: @escaping @Sendable () -> Result) async -> Result {
    await withCheckedContinuation { continuation in
        let job = Unmanaged.passRetained(ThreadJob { continuation.resume(returning: work()) }).toOpaque()
        var thread = pthread_t()
        if pthread_create(
            &thread,
            nil,
            { argument in
                Unmanaged<ThreadJob>.fromOpaque(argument!).takeRetainedValue().run()
                return nil
            },
            job
        ) == 0 {
            pthread_detach(thread)
        } else {
            Unmanaged<ThreadJob>.fromOpaque(job).takeRetainedValue().run()
        }
    }
}

private final class ThreadJob: Sendable {
    let run: @Sendable () -> Void
    init(_ run: @escaping @Sendable () -> Void) { self.run = run }
}
