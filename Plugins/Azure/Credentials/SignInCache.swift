import FoundationEssentials
import Synchronization

/// Tokens kept for as long as the provider stays loaded: across the `status` calls of one `cmk`
/// process (the rounds of `cmk status --watch`, the targets of `cmk status --targets`).
///
/// Keyed by who signs in (``TokenCredential/identity()``) and the audience. The first caller
/// signs in; callers that come while it is under way await the same sign-in; a token is reused
/// until five minutes before its `exp` claim, the margin the Azure SDKs refresh at. A failed
/// sign-in, or a token without an `exp` claim, is not kept: the next call signs in again.
///
/// With `--isolate` every call is a fresh worker process, so nothing is kept across calls.
final class SignInCache: Sendable {
    static let refreshMargin = 300

    private enum Entry {
        case signingIn(Task<Result<AccessToken, CallFailure>, Never>)
        case ready(AccessToken, expires: Int)
    }

    private let entries = Mutex<[String: Entry]>([:])

    func token(
        for key: String,
        now: @escaping @Sendable () -> Int = { Int(Date().timeIntervalSince1970) },
        signIn: @escaping @Sendable () async -> Result<AccessToken, CallFailure>
    ) async -> Result<AccessToken, CallFailure> {
        let task = entries.withLock { entries -> Task<Result<AccessToken, CallFailure>, Never> in
            switch entries[key] {
            case .ready(let token, let expires) where expires - Self.refreshMargin > now():
                return Task { .success(token) }
            case .signingIn(let task):
                return task
            default:
                let task = Task { await signIn() }
                entries[key] = .signingIn(task)
                return task
            }
        }
        let result = await task.value
        entries.withLock { entries in
            guard case .signingIn? = entries[key] else { return }
            if case .success(let token) = result, let expires = token.claims?.exp, expires.isFinite {
                // Clamped: a claim far in the future must not trap the conversion.
                entries[key] = .ready(token, expires: Int(min(max(expires, 0), 1e12)))
            } else {
                entries[key] = nil
            }
        }
        return result
    }
}
