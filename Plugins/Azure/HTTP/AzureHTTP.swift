import Synchronization
import CMKCore
import FoundationEssentials

/// Sends Azure requests within the run's deadline, retrying throttled calls a bounded number of times.
///
/// Every call gets at most `requestTimeout`, capped by what is left of the whole run, so one slow
/// service cannot eat the others' time; 429 and 503 are retried (at most `maxRetries` times),
/// waiting what `Retry-After` asks when that still fits in the deadline.
struct AzureHTTP: Sendable {
    static let requestTimeout: Duration = .seconds(5)
    static let maxRetries = 3

    let client: HTTPClient
    let deadline: ContinuousClock.Instant
    /// Endpoints that could not be reached in this run: one cause for every check they kept from cmk.
    let outages = OutageLog()

    var overrideActive: Bool { client.endpointOverride != nil }

    /// The time left before the run's deadline (zero when it has passed).
    var remaining: Duration { max(.zero, deadline - .now) }

    /// Sends `request`, attaching `bearer` only when ``TokenPolicy`` allows it for this URL.
    func send(
        _ request: HTTPRequest,
        bearer: (token: AccessToken, audience: TokenPolicy.Audience)? = nil,
        cloud: AzureCloud,
        timeout: Duration = requestTimeout
    ) async -> Result<HTTPResponse, CallFailure> {
        var request = request
        let label = Self.label(request)
        if let bearer {
            let verdict = TokenPolicy.verdict(
                url: request.url,
                audience: bearer.audience,
                cloud: cloud,
                overrideActive: overrideActive
            )
            if case .refused(let why) = verdict {
                return .failure(CallFailure(.refused, "no token sent to \(label): \(why)"))
            }
            request.headers["Authorization"] = "Bearer \(bearer.token.value)"
        }
        var attempt = 0
        while true {
            let left = remaining
            guard left > .milliseconds(1) else {
                return .failure(CallFailure(.timedOut, "the run's deadline passed before \(label)"))
            }
            request.timeout = min(timeout, left)
            let response: HTTPResponse
            do {
                response = try await client.send(request)
            } catch {
                let code: CallFailure.Code = error.code == .timedOut ? .timedOut : .connection
                let what =
                    error.code == .timedOut ? "timed out after \(Self.milliseconds(request.timeout)) ms" : error.reason
                let failure = CallFailure(code, "\(label): \(what)")
                outages.record(failure, host: (try? URLParts(parsing: request.url).host) ?? request.url)
                return .failure(failure)
            }
            guard response.status == 429 || response.status == 503, attempt < Self.maxRetries else {
                return .success(response)
            }
            let wait = Self.retryDelay(response, attempt: attempt)
            guard wait < remaining else { return .success(response) }
            attempt += 1
            try? await Task.sleep(for: wait)
        }
    }

    /// Decodes a 2xx JSON body; any other status or an unreadable body is a failure naming the call.
    func decode<Value: Decodable>(
        _ type: Value.Type,
        _ result: Result<HTTPResponse, CallFailure>,
        label: String
    )
        -> Result<Value, CallFailure>
    {
        result.flatMap { response in
            guard (200..<300).contains(response.status) else { return .failure(Self.statusFailure(response, label)) }
            guard JSONNesting.isShallow(response.body) else {
                return .failure(CallFailure(.malformed, "\(label) answered a body that is not the expected JSON"))
            }
            do {
                return .success(try JSONDecoder().decode(Value.self, from: Data(response.body)))
            } catch {
                return .failure(CallFailure(.malformed, "\(label) answered a body that is not the expected JSON"))
            }
        }
    }

    /// `GET host/path answered 403 (AuthorizationFailed)`: the status and the service's error code, never the body.
    static func statusFailure(_ response: HTTPResponse, _ label: String) -> CallFailure {
        let code = AzureErrorCode.extract(response.body).map { " (\($0))" } ?? ""
        return CallFailure(.status, "\(label) answered \(response.status)\(code)", status: response.status)
    }

    /// `GET management.azure.com/subscriptions`: method, host and path, without the query.
    static func label(_ request: HTTPRequest) -> String {
        var rest = request.url
        if let scheme = rest.firstRange(of: "://") { rest = String(rest[scheme.upperBound...]) }
        if let query = rest.firstIndex(of: "?") { rest = String(rest[..<query]) }
        return "\(request.method) \(rest)"
    }

    private static func retryDelay(_ response: HTTPResponse, attempt: Int) -> Duration {
        if let text = response.header("retry-after"), let seconds = Int(text.trimmingWhitespace()), seconds >= 0 {
            return .seconds(seconds)
        }
        return .milliseconds(200 << attempt)
    }

    static func milliseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}

/// The calls of one run that never reached their endpoint, by host.
final class OutageLog: Sendable {
    struct Outage: Sendable {
        var host: String
        var failure: CallFailure
    }

    private let entries = Mutex<[Outage]>([])

    func record(_ failure: CallFailure, host: String) { entries.withLock { $0.append(Outage(host: host, failure: failure)) } }

    var all: [Outage] { entries.withLock { $0 } }
}
