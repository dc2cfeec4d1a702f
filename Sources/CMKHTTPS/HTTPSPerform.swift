// libcmk-https.so: the https transport, loaded by CMKCore's HTTP client on its first https request.
// It is the only code in cmk that imports FoundationNetworking (and so libcurl).
public import CMKPluginABI
import Dispatch
import Foundation
import FoundationNetworking

private struct WireRequest: Decodable {
    var method: String
    var url: String
    var headers: [String: String]
    var timeout_ms: Int
}

private struct WireReply: Encodable {
    var status: Int?
    var headers: [String: String]?
    var error: String?
}

/// One session for the process; URLSession's default of 6 connections per host would serialise
/// concurrent checks, so the limit is raised.
private let session: URLSession = {
    let configuration = URLSessionConfiguration.ephemeral
    configuration.httpMaximumConnectionsPerHost = 64
    configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
    return URLSession(configuration: configuration)
}()

@_cdecl("cmk_https_perform")
public func cmk_https_perform(
    _ requestJSON: UnsafePointer<CChar>?,
    _ jsonLength: Int,
    _ body: UnsafePointer<UInt8>?,
    _ bodyLength: Int,
    _ context: UnsafeMutableRawPointer?,
    _ done: cmk_https_done_fn?
) {
    guard let done else { return }
    let token = UInt(bitPattern: context)
    @Sendable func finish(_ reply: WireReply, _ payload: Data) {
        let json = (try? JSONEncoder().encode(reply)) ?? Data(#"{"error":"encoding failed"}"#.utf8)
        json.withUnsafeBytes { jsonBytes in
            payload.withUnsafeBytes { bodyBytes in
                done(
                    UnsafeMutableRawPointer(bitPattern: token),
                    jsonBytes.bindMemory(to: CChar.self).baseAddress,
                    jsonBytes.count,
                    bodyBytes.bindMemory(to: UInt8.self).baseAddress,
                    bodyBytes.count
                )
            }
        }
    }
    let requestData = requestJSON.map { Data(bytes: $0, count: jsonLength) } ?? Data()
    guard let wire = try? JSONDecoder().decode(WireRequest.self, from: requestData), let url = URL(string: wire.url),
        url.scheme == "https"
    else {
        finish(WireReply(error: "the https transport was given an invalid request"), Data())
        return
    }
    var request = URLRequest(url: url)
    request.httpMethod = wire.method
    for (name, value) in wire.headers { request.setValue(value, forHTTPHeaderField: name) }
    if let body, bodyLength > 0 { request.httpBody = Data(bytes: body, count: bodyLength) }
    // URLSession on Linux truncates timeoutInterval to whole seconds: cancel on our own deadline.
    request.timeoutInterval = Double(wire.timeout_ms) / 1000 + 1
    let task = session.dataTask(with: request) { data, response, error in
        if let http = response as? HTTPURLResponse {
            var headers: [String: String] = [:]
            for (name, value) in http.allHeaderFields {
                headers[String(describing: name).lowercased()] = String(describing: value)
            }
            finish(WireReply(status: http.statusCode, headers: headers), data ?? Data())
        } else if let error = error as? URLError, error.code == .cancelled {
            finish(WireReply(error: "timed out after \(wire.timeout_ms) ms"), Data())
        } else {
            finish(WireReply(error: error.map { String(describing: $0.localizedDescription) } ?? "no response"), Data())
        }
    }
    task.resume()
    DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(wire.timeout_ms)) { task.cancel() }
}
