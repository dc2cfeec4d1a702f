import Foundation
import Testing

/// Plugin trust: permissions and ownership (like ssh's StrictModes), sha256 pins, and the Swift
/// compiler fingerprint, all decided before the library's code runs.
@Suite("Plugin trust")
struct TrustPolicyTests {
    @Test("a group- or world-writable provider file is refused with the reason; the others load")
    func writableFile() async throws {
        let plugins = try TemporaryDirectory("cmk-plugins")
        defer { plugins.cleanUp() }
        let library = try await TestProvider.build("cstub", in: plugins)
        chmod(library, 0o666)
        let result = try await runCMK(["providers"], environment: ["CMK_PLUGIN_PATH": plugins.path])
        #expect(result.stderr.contains("\(library): refused:"), "\(result.stderr)")
        #expect(result.stderr.contains("writable by group or others"))
        #expect(!result.stdout.contains("cstub"))
        #expect(result.stdout.contains("aws "))
    }

    @Test("a world-writable plugin directory is refused as a whole")
    func writableDirectory() async throws {
        let plugins = try TemporaryDirectory("cmk-plugins")
        defer { plugins.cleanUp() }
        try await TestProvider.build("cstub", in: plugins)
        chmod(plugins.path, 0o777)
        let result = try await runCMK(["providers"], environment: ["CMK_PLUGIN_PATH": plugins.path])
        #expect(result.stderr.contains("\(plugins.path): plugin directory refused"), "\(result.stderr)")
        #expect(!result.stdout.contains("cstub"))
    }

    @Test("a sha256 pin that matches loads; one that does not is refused before loading")
    func pins() async throws {
        let plugins = try TemporaryDirectory("cmk-plugins")
        let config = try TemporaryDirectory("cmk-config")
        defer { plugins.cleanUp(); config.cleanUp() }
        let library = try await TestProvider.build("cstub", in: plugins)
        let digest =
            try await runProcess("/usr/bin/sha256sum", [library]).stdout.split(separator: " ").first.map(String.init)
            ?? ""
        try config.write("cmk/config", "[pins]\ncstub = \(digest)\n")
        let good = try await runCMK(
            ["status", "--provider", "cstub"],
            environment: ["CMK_PLUGIN_PATH": plugins.path, "XDG_CONFIG_HOME": config.path]
        )
        #expect(good.status == 0, "\(good.stderr)")
        try config.write("cmk/config", "[pins]\ncstub = \(String(repeating: "0", count: 64))\n")
        let bad = try await runCMK(
            ["status", "--provider", "cstub"],
            environment: ["CMK_PLUGIN_PATH": plugins.path, "XDG_CONFIG_HOME": config.path]
        )
        #expect(bad.status == 1)
        #expect(bad.stderr.contains("sha256 \(digest) does not match the pin for 'cstub'"), "\(bad.stderr)")
    }

    @Test("a Swift provider built by another compiler is refused, naming both compilers; C providers are unaffected")
    func toolchainFingerprint() async throws {
        let plugins = try TemporaryDirectory("cmk-plugins")
        defer { plugins.cleanUp() }
        // The AWS provider with the compiler commit in its .comment section rewritten: what a
        // library built by another Swift toolchain looks like, byte for byte otherwise the same.
        var bytes = try Data(contentsOf: URL(fileURLWithPath: "\(TestPaths.products)/libcmk-provider-aws.so"))
        let marker = Data("llvm-project.git ".utf8)
        let found = try #require(bytes.range(of: marker), "no compiler line in the provider")
        let commit = found.upperBound..<(found.upperBound + 40)
        bytes.replaceSubrange(commit, with: Data(String(repeating: "f", count: 40).utf8))
        let foreign = plugins.file("libcmk-provider-foreign.so")
        try bytes.write(to: URL(fileURLWithPath: foreign))
        chmod(foreign, 0o755)
        try await TestProvider.build("cstub", in: plugins)
        let result = try await runCMK(["providers"], environment: ["CMK_PLUGIN_PATH": plugins.path])
        #expect(result.stderr.contains("\(foreign): built by another Swift compiler"), "\(result.stderr)")
        #expect(result.stderr.contains(String(repeating: "f", count: 40)))
        #expect(result.stdout.contains("cstub"), "the C provider loads: \(result.stdout)")
    }
}
