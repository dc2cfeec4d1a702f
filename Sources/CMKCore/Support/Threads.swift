import Synchronization

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

/// Like `runOnOwnThread(_:)`, but the caller stops waiting at `deadline` and gets `fallback`.
///
/// For blocking calls that keep their own deadline (the https transport): if one ever does not,
/// the run still ends on time; the thread is left to finish and its result is dropped.
package func runOnOwnThread<Result: Sendable>(
    until deadline: ContinuousClock.Instant,
    orElse fallback: Result,
    _ work: @escaping @Sendable () -> Result
) async -> Result {
    await withCheckedContinuation { (continuation: CheckedContinuation<Result, Never>) in
        let once = ResumeOnce(continuation)
        let timer = Task.detached {
            try? await Task.sleep(until: deadline, clock: .continuous)
            once.resume(fallback)
        }
        Task.detached {
            once.resume(await runOnOwnThread(work))
            timer.cancel()
        }
    }
}

/// Resumes a continuation with the first value offered and drops the rest.
private final class ResumeOnce<Value: Sendable>: Sendable {
    private let continuation: Mutex<CheckedContinuation<Value, Never>?>
    init(_ continuation: CheckedContinuation<Value, Never>) { self.continuation = Mutex(continuation) }
    func resume(_ value: Value) {
        continuation.withLock { pending in
            pending?.resume(returning: value)
            pending = nil
        }
    }
}
