import Foundation
import Synchronization

/// Builds variants of Tests/Providers/test-provider/cmk_test_provider.c with `cc`.
enum TestProvider {
    static let source: String = {
        let path = "\(TestPaths.repository)/Tests/Providers/test-provider/cmk_test_provider.c"
        return (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
    }()

    /// Builds `libcmk-provider-<file>.so` in `directory` with the given -D flags.
    @discardableResult
    static func build(_ file: String, in directory: TemporaryDirectory, defines: [String] = []) async throws -> String {
        try await buildCProvider(
            named: "libcmk-provider-\(file).so",
            source: source,
            in: directory,
            extraFlags: defines.map { "-D\($0)" }
        )
    }
}

/// Lines recorded by a fake server's handler, read by the test.
final class RequestLog: Sendable {
    private let lines = Mutex<[String]>([])

    func append(_ line: String) { lines.withLock { $0.append(line) } }
    var entries: [String] { lines.withLock { $0 } }
}
