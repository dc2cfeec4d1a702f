import CMKPluginABI
import Synchronization

/// Calls a provider loaded into this process through its `call` function pointer.
// The descriptor is immutable static storage of a library that is never unloaded.
package struct InProcessChannel: ProviderChannel, @unchecked Sendable {
    let descriptor: UnsafePointer<cmk_provider>

    package func call(_ request: [UInt8], timeout: Duration) async throws(ProviderCallError) -> [UInt8] {
        let call = descriptor.pointee.call!
        let result: Result<[UInt8], ProviderCallError> = await withCheckedContinuation { continuation in
            let token = PendingReplies.register(continuation)
            let timer = Task {
                try? await Task.sleep(for: timeout)
                PendingReplies.resolve(token, with: .failure(ProviderCallError(.timedOut, "no reply within \(timeout)")))
            }
            PendingReplies.attach(timer, to: token)
            request.withUnsafeBufferPointer { buffer in
                buffer.withMemoryRebound(to: CChar.self) { chars in
                    call(chars.baseAddress, chars.count, UnsafeMutableRawPointer(bitPattern: token), hostReply)
                }
            }
        }
        return try result.get()
    }
}

/// Replies the host is waiting for, by token.
///
/// The token handed to the provider is a number, not a pointer: a reply that comes twice, late
/// (after a timeout) or with a made-up token finds nothing and is counted, never a freed object.
package enum PendingReplies {
    private struct Pending {
        var continuation: CheckedContinuation<Result<[UInt8], ProviderCallError>, Never>
        var timer: Task<Void, Never>?
    }

    private struct State {
        var next: UInt = 1
        var pending: [UInt: Pending] = [:]
        var unexpected = 0
    }

    private static let state = Mutex(State())

    static func register(_ continuation: CheckedContinuation<Result<[UInt8], ProviderCallError>, Never>) -> UInt {
        state.withLock { state in
            let token = state.next
            state.next += 1
            state.pending[token] = Pending(continuation: continuation)
            return token
        }
    }

    static func attach(_ timer: Task<Void, Never>, to token: UInt) {
        let orphan = state.withLock { state -> Bool in
            guard state.pending[token] != nil else { return true }
            state.pending[token]?.timer = timer
            return false
        }
        if orphan { timer.cancel() }
    }

    static func resolve(_ token: UInt, with result: Result<[UInt8], ProviderCallError>) {
        let pending = state.withLock { state -> Pending? in
            guard let pending = state.pending.removeValue(forKey: token) else {
                if case .success = result { state.unexpected += 1 }
                return nil
            }
            return pending
        }
        pending?.timer?.cancel()
        pending?.continuation.resume(returning: result)
    }

    /// Replies that matched no waiting request (duplicates, late or forged ones) since start.
    package static var unexpectedReplies: Int { state.withLock { $0.unexpected } }
}

private let hostReply: cmk_reply_fn = { context, reply, length in
    let bytes = reply.map { Array(UnsafeRawBufferPointer(start: $0, count: length)) } ?? []
    // A C provider may count the terminating NUL in `length`.
    let trimmed = bytes.last == 0 ? Array(bytes.dropLast()) : bytes
    PendingReplies.resolve(UInt(bitPattern: context), with: .success(trimmed))
}
