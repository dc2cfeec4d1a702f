import Synchronization

/// What the emulator was asked, for tests: which requests carried a token (never the token itself).
final class RequestLog: Sendable {
    struct Entry: Sendable {
        var method: String
        var host: String
        var path: String
        var route: String
        var authorization: Bool
        var status: Int
        var apiVersion: String?

        var json: JSONValue {
            .object([
                "method": .string(method), "host": .string(host), "path": .string(path), "route": .string(route),
                "authorization": .bool(authorization), "status": .number(Double(status)),
                "apiVersion": apiVersion.map(JSONValue.string) ?? .null,
            ])
        }
    }

    private let entries = Mutex<[Entry]>([])

    func append(_ entry: Entry) { entries.withLock { $0.append(entry) } }

    var json: JSONValue { .array(entries.withLock { $0.map(\.json) }) }
}
