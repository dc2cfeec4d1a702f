import Foundation
import Testing

/// `make install PREFIX=…`: cmk in PREFIX/bin, providers in PREFIX/lib/cmk/plugins, found there.
@Suite("Install layout")
struct InstallTests {
    @Test("an installed cmk finds the installed providers and nothing else")
    func installedLayout() async throws {
        let prefix = try TemporaryDirectory(inside: "\(TestPaths.products)/..", "cmk-prefix")
        defer { prefix.cleanUp() }
        let make = try await runProcess(
            "/usr/bin/make",
            [
                "-C", TestPaths.repository, "install-files", "BIN=\(TestPaths.products)", "PREFIX=\(prefix.path)",
            ]
        )
        try #require(make.status == 0, "make install-files failed: \(make.stderr)")
        let cmk = prefix.file("bin/cmk")
        let result = try await runCMK(["providers", "--output", "json"], executable: cmk)
        let providers = try #require(try result.json()["providers"] as? [[String: Any]])
        let paths = providers.compactMap { $0["path"] as? String }
        #expect(paths.contains(prefix.file("lib/cmk/plugins/libcmk-provider-aws.so")), "\(paths)")
        #expect(paths.allSatisfy { $0.hasPrefix(prefix.path) }, "\(paths)")
        let status = try await runCMK(["status", "--provider", "aws"], executable: cmk)
        #expect(status.status == 0)
    }
}
