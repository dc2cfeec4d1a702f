import CMKCore
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#else
    #error("cmk's dependency tests need Glibc or Musl")
#endif

/// A provider that ships a private shared library beside itself, found through `$ORIGIN` in its
/// RUNPATH, loads although cmk dlopens it as `/proc/self/fd/N` (where glibc alone would take
/// `$ORIGIN` to be `/proc/self/fd`).
@Suite("a provider with its own shared library beside it")
struct ProviderDependencyTests {
    /// Where the private library goes, relative to the provider's real directory, and the RUNPATH
    /// that finds it there.
    struct Layout: Sendable, CustomTestStringConvertible {
        var subdirectory: String
        var runpath: String
        /// The provider is reached through a symlink in the plugin directory; the file and its
        /// library are elsewhere, so `$ORIGIN` must be where the checked file really is.
        var symlinked = false
        var testDescription: String { "RUNPATH \(runpath)\(symlinked ? ", through a symlink" : "")" }
    }

    static let layouts = [
        Layout(subdirectory: "", runpath: "$ORIGIN"),
        Layout(subdirectory: "lib", runpath: "$ORIGIN/lib"),
        Layout(subdirectory: "lib", runpath: "${ORIGIN}/lib", symlinked: true),
    ]

    @Test("loads and answers with the library's value, in process and isolated", arguments: layouts, [false, true])
    func privateLibrary(_ layout: Layout, isolate: Bool) async throws {
        let directory = try TemporaryDirectory("cmk-dep")
        defer { directory.cleanUp() }
        let plugins = directory.file("plugins")
        let home = layout.symlinked ? directory.file("vendor") : plugins
        for path in [plugins, home, "\(home)/\(layout.subdirectory)"] {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            chmod(path, 0o755)
        }

        let libraryDirectory = layout.subdirectory.isEmpty ? home : "\(home)/\(layout.subdirectory)"
        let token = try await installProvider(
            in: directory,
            at: home,
            library: libraryDirectory,
            runpath: layout.runpath
        )
        if layout.symlinked {
            try FileManager.default.createSymbolicLink(
                atPath: "\(plugins)/libcmk-provider-depends.so",
                withDestinationPath: "\(home)/libcmk-provider-depends.so"
            )
        }

        let environment = ["CMK_PLUGIN_PATH": plugins]
        let flags = isolate ? ["--isolate"] : []
        let providers = try await runCMK(["providers", "--output", "json"] + flags, environment: environment)
        #expect(providers.status == 0, "\(providers.stderr)")
        let document = try providers.json()
        let listed = (document["providers"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
        #expect(listed.contains("depends"), "\(providers.stdout)\(providers.stderr)")
        let problems = document["problems"] as? [[String: Any]] ?? []
        #expect(problems.isEmpty, "\(problems)")

        let status = try await runCMK(["status", "--provider", "depends"] + flags, environment: environment)
        #expect(status.status == 0, "\(status.stdout)\(status.stderr)")
        #expect(status.stdout.contains("The dependency says \(token)."), "\(status.stdout)\(status.stderr)")
    }

    @Test("a library without the DT_SONAME its NEEDED entry names is refused with the fix")
    func libraryWithoutSoname() async throws {
        let directory = try TemporaryDirectory("cmk-dep")
        defer { directory.cleanUp() }
        let plugins = directory.file("plugins")
        try FileManager.default.createDirectory(atPath: plugins, withIntermediateDirectories: true)
        chmod(plugins, 0o755)
        try await installProvider(in: directory, at: plugins, library: plugins, runpath: "$ORIGIN", soname: false)
        let result = try await runCMK(["providers"], environment: ["CMK_PLUGIN_PATH": plugins])
        #expect(result.status == 0)
        #expect(result.stderr.contains("cannot open shared object file"), "\(result.stderr)")
        #expect(result.stderr.contains("-Wl,-soname,libcmkdep-"), "\(result.stderr)")
    }

    @Test("the dynamic section of a built provider reads as readelf shows it")
    func readsBuiltProvider() async throws {
        let directory = try TemporaryDirectory("cmk-dep")
        defer { directory.cleanUp() }
        let token = try await installProvider(
            in: directory,
            at: directory.path,
            library: directory.path,
            runpath: "/nowhere:$ORIGIN/lib"
        )
        let file = try OpenedFile.open(directory.file("libcmk-provider-depends.so")).get()
        let dynamic = try #require(ELFDynamicSection(of: file))
        #expect(dynamic.needed.first == "libcmkdep-\(token).so")
        #expect(dynamic.needed.contains("libc.so.6"))
        #expect(dynamic.searchPath == ["/nowhere", "$ORIGIN/lib"])
    }

    @Test("a truncated, garbled or foreign file gives no dynamic section and preloads nothing")
    func malformedFiles() async throws {
        let directory = try TemporaryDirectory("cmk-dep")
        defer { directory.cleanUp() }
        let token = try await installProvider(
            in: directory,
            at: directory.path,
            library: directory.path,
            runpath: "$ORIGIN"
        )
        let good = try Data(contentsOf: URL(fileURLWithPath: directory.file("libcmk-provider-depends.so")))
        #expect(good.count > 4096)

        var samples: [(String, Data)] = [
            ("empty", Data()),
            ("magic only", Data([0x7f, 0x45, 0x4c, 0x46])),
            ("not ELF", Data(repeating: 0x41, count: 4096)),
            ("32-bit", good.replacing(at: 4, with: [1])),
            ("big-endian", good.replacing(at: 5, with: [2])),
            // Program headers claimed far past the end, and 0xffff of them.
            ("program headers past the end", good.replacing(at: 32, with: [0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0x7f])),
            ("65535 program headers", good.replacing(at: 56, with: [0xff, 0xff])),
            ("odd program header size", good.replacing(at: 54, with: [0x39, 0])),
        ]
        // Cut short everywhere that matters: in the header, the program headers, the dynamic
        // section and the strings (most of the file, with a 64-byte step).
        for length in stride(from: 0, to: min(good.count, 65536), by: 64) {
            samples.append(("first \(length) bytes", good.prefix(length)))
        }
        var generator = SystemRandomNumberGenerator()
        for round in 0..<64 {
            // The real header and program headers, then garbage: every offset read lands on noise.
            var garbled = good.prefix(64 + 56 * 8)
            garbled.append(Data((0..<8192).map { _ in UInt8.random(in: 0...255, using: &generator) }))
            samples.append(("garbage \(round)", garbled))
        }
        // Away from the library: a sample that still reads finds nothing to load beside it.
        let samplesDirectory = directory.file("samples")
        try FileManager.default.createDirectory(atPath: samplesDirectory, withIntermediateDirectories: true)
        for (name, bytes) in samples {
            let path = "\(samplesDirectory)/sample.so"
            try bytes.write(to: URL(fileURLWithPath: path))
            let file = try OpenedFile.open(path).get()
            let dynamic = ELFDynamicSection(of: file)
            if bytes.count < 64 || !name.hasPrefix("first ") && !name.hasPrefix("garbage ") {
                #expect(dynamic == nil, "\(name)")
            }
            #expect(OriginDependencies.preload(for: file).isEmpty, "\(name)")
        }
        #expect(dlopen("libcmkdep-\(token).so", RTLD_NOLOAD | RTLD_LAZY) == nil, "nothing was preloaded")
    }

    /// Builds `libcmkdep-<token>.so` in `library` and, linked to it with `runpath`, the provider
    /// `libcmk-provider-depends.so` in `home`; returns the token, which the library's function returns.
    @discardableResult
    private func installProvider(
        in directory: TemporaryDirectory,
        at home: String,
        library: String,
        runpath: String,
        soname: Bool = true
    ) async throws -> String {
        // A soname nobody else has, so that nothing but this file can satisfy it.
        let token = String(UInt64.random(in: 1...UInt64.max), radix: 16)
        let dependency = "cmkdep-\(token)"
        let source = directory.file("dependency.c")
        try "const char *cmk_test_dependency_value(void) { return \"\(token)\"; }\n"
            .write(toFile: source, atomically: true, encoding: .utf8)
        let built = try await runProcess(
            "/usr/bin/cc",
            ["-shared", "-fPIC", "-o", "\(library)/lib\(dependency).so", source]
                + (soname ? ["-Wl,-soname,lib\(dependency).so"] : [])
        )
        guard built.status == 0 else { throw TestFailure("cc failed: \(built.stderr)") }
        let provider = try await buildCProvider(
            named: "libcmk-provider-depends-build.so",
            source: TestProvider.source,
            in: directory,
            extraFlags: [
                "-DTEST_DEPENDENCY", "-DTEST_NAME=\"depends\"",
                "-L", library, "-l\(dependency)", "-Wl,--enable-new-dtags,-rpath,\(runpath)",
            ]
        )
        try FileManager.default.moveItem(atPath: provider, toPath: "\(home)/libcmk-provider-depends.so")
        return token
    }
}

extension Data {
    /// A copy with `bytes` written over it at `offset`.
    fileprivate func replacing(at offset: Int, with bytes: [UInt8]) -> Data {
        var copy = self
        copy.replaceSubrange(offset..<(offset + bytes.count), with: bytes)
        return copy
    }
}
