import Foundation
import Testing

/// Every way a provider library can be broken is one clear line naming the file and the cause,
/// and none of them crashes cmk or hides the good providers.
@Suite("Loading providers: failures are reported, good providers survive")
struct LoadFailureTests {
    struct BrokenLibrary: CustomStringConvertible, Sendable {
        var file: String
        var make: @Sendable (TemporaryDirectory) async throws -> Void
        var expectedCause: String
        var description: String { file }
    }

    static let cases: [BrokenLibrary] = [
        BrokenLibrary(
            file: "libcmk-provider-missing.so",
            make: { dir in
                try FileManager.default.createSymbolicLink(
                    atPath: dir.file("libcmk-provider-missing.so"),
                    withDestinationPath: dir.file("gone.so")
                )
            },
            expectedCause: "it is a dangling symlink to "
        ),
        BrokenLibrary(
            file: "libcmk-provider-fifo.so",
            make: { dir in
                // Opened without O_NONBLOCK (as dlopen opens), a FIFO blocks cmk until a writer comes.
                guard mkfifo(dir.file("libcmk-provider-fifo.so"), 0o644) == 0 else {
                    throw TestFailure("mkfifo: \(String(cString: strerror(errno)))")
                }
            },
            expectedCause: "it is a FIFO, not a regular file"
        ),
        BrokenLibrary(
            file: "libcmk-provider-text.so",
            make: { dir in
                try dir.write("libcmk-provider-text.so", "this is not a library\n")
            },
            expectedCause: "not a shared library"
        ),
        BrokenLibrary(
            file: "libcmk-provider-folder.so",
            make: { dir in
                try FileManager.default.createDirectory(
                    atPath: dir.file("libcmk-provider-folder.so"),
                    withIntermediateDirectories: false
                )
            },
            expectedCause: "it is a directory, not a regular file"
        ),
        BrokenLibrary(
            file: "libcmk-provider-noentry.so",
            make: { dir in
                try await TestProvider.build("noentry", in: dir, defines: ["TEST_NO_ENTRY"])
            },
            expectedCause: "no cmk_provider_entry symbol"
        ),
        BrokenLibrary(
            file: "libcmk-provider-abi99.so",
            make: { dir in
                try await TestProvider.build("abi99", in: dir, defines: ["TEST_ABI_VERSION=99", "TEST_NAME=\"abi\""])
            },
            expectedCause: "ABI version 99, but this cmk speaks version 1"
        ),
        BrokenLibrary(
            file: "libcmk-provider-small.so",
            make: { dir in
                try await TestProvider.build("small", in: dir, defines: ["TEST_STRUCT_SIZE=16", "TEST_NAME=\"small\""])
            },
            expectedCause: "descriptor is 16 bytes, but ABI version 1 needs at least 40"
        ),
        BrokenLibrary(
            file: "libcmk-provider-undefined.so",
            make: { dir in
                try await TestProvider.build("undefined", in: dir, defines: ["TEST_UNDEFINED", "TEST_NAME=\"undef\""])
            },
            expectedCause: "undefined symbol: cmk_test_symbol_that_does_not_exist"
        ),
    ]

    @Test("a broken library is reported in one line and the others still load", arguments: cases)
    func brokenLibrary(_ broken: BrokenLibrary) async throws {
        let plugins = try TemporaryDirectory("cmk-plugins")
        defer { plugins.cleanUp() }
        try await broken.make(plugins)
        for isolate in [[], ["--isolate"]] {
            let result = try await runCMK(
                ["providers"] + isolate,
                environment: ["CMK_PLUGIN_PATH": plugins.path],
                timeout: .seconds(30)
            )
            #expect(result.status == 0)
            let warnings = result.stderr.split(separator: "\n").filter { $0.contains(broken.file) }
            #expect(warnings.count == 1, "\(isolate) stderr: \(result.stderr)")
            #expect(warnings.first?.contains(broken.expectedCause) == true, "\(isolate) stderr: \(result.stderr)")
            #expect(result.stdout.contains("aws "), "the good providers are still listed: \(result.stdout)")
        }

        // The broken library does not stop a real run either.
        let status = try await runCMK(["status", "--provider", "aws"], environment: ["CMK_PLUGIN_PATH": plugins.path])
        #expect(status.status == 0, "stderr: \(status.stderr)")
    }

    @Test("two libraries claiming one name: the first on the path wins, the other is reported")
    func duplicateName() async throws {
        let first = try TemporaryDirectory("cmk-first")
        let second = try TemporaryDirectory("cmk-second")
        defer { first.cleanUp(); second.cleanUp() }
        let winner = try await TestProvider.build("dup-a", in: first, defines: ["TEST_NAME=\"dup\""])
        let loser = try await TestProvider.build("dup-b", in: second, defines: ["TEST_NAME=\"dup\""])
        let result = try await runCMK(
            ["providers", "--output", "json"],
            environment: ["CMK_PLUGIN_PATH": "\(first.path):\(second.path)"]
        )
        #expect(result.status == 0)
        let document = try result.json()
        let providers = try #require(document["providers"] as? [[String: Any]])
        #expect(providers.first { $0["name"] as? String == "dup" }?["path"] as? String == winner)
        let problems = try #require(document["problems"] as? [[String: Any]])
        let duplicate = try #require(problems.first { $0["path"] as? String == loser })
        #expect(duplicate["code"] as? String == "duplicate-name")
        #expect((duplicate["reason"] as? String)?.contains(winner) == true)
    }

    @Test("a directory named in CMK_PLUGIN_PATH that does not exist is reported, not fatal")
    func missingDirectory() async throws {
        let result = try await runCMK(["providers"], environment: ["CMK_PLUGIN_PATH": "/nonexistent/cmk-plugins"])
        #expect(result.status == 0)
        #expect(result.stderr.contains("/nonexistent/cmk-plugins: plugin directory does not exist"))
    }

    @Test("10,000 missing plugin directories are three warnings and one line for the rest")
    func manyMissingDirectories() async throws {
        let missing = (0..<10_000).map { "/nx/\($0)" }
        let result = try await runCMK(["providers"], environment: ["CMK_PLUGIN_PATH": missing.joined(separator: ":")])
        #expect(result.status == 0)
        let warnings = result.stderr.split(separator: "\n").filter { $0.contains("plugin directory does not exist") }
        #expect(warnings.count == 4, "\(warnings.prefix(6))")
        #expect(warnings.first?.contains("/nx/0:") == true, "\(warnings.prefix(6))")
        #expect(warnings.last?.contains("/nx/3: ") == true, "\(warnings.prefix(6))")
        #expect(warnings.last?.contains("and so do 9996 more") == true, "\(warnings.prefix(6))")
        #expect(!result.stderr.contains("/nx/4:"))
    }

    @Test("deleting a provider's library removes it: cmk never links a provider")
    func providerDisappearsWithItsFile() async throws {
        // A hard link of cmk alone in a directory finds only the providers beside it. (A copy
        // would be open for writing while other tests fork, and exec would fail: ETXTBSY.)
        let install = try TemporaryDirectory(inside: "\(TestPaths.products)/..", "cmk-install")
        defer { install.cleanUp() }
        let cmk = install.file("cmk")
        try FileManager.default.linkItem(atPath: TestPaths.cmk, toPath: cmk)
        try FileManager.default.linkItem(
            atPath: "\(TestPaths.products)/libcmk-provider-aws.so",
            toPath: install.file("libcmk-provider-aws.so")
        )
        let before = try await runCMK(["providers"], executable: cmk)
        #expect(before.stdout.contains("aws "))
        try FileManager.default.removeItem(atPath: install.file("libcmk-provider-aws.so"))
        let after = try await runCMK(["providers"], executable: cmk)
        #expect(!after.stdout.contains("aws "))
        #expect(after.stdout.contains("No provider is installed"))
        let status = try await runCMK(["status", "--provider", "aws"], executable: cmk)
        #expect(status.status == 1)
        #expect(status.stderr.contains("provider 'aws' (from --provider) is not installed"))
    }
}
