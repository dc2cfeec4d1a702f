import Foundation
import Testing

/// The install layout and install.sh: `make install-files` stages what `swift test` built (the
/// same stage.sh and install.sh as a release, without the Swift runtime) and installs it.
@Suite("Install layout")
struct InstallTests {
    /// `make install-files` into a fresh prefix on the build's file system.
    private func install(into prefix: TemporaryDirectory) async throws {
        let make = try await runProcess(
            "/usr/bin/make",
            [
                "-C", TestPaths.repository, "install-files", "BIN=\(TestPaths.products)", "PREFIX=\(prefix.path)",
            ],
            timeout: .seconds(120)
        )
        try #require(make.status == 0, "make install-files failed: \(make.stdout)\(make.stderr)")
    }

    /// Every path under `root`, relative to it, sorted.
    private func tree(_ root: String) -> [String] {
        let entries = (try? FileManager.default.subpathsOfDirectory(atPath: root)) ?? []
        return entries.sorted()
    }

    private func mode(_ path: String) -> mode_t {
        var info = stat()
        return lstat(path, &info) == 0 ? info.st_mode : 0
    }

    @Test("an installed cmk finds the installed providers and nothing else")
    func installedLayout() async throws {
        let prefix = try TemporaryDirectory(inside: "\(TestPaths.products)/..", "cmk-prefix")
        defer { prefix.cleanUp() }
        try await install(into: prefix)
        let cmk = prefix.file("bin/cmk")
        let result = try await runCMK(["providers", "--output", "json"], executable: cmk)
        let providers = try #require(try result.json()["providers"] as? [[String: Any]])
        let paths = providers.compactMap { $0["path"] as? String }
        #expect(paths.contains(prefix.file("lib/cmk/plugins/libcmk-provider-aws.so")), "\(paths)")
        #expect(paths.contains(prefix.file("lib/cmk/plugins/libcmk-provider-azure.so")), "\(paths)")
        #expect(paths.allSatisfy { $0.hasPrefix(prefix.path) }, "\(paths)")
        #expect(providers.allSatisfy { $0["trust"] as? String == "trusted" }, "\(providers)")
        #expect(result.stderr.isEmpty, "\(result.stderr)")
        let status = try await runCMK(["status", "--provider", "aws"], executable: cmk)
        #expect(status.status == 0)
    }

    @Test("what is installed: the man page, the completions, the README, and modes the trust checks accept")
    func installedFilesAndModes() async throws {
        let prefix = try TemporaryDirectory(inside: "\(TestPaths.products)/..", "cmk-prefix")
        defer { prefix.cleanUp() }
        try await install(into: prefix)
        for file in [
            "bin/cmk", "lib/cmk/libcmk-https.so", "lib/cmk/install.sh", "lib/cmk/install-manifest",
            "share/man/man1/cmk.1", "share/bash-completion/completions/cmk", "share/zsh/site-functions/_cmk",
            "share/fish/vendor_completions.d/cmk.fish", "share/doc/cmk/README.md",
        ] {
            #expect(FileManager.default.fileExists(atPath: prefix.file(file)), "\(file) is not installed")
        }
        for entry in tree(prefix.path) {
            let mode = mode(prefix.file(entry))
            let permissions = mode & 0o7777
            if mode & S_IFMT == S_IFDIR {
                #expect(permissions == 0o755, "\(entry) is \(String(permissions, radix: 8))")
            } else {
                #expect(mode & S_IFMT == S_IFREG, "\(entry) is not a regular file")
                #expect(permissions == 0o755 || permissions == 0o644, "\(entry) is \(String(permissions, radix: 8))")
            }
            #expect(permissions & 0o022 == 0, "\(entry) is writable by group or others")
        }
        for executable in ["bin/cmk", "lib/cmk/plugins/libcmk-provider-aws.so", "lib/cmk/install.sh"] {
            #expect(mode(prefix.file(executable)) & 0o777 == 0o755, "\(executable)")
        }
        #expect(mode(prefix.file("share/man/man1/cmk.1")) & 0o777 == 0o644)
    }

    @Test("--uninstall removes exactly what was installed, also after installing twice")
    func uninstallRemovesExactlyWhatWasInstalled() async throws {
        let prefix = try TemporaryDirectory(inside: "\(TestPaths.products)/..", "cmk-prefix")
        defer { prefix.cleanUp() }
        // What was there before: a directory and a file of someone else's, beside cmk's.
        try prefix.write("bin/other-tool", "#!/bin/sh\n")
        try prefix.write("share/man/man1/other.1", ".TH OTHER 1\n")
        let before = tree(prefix.path)
        try await install(into: prefix)
        try await install(into: prefix)  // an upgrade over the same prefix
        let manifest = try String(contentsOfFile: prefix.file("lib/cmk/install-manifest"), encoding: .utf8)
        let lines = manifest.split(separator: "\n")
        #expect(Set(lines).count == lines.count, "the manifest repeats a line")
        #expect(lines.contains("F \(prefix.file("bin/cmk"))"))
        #expect(!lines.contains("F \(prefix.file("bin/other-tool"))"))
        #expect(lines.contains("D \(prefix.file("lib/cmk/plugins"))"))
        #expect(!lines.contains("D \(prefix.file("bin"))"), "bin/ was there before")

        let uninstall = try await runProcess("/bin/sh", [prefix.file("lib/cmk/install.sh"), "--uninstall"])
        #expect(uninstall.status == 0, "\(uninstall.stdout)\(uninstall.stderr)")
        #expect(tree(prefix.path) == before)
        let again = try await runProcess("/bin/sh", [prefix.file("bin/../lib/cmk/install.sh"), "--uninstall"])
        #expect(again.status != 0, "a second uninstall finds no manifest")
    }

    @Test("install.sh --user installs into ~/.local and --uninstall --user removes it")
    func userInstall() async throws {
        let stage = try TemporaryDirectory(inside: "\(TestPaths.products)/..", "cmk-stage")
        defer { stage.cleanUp() }
        let staged = try await runProcess(
            "\(TestPaths.repository)/packaging/stage.sh",
            [TestPaths.products, stage.file("release")],
            timeout: .seconds(120)
        )
        try #require(staged.status == 0, "stage.sh failed: \(staged.stderr)")
        let home = try TemporaryDirectory(inside: "\(TestPaths.products)/..", "cmk-home")
        defer { home.cleanUp() }
        let environment = ["HOME": home.path, "PATH": "/usr/bin:/bin"]
        let installed = try await runProcess(
            "/bin/sh",
            [stage.file("release/install.sh"), "--user"],
            environment: environment
        )
        #expect(installed.status == 0, "\(installed.stdout)\(installed.stderr)")
        #expect(installed.stdout.contains("Add \(home.path)/.local/bin to PATH"), "\(installed.stdout)")
        let status = try await runCMK(["status", "--provider", "aws"], executable: home.file(".local/bin/cmk"))
        #expect(status.status == 0, "\(status.stdout)\(status.stderr)")
        let removed = try await runProcess(
            "/bin/sh",
            [stage.file("release/install.sh"), "--uninstall", "--user"],
            environment: environment
        )
        #expect(removed.status == 0, "\(removed.stdout)\(removed.stderr)")
        #expect(tree(home.path).isEmpty, "\(tree(home.path))")
    }
}
