// The https transport as it was before libcurl-from-C: URLSession (FoundationNetworking), behind
// the same ABI (cmk_https.h, version 2), so that bench/bench.py can compare the two in one run by
// pointing CMK_HTTPS_LIBRARY at it. Not shipped; built by the bench with swiftc.
//
// What URLSession cannot do here, and why the comparison matters: trust roots only through the
// process-wide URLSessionCertificateAuthorityInfoFile variable, timeouts in whole seconds (the
// deadline is enforced by cancelling), and proxies only through connectionProxyDictionary.
import Dispatch
import Foundation
import FoundationNetworking

private final class Box: @unchecked Sendable {  // written by the task's handler before the semaphore signals
    var data: Data?
    var response: URLResponse?
    var error: (any Error)?
}

private let session: URLSession = {
    let configuration = URLSessionConfiguration.ephemeral
    configuration.httpMaximumConnectionsPerHost = 64
    configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
    return URLSession(configuration: configuration)
}()

@_cdecl("cmk_https_perform_v2")
public func cmk_https_perform_v2(
    _ request: UnsafePointer<cmk_https_request>?,
    _ context: UnsafeMutableRawPointer?,
    _ reply: cmk_https_reply_fn?
) {
    guard let reply, let request = request?.pointee else { return }
    func fail(_ code: Int32, _ message: String) {
        message.withCString { text in
            "".withCString { empty in
                var outcome = cmk_https_reply()
                outcome.error = code
                outcome.message = text
                outcome.headers = empty
                reply(context, &outcome)
            }
        }
    }
    guard let url = URL(string: String(cString: request.url)) else { return fail(9, "bad URL") }
    if let bundle = request.ca_bundle, bundle.pointee != 0 {
        setenv("URLSessionCertificateAuthorityInfoFile", bundle, 1)
    }
    var urlRequest = URLRequest(url: url)
    urlRequest.httpMethod = String(cString: request.method)
    if let headers = request.headers {
        for line in String(cString: headers).split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            urlRequest.setValue(
                String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces),
                forHTTPHeaderField: String(line[..<colon])
            )
        }
    }
    if let body = request.body, request.body_length > 0 { urlRequest.httpBody = Data(bytes: body, count: request.body_length) }
    urlRequest.timeoutInterval = Double(request.timeout_ms) / 1000 + 1
    let box = Box()
    let done = DispatchSemaphore(value: 0)
    let task = session.dataTask(with: urlRequest) { data, response, error in
        box.data = data
        box.response = response
        box.error = error
        done.signal()
    }
    task.resume()
    if done.wait(timeout: .now() + .milliseconds(Int(request.timeout_ms))) == .timedOut {
        task.cancel()
        done.wait()
        return fail(1, "timed out after \(request.timeout_ms) ms")
    }
    guard let http = box.response as? HTTPURLResponse else {
        return fail(11, box.error.map { "\($0.localizedDescription)" } ?? "no response")
    }
    var headerText = ""
    for (name, value) in http.allHeaderFields { headerText += "\(name): \(value)\r\n" }
    let body = box.data ?? Data()
    headerText.withCString { headers in
        "".withCString { empty in
            body.withUnsafeBytes { bytes in
                var outcome = cmk_https_reply()
                outcome.status = Int32(http.statusCode)
                outcome.message = empty
                outcome.headers = headers
                outcome.headers_length = strlen(headers)
                outcome.body = bytes.bindMemory(to: UInt8.self).baseAddress
                outcome.body_length = bytes.count
                reply(context, &outcome)
            }
        }
    }
}
