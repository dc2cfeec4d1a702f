internal import CMKPluginABI
import FoundationEssentials
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#else
    #error("cmk's HTTPS transport loader needs Glibc or Musl")
#endif

/// Hands https requests to `libcmk-https.so` (FoundationNetworking), loaded on first use.
///
/// Keeping libcurl out of the start-up path is what keeps an off-cloud `cmk status` near the cost
/// of a hello world; the price is one dlopen the first time a provider really goes to the network.
enum HTTPSTransport {
    static let libraryName = "libcmk-https.so"
    static let libraryEnvironmentVariable = "CMK_HTTPS_LIBRARY"

    private static let loaded = Mutex<Result<cmk_https_perform_fn, HTTPError>?>(nil)

    static func perform(_ request: HTTPRequest, url: String, deadline: ContinuousClock.Instant) async -> Result<
        HTTPResponse, HTTPError
    > {
        let perform: cmk_https_perform_fn
        switch load() {
        case .success(let function): perform = function
        case .failure(let error): return .failure(error)
        }
        let (seconds, attoseconds) = (deadline - .now).components
        let milliseconds = max(1, seconds * 1000 + attoseconds / 1_000_000_000_000_000)
        struct Wire: Encodable {
            var method: String
            var url: String
            var headers: [String: String]
            var timeout_ms: Int64
        }
        guard
            let json = try? JSONEncoder().encode(
                Wire(method: request.method, url: url, headers: request.headers, timeout_ms: milliseconds)
            )
        else {
            return .failure(HTTPError(.invalidURL, "cannot encode the request for \(url)"))
        }
        let reply = await withCheckedContinuation {
            (continuation: CheckedContinuation<Result<HTTPResponse, HTTPError>, Never>) in
            let token = Unmanaged.passRetained(HTTPSReplyBox(continuation)).toOpaque()
            Array(json).withUnsafeBufferPointer { jsonBuffer in
                request.body.withUnsafeBufferPointer { bodyBuffer in
                    jsonBuffer.withMemoryRebound(to: CChar.self) { chars in
                        perform(
                            chars.baseAddress,
                            chars.count,
                            bodyBuffer.baseAddress,
                            bodyBuffer.count,
                            token,
                            httpsDone
                        )
                    }
                }
            }
        }
        return reply
    }

    private static func load() -> Result<cmk_https_perform_fn, HTTPError> {
        loaded.withLock { cached in
            if let cached { return cached }
            let result = locateAndOpen()
            cached = result
            return result
        }
    }

    private static func locateAndOpen() -> Result<cmk_https_perform_fn, HTTPError> {
        var candidates: [String] = []
        if let explicit = getenv(libraryEnvironmentVariable) { candidates.append(String(cString: explicit)) }
        if let executable = executableDirectory() {
            candidates.append("\(executable)/\(libraryName)")
            candidates.append("\(executable)/../lib/cmk/\(libraryName)")
        }
        var reasons: [String] = []
        for path in candidates {
            guard let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE) else {
                reasons.append(dlerror().map { String(cString: $0) } ?? path)
                continue
            }
            guard let symbol = dlsym(handle, CMK_HTTPS_PERFORM_SYMBOL) else {
                reasons.append("\(path): no symbol \(CMK_HTTPS_PERFORM_SYMBOL)")
                continue
            }
            return .success(unsafeBitCast(symbol, to: cmk_https_perform_fn.self))
        }
        return .failure(
            HTTPError(
                .transportUnavailable,
                "https needs \(libraryName) beside cmk or in <prefix>/lib/cmk (\(reasons.joined(separator: "; ")))"
            )
        )
    }
}

private final class HTTPSReplyBox: Sendable {
    let continuation: CheckedContinuation<Result<HTTPResponse, HTTPError>, Never>
    init(_ continuation: CheckedContinuation<Result<HTTPResponse, HTTPError>, Never>) {
        self.continuation = continuation
    }
}

private let httpsDone: cmk_https_done_fn = { context, json, jsonLength, body, bodyLength in
    guard let context else { return }
    let box = Unmanaged<HTTPSReplyBox>.fromOpaque(context).takeRetainedValue()
    struct Wire: Decodable {
        var status: Int?
        var headers: [String: String]?
        var error: String?
    }
    let jsonBytes = json.map { Data(bytes: $0, count: jsonLength) } ?? Data()
    let bodyBytes = body.map { Array(UnsafeBufferPointer(start: $0, count: bodyLength)) } ?? []
    guard let wire = try? JSONDecoder().decode(Wire.self, from: jsonBytes) else {
        box.continuation.resume(
            returning: .failure(HTTPError(.malformedResponse, "the https transport returned an unreadable reply"))
        )
        return
    }
    if let status = wire.status {
        var headers: [String: String] = [:]
        for (name, value) in wire.headers ?? [:] { headers[name.lowercased()] = value }
        box.continuation.resume(returning: .success(HTTPResponse(status: status, headers: headers, body: bodyBytes)))
    } else {
        let reason = wire.error ?? "unknown error"
        let code: HTTPError.Code = reason.contains("timed out") ? .timedOut : .connectionFailed
        box.continuation.resume(returning: .failure(HTTPError(code, reason)))
    }
}
