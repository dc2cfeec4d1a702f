import CMKPluginABI

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#else
    #error("cmk's provider calls need Glibc or Musl")
#endif

/// Calls a provider loaded into this process through its `call` function pointer.
// The descriptor is immutable static storage of a library that is never unloaded.
package struct InProcessChannel: ProviderChannel, @unchecked Sendable {
    let descriptor: UnsafePointer<cmk_provider>

    package func call(_ request: [UInt8], timeout: Duration) async throws(ProviderCallError) -> [UInt8] {
        let call = descriptor.pointee.call!
        let outcome: CallOutcome = await withCheckedContinuation { continuation in
            let token = PendingReplies.register(continuation, timeout: timeout)
            request.withUnsafeBufferPointer { buffer in
                buffer.withMemoryRebound(to: CChar.self) { chars in
                    call(chars.baseAddress, chars.count, UnsafeMutableRawPointer(bitPattern: token), hostReply)
                }
            }
            // A provider that answered inside `call` (detection does) needs no deadline kept.
            PendingReplies.keepDeadline(of: token)
        }
        switch outcome {
        case .reply(let bytes): return bytes
        case .failure(let error): throw error
        }
    }
}

/// A call's end: not `Result<[UInt8], ProviderCallError>`, whose metadata the runtime builds on
/// first use by checking `ProviderCallError: Error`, a scan of every conformance record, on the
/// start path just after the providers are loaded (and once per thread that races to it).
private enum CallOutcome: Sendable {
    case reply([UInt8])
    case failure(ProviderCallError)
}

/// Replies the host is waiting for, by token, each with its deadline.
///
/// The token handed to the provider is a number, not a pointer: a reply that comes twice, late
/// (after a timeout) or with a made-up token finds nothing and is counted, never a freed object.
/// Deadlines are kept by one watchdog thread rather than a timer task per call: on the start path
/// of every `cmk` run, a sleeping task per call cost a quarter of a millisecond each. The thread
/// is started only when a call is still waiting after `call` returned: an off-cloud run, whose
/// providers answer detection inside `call`, never starts it (a thread is ≈0.1 ms of start-up).
package enum PendingReplies {
    fileprivate typealias Continuation = CheckedContinuation<CallOutcome, Never>

    private struct Pending {
        var token: UInt
        var continuation: Continuation
        /// CLOCK_MONOTONIC nanoseconds.
        var deadline: UInt64
        var timeout: Duration
    }

    // Guarded by `lock`; `wake` tells the watchdog that the earliest deadline may have changed.
    nonisolated(unsafe) private static var next: UInt = 1
    // A list, not a dictionary: a few calls are ever in flight, and a Dictionary<UInt, _> would
    // cost each cmk start a conformance scan (UInt: Hashable) just after the providers load.
    nonisolated(unsafe) private static var pending: [Pending] = []
    nonisolated(unsafe) private static var unexpected = 0
    nonisolated(unsafe) private static var watchdogStarted = false
    nonisolated(unsafe) private static let lock: UnsafeMutablePointer<pthread_mutex_t> = {
        let lock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        pthread_mutex_init(lock, nil)
        return lock
    }()
    nonisolated(unsafe) private static let wake: UnsafeMutablePointer<pthread_cond_t> = {
        let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        return condition
    }()

    private static func withLock<T>(_ body: () -> T) -> T {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        return body()
    }

    fileprivate static func register(_ continuation: Continuation, timeout: Duration) -> UInt {
        let (seconds, attoseconds) = timeout.components
        let span = UInt64(max(0, seconds)) * 1_000_000_000 + UInt64(max(0, attoseconds) / 1_000_000_000)
        let deadline = monotonicNanoseconds() &+ span
        return withLock {
            let token = next
            next += 1
            pending.append(Pending(token: token, continuation: continuation, deadline: deadline, timeout: timeout))
            if watchdogStarted { pthread_cond_signal(wake) }
            return token
        }
    }

    /// Called when `call` has returned: a call still waiting gets the watchdog.
    fileprivate static func keepDeadline(of token: UInt) {
        withLock {
            guard !watchdogStarted, pending.contains(where: { $0.token == token }) else { return }
            watchdogStarted = true
            startWatchdog()
        }
    }

    fileprivate static func resolve(_ token: UInt, with result: CallOutcome) {
        let entry = withLock { () -> Pending? in
            guard let index = pending.firstIndex(where: { $0.token == token }) else {
                unexpected += 1
                return nil
            }
            return pending.remove(at: index)
        }
        entry?.continuation.resume(returning: result)
    }

    /// Replies that matched no waiting request (duplicates, late or forged ones) since start.
    package static var unexpectedReplies: Int { withLock { unexpected } }

    /// Fails every call past its deadline, sleeping until the earliest one otherwise.
    private static func watch() -> Never {
        while true {
            let expired = withLock { () -> [Pending] in
                let now = monotonicNanoseconds()
                let late = pending.filter { $0.deadline <= now }
                pending.removeAll { $0.deadline <= now }
                guard late.isEmpty else { return late }
                if let earliest = pending.map(\.deadline).min() {
                    var until = timespec(tv_sec: Int(earliest / 1_000_000_000), tv_nsec: Int(earliest % 1_000_000_000))
                    pthread_cond_timedwait(wake, lock, &until)
                } else {
                    pthread_cond_wait(wake, lock)
                }
                return []
            }
            for entry in expired {
                entry.continuation.resume(
                    returning: .failure(ProviderCallError(.timedOut, "no reply within \(entry.timeout)"))
                )
            }
        }
    }

    private static func startWatchdog() {
        var thread = pthread_t()
        pthread_create(&thread, nil, { _ in PendingReplies.watch() }, nil)
        pthread_detach(thread)
    }
}

private func monotonicNanoseconds() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
}

private let hostReply: cmk_reply_fn = { context, reply, length in
    // Refused before it is copied: a 100 MB reply costs the provider its memory, not cmk's.
    guard length <= ProviderReply.maximumSize + 1 else {
        PendingReplies.resolve(UInt(bitPattern: context), with: .failure(ProviderReply.tooLarge(length)))
        return
    }
    let bytes = reply.map { Array(UnsafeRawBufferPointer(start: $0, count: length)) } ?? []
    // A C provider may count the terminating NUL in `length`.
    let trimmed = bytes.last == 0 ? Array(bytes.dropLast()) : bytes
    guard trimmed.count <= ProviderReply.maximumSize else {
        PendingReplies.resolve(UInt(bitPattern: context), with: .failure(ProviderReply.tooLarge(trimmed.count)))
        return
    }
    PendingReplies.resolve(UInt(bitPattern: context), with: .reply(trimmed))
}
