internal import CMKPluginABI
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#else
    #error("cmk's HTTPS transport loader needs Glibc or Musl")
#endif

/// Hands https requests to `libcmk-https.so` (C over the system's libcurl), loaded on first use.
///
/// Keeping libcurl out of the start-up path is what keeps an off-cloud `cmk status` near the cost
/// of a hello world; the price is one dlopen the first time a provider really goes to the network.
/// The library is C, not Swift: loading Foundation into the process is what once kept cmk from
/// exiting (see `CMK.main`), and it would triple the memory of an Azure run.
enum HTTPSTransport {
    static let libraryName = "libcmk-https.so"
    static let libraryEnvironmentVariable = "CMK_HTTPS_LIBRARY"
    /// Beyond the request's own deadline, how long the client waits for the transport before it
    /// gives up on its own: the transport keeps its deadline, so this only guards against a bug.
    static let grace: Duration = .milliseconds(500)

    private static let loaded = Mutex<Result<cmk_https_perform_fn, HTTPError>?>(nil)

    static func perform(
        _ request: HTTPRequest,
        url: String,
        host: String,
        proxy: String?,
        caBundle: String?,
        deadline: ContinuousClock.Instant
    ) async -> Result<HTTPResponse, HTTPError> {
        let perform: cmk_https_perform_fn
        switch load() {
        case .success(let function): perform = function
        case .failure(let error): return .failure(error)
        }
        let (seconds, attoseconds) = (deadline - .now).components
        let milliseconds = max(1, seconds * 1000 + attoseconds / 1_000_000_000_000_000)
        var headerLines = ""
        for (name, value) in request.headers.sorted(by: { $0.key < $1.key }) {
            // A header value with a line break would smuggle a second header: refuse it.
            guard !name.contains(where: { $0 == "\r" || $0 == "\n" || $0 == ":" }),
                !value.contains(where: { $0 == "\r" || $0 == "\n" })
            else {
                return .failure(HTTPError(.invalidURL, "header '\(name)' for \(host) holds a line break"))
            }
            headerLines += "\(name): \(value)\n"
        }
        let call = HTTPSCall(
            method: request.method,
            url: url,
            headers: headerLines,
            body: request.body,
            timeoutMilliseconds: milliseconds,
            proxy: proxy,
            caBundle: caBundle
        )
        let timedOut = HTTPError(.timedOut, "\(host): no answer within \(milliseconds) ms")
        let result = await runOnOwnThread(until: deadline + grace, orElse: .failure(timedOut)) {
            call.run(perform)
        }
        return result.mapError { error in
            HTTPError(error.code, Self.explain(error, host: host, proxy: proxy, caBundle: caBundle))
        }
    }

    /// The message an admin reads: which host, what went wrong, and what to change.
    private static func explain(_ error: HTTPError, host: String, proxy: String?, caBundle: String?) -> String {
        switch error.code {
        case .certificateUntrusted:
            let roots = caBundle.map { "the CA bundle \($0)" } ?? "the system's trust roots"
            return "certificate of \(host) not trusted by \(roots) (\(error.reason)); set CMK_CA_BUNDLE if your"
                + " network inspects TLS"
        case .tlsFailed: return "TLS handshake with \(host) failed: \(error.reason)"
        case .proxyFailed: return "\(error.reason); check HTTPS_PROXY and NO_PROXY"
        case .connectionFailed where proxy != nil:
            return "\(host) via proxy \(proxy!): \(error.reason); check HTTPS_PROXY and NO_PROXY"
        case .invalidSetting: return "CMK_CA_BUNDLE=\(caBundle ?? ""): \(error.reason)"
        default: return "\(host): \(error.reason)"
        }
    }

    private static func load() -> Result<cmk_https_perform_fn, HTTPError> {
        loaded.withLock { cached in
            if let cached { return cached }
            let result = locateAndOpen()
            cached = result
            return result
        }
    }

    /// Finds the library and loads it through the descriptor that was checked.
    ///
    /// The transport runs inside cmk (or a worker) with the provider's token in hand, so it gets
    /// the checks a provider gets: owned by root or the user, writable by nobody else, nor any
    /// directory above it; then dlopen loads the inode that was checked (`/proc/self/fd/N`), not
    /// whatever the path names by then. `CMK_HTTPS_LIBRARY`, when set, is the only candidate: a
    /// refused or missing override never falls back to another file unnoticed.
    private static func locateAndOpen() -> Result<cmk_https_perform_fn, HTTPError> {
        var candidates: [String] = []
        if let explicit = getenv(libraryEnvironmentVariable), explicit.pointee != 0 {
            candidates.append(String(cString: explicit))
        } else if let executable = executableDirectory() {
            candidates.append("\(executable)/\(libraryName)")
            candidates.append("\(executable)/../lib/cmk/\(libraryName)")
        }
        var reasons: [String] = []
        for path in candidates {
            let file: OpenedFile
            switch OpenedFile.open(path) {
            case .success(let opened): file = opened
            case .failure(let refusal):
                reasons.append(refusal.reason)
                continue
            }
            let verdict = FileTrust.check(file)
            guard verdict.trusted else {
                return .failure(
                    HTTPError(
                        .transportUnavailable,
                        "https transport \(path) refused: \(verdict.reason ?? "untrusted")"
                    )
                )
            }
            // Through the descriptor, `$ORIGIN` would be /proc/self/fd: its own libraries go first.
            let dependencyProblems = OriginDependencies.preload(for: file)
            _ = dlerror()
            guard let handle = dlopen(file.procPath, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE) else {
                let message = dlerror().map { String(cString: $0) } ?? "dlopen failed"
                let problems = [message.replacingFirst(file.procPath, with: path)] + dependencyProblems
                reasons.append(problems.joined(separator: "; "))
                continue
            }
            file.keepOpen()
            guard let symbol = dlsym(handle, CMK_HTTPS_PERFORM_SYMBOL) else {
                reasons.append("\(path): no symbol \(CMK_HTTPS_PERFORM_SYMBOL) (built for another cmk?)")
                continue
            }
            return .success(unsafeBitCast(symbol, to: cmk_https_perform_fn.self))
        }
        let place =
            candidates.count == 1 && getenv(libraryEnvironmentVariable) != nil
            ? "the file \(libraryEnvironmentVariable) names" : "\(libraryName) beside cmk or in <prefix>/lib/cmk"
        return .failure(
            HTTPError(.transportUnavailable, "https needs \(place) (\(reasons.joined(separator: "; ")))")
        )
    }
}

extension String {
    /// The string with its first occurrence of `target` replaced (dlopen names the descriptor).
    fileprivate func replacingFirst(_ target: String, with replacement: String) -> String {
        guard let range = firstRange(of: target) else { return self }
        var copy = self
        copy.replaceSubrange(range, with: replacement)
        return copy
    }
}

/// One request's C strings, kept alive for the blocking call.
private struct HTTPSCall: Sendable {
    var method: String
    var url: String
    var headers: String
    var body: [UInt8]
    var timeoutMilliseconds: Int64
    var proxy: String?
    var caBundle: String?

    func run(_ perform: cmk_https_perform_fn) -> Result<HTTPResponse, HTTPError> {
        // C copies of the strings, alive for the whole blocking call.
        let texts: [String] = [method, url, headers, proxy ?? "", caBundle ?? ""]
        let strings = texts.map { strdup($0) }
        defer { strings.forEach { free($0) } }
        guard strings.allSatisfy({ $0 != nil }) else {
            return .failure(HTTPError(.connectionFailed, "out of memory preparing the request"))
        }
        let sink = HTTPSReplySink()
        body.withUnsafeBufferPointer { body in
            var request = cmk_https_request()
            request.abi_version = UInt32(CMK_HTTPS_ABI_VERSION)
            request.struct_size = UInt32(MemoryLayout<cmk_https_request>.size)
            request.method = UnsafePointer(strings[0])
            request.url = UnsafePointer(strings[1])
            request.headers = UnsafePointer(strings[2])
            request.proxy = UnsafePointer(strings[3])
            request.ca_bundle = UnsafePointer(strings[4])
            request.body = body.baseAddress
            request.body_length = body.count
            request.timeout_ms = timeoutMilliseconds
            perform(&request, Unmanaged.passUnretained(sink).toOpaque(), httpsReply)
        }
        return sink.result ?? .failure(HTTPError(.malformedResponse, "the https transport gave no reply"))
    }
}

/// Receives the reply during the call; the call returns only after the callback ran.
private final class HTTPSReplySink: @unchecked Sendable {
    // Unchecked: written by the callback on the calling thread, read by it after the call returns.
    var result: Result<HTTPResponse, HTTPError>?
}

private let httpsReply: cmk_https_reply_fn = { context, reply in
    guard let context, let reply else { return }
    let sink = Unmanaged<HTTPSReplySink>.fromOpaque(context).takeUnretainedValue()
    guard sink.result == nil else { return }  // exactly once, even from a faulty transport
    let outcome = reply.pointee
    if outcome.error == Int32(CMK_HTTPS_OK) {
        let headerText =
            outcome.headers.map {
                String(
                    decoding: UnsafeRawBufferPointer(start: $0, count: outcome.headers_length),
                    as: UTF8.self
                )
            } ?? ""
        let body = outcome.body.map { Array(UnsafeBufferPointer(start: $0, count: outcome.body_length)) } ?? []
        sink.result = .success(
            HTTPResponse(status: Int(outcome.status), headers: parseHeaderLines(headerText), body: body)
        )
        return
    }
    let message = outcome.message.map { String(cString: $0) } ?? "unknown error"
    let code: HTTPError.Code =
        switch Int(outcome.error) {
        case Int(CMK_HTTPS_TIMED_OUT): .timedOut
        case Int(CMK_HTTPS_UNTRUSTED): .certificateUntrusted
        case Int(CMK_HTTPS_TLS_FAILED): .tlsFailed
        case Int(CMK_HTTPS_PROXY_REFUSED): .proxyFailed
        case Int(CMK_HTTPS_TOO_LARGE): .responseTooLarge
        case Int(CMK_HTTPS_UNAVAILABLE): .transportUnavailable
        case Int(CMK_HTTPS_BAD_REQUEST): .invalidURL
        case Int(CMK_HTTPS_CA_BUNDLE): .invalidSetting
        default: .connectionFailed
        }
    sink.result = .failure(HTTPError(code, message))
}
