import Foundation
import Synchronization
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
        // Found but refused, not "not installed": both digests, the file and the config named.
        let refusal = bad.stderr.split(separator: "\n").first { $0.hasPrefix("Error:") }.map(String.init) ?? ""
        #expect(refusal.contains("provider 'cstub' (from --provider) was found but refused"), "\(bad.stderr)")
        #expect(refusal.contains("sha256 differs from its pin"), "\(refusal)")
        #expect(refusal.contains(digest), "\(refusal)")
        #expect(refusal.contains(String(repeating: "0", count: 64)), "\(refusal)")
        #expect(bad.stderr.contains("  file: \(library)"), "\(bad.stderr)")
        #expect(refusal.contains(config.file("cmk/config")), "\(refusal)")
        #expect(!bad.stderr.contains("is not installed"), "\(bad.stderr)")

        let detect = try await runCMK(
            ["detect", "--provider", "cstub"],
            environment: ["CMK_PLUGIN_PATH": plugins.path, "XDG_CONFIG_HOME": config.path]
        )
        #expect(detect.status == 1)
        #expect(detect.stderr.contains("was found but refused"), "\(detect.stderr)")
    }

    @Test(
        "a library renamed over a pinned one while cmk loads never runs, in process or in a worker",
        arguments: [false, true]
    )
    func swappedWhileLoading(isolated: Bool) async throws {
        // cmk alone with the swapped file: no built-in provider to load, so runs are quick.
        let plugins = try HostileProvider.privateInstall()
        let config = try TemporaryDirectory("cmk-config")
        defer { plugins.cleanUp(); config.cleanUp() }
        // Two builds of one provider; the evil one writes a marker from a constructor, that is
        // as soon as dlopen maps it, before any check cmk could still make.
        let good = try await HostileProvider.build("good.bin", in: plugins, defines: ["HOSTILE_NAME=\"swapped\""])
        let evil = try await HostileProvider.build(
            "evil.bin",
            in: plugins,
            defines: ["HOSTILE_NAME=\"swapped\"", "HOSTILE_CONSTRUCTOR_MARKER"]
        )
        let target = plugins.file("libcmk-provider-swapped.so")
        let digest =
            try await runProcess("/usr/bin/sha256sum", [good]).stdout.split(separator: " ").first.map(String.init) ?? ""
        try config.write("cmk/config", "[pins]\nswapped = \(digest)\n")
        #expect(link(good, target) == 0)

        // Renames, as an attacker with a second name in the directory would: each one atomic. The
        // good file stays longer, so that some runs meet only it (a worker re-opens the file, and
        // refuses it if it was swapped since the host's check: that is refused, not loaded).
        let swapper = FileSwapper(
            target: target,
            files: [(path: evil, microseconds: 300), (path: good, microseconds: 1500)],
            scratch: plugins.file("next")
        )
        swapper.start()
        var outcomes: [Int32: Int] = [:]
        let marker = plugins.file("evil-ran")
        for _ in 0..<(isolated ? 30 : 80) {
            let run = try await runCMK(
                ["status", "--provider", "swapped"] + (isolated ? ["--isolate"] : []),
                environment: ["XDG_CONFIG_HOME": config.path, "HOSTILE_MARKER": marker],
                executable: plugins.file("cmk")
            )
            outcomes[run.status, default: 0] += 1
        }
        swapper.stop()
        #expect(!FileManager.default.fileExists(atPath: marker), "the evil library ran: \(outcomes)")
        // Both files were met: the good one loaded (0), the evil one was refused by its pin (1).
        #expect(outcomes[0, default: 0] > 0 && outcomes[1, default: 0] > 0, "\(outcomes)")
        #expect(Set(outcomes.keys).isSubset(of: [0, 1]), "\(outcomes)")
    }

    @Test("a world-writable https transport is refused, not loaded: the calls fail, exit 3")
    func writableHTTPSTransport() async throws {
        let emulator = try await AzureEmulatorProcess("ready", tls: true)
        let scratch = try TemporaryDirectory("cmk-https-lib")
        defer { scratch.cleanUp() }
        let copy = scratch.file("libcmk-https.so")
        try FileManager.default.copyItem(atPath: "\(TestPaths.products)/libcmk-https.so", toPath: copy)
        chmod(copy, 0o755)
        var environment = emulator.signedIn
        environment["CMK_HTTPS_LIBRARY"] = copy
        let trusted = try await AzureStatus.run(environment: environment)
        #expect(trusted.result.status == 0, "CMK_HTTPS_LIBRARY is used: \(trusted.output)")

        chmod(copy, 0o666)
        let refused = try await AzureStatus.run(environment: environment)
        #expect(refused.result.status == 3, "\(refused.output)")
        #expect(refused.ids("ok").isDisjoint(with: azureLiveChecks), "\(refused.output)")
        let summary = refused.summary("app-consent")
        #expect(summary.contains("https transport \(copy) refused"), "\(summary)")
        #expect(summary.contains("writable by group or others (mode 0666)"), "\(summary)")
    }

    @Test("a world-writable libcmk-https.so beside cmk is refused the same way")
    func writableHTTPSTransportBesideCMK() async throws {
        let emulator = try await AzureEmulatorProcess("ready", tls: true)
        // A hard link of cmk and of the Azure provider, with a copy of the transport beside them.
        let install = try TemporaryDirectory(inside: "\(TestPaths.products)/..", "cmk-install")
        defer { install.cleanUp() }
        let cmk = install.file("cmk")
        try FileManager.default.linkItem(atPath: TestPaths.cmk, toPath: cmk)
        try FileManager.default.linkItem(
            atPath: "\(TestPaths.products)/libcmk-provider-azure.so",
            toPath: install.file("libcmk-provider-azure.so")
        )
        try FileManager.default.copyItem(
            atPath: "\(TestPaths.products)/libcmk-https.so",
            toPath: install.file("libcmk-https.so")
        )
        chmod(install.file("libcmk-https.so"), 0o646)
        let result = try await runCMK(
            ["status", "--provider", "azure", "--output", "json", "--key-uri", AzureEmulatorProcess.keyURI],
            environment: emulator.signedIn,
            executable: cmk
        )
        let status = try AzureStatus(result: result)
        #expect(result.status == 3, "\(status.output)")
        #expect(status.summary("app-consent").contains("writable by group or others (mode 0646)"), "\(status.output)")
        #expect(try await emulator.requests().isEmpty)
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

/// Renames each of `files` over `target` in turn, on a thread of its own, until stopped.
///
/// Each file is first hard-linked to `scratch` and that name renamed over the target, so the
/// target always exists and always is one of the files, byte for byte.
final class FileSwapper: Sendable {
    let target: String
    /// Each file and how long it stays in place.
    let files: [(path: String, microseconds: UInt32)]
    let scratch: String
    private let running = Mutex(true)
    private let done = Mutex(false)

    init(target: String, files: [(path: String, microseconds: UInt32)], scratch: String) {
        self.target = target
        self.files = files
        self.scratch = scratch
    }

    func start() {
        Thread.detachNewThread { [self] in
            var turn = 0
            while running.withLock({ $0 }) {
                let (path, microseconds) = files[turn % files.count]
                unlink(scratch)
                if link(path, scratch) == 0 { rename(scratch, target) }
                turn += 1
                usleep(microseconds)
            }
            done.withLock { $0 = true }
        }
    }

    func stop() {
        running.withLock { $0 = false }
        while !done.withLock({ $0 }) { usleep(1000) }
    }
}
