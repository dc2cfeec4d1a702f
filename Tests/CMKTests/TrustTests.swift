import CMKCore
import CMKHost
import CMKSystem
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#else
    #error("cmk's trust tests need Glibc or Musl")
#endif

/// SHA-256, the ELF `.comment` fingerprint and the StrictModes-style file check.
@Suite struct TrustTests {
    /// A test vector, shown by its name rather than by its (possibly megabyte-long) input.
    struct Vector: Sendable, CustomTestStringConvertible {
        var name: String
        var input: [UInt8]
        var digest: String
        var testDescription: String { name }
    }

    /// FIPS 180-4 examples, as published by NIST (Cryptographic Standards and Guidelines, SHA-256).
    static let nistVectors = [
        Vector(name: "empty", input: [], digest: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        Vector(
            name: "abc",
            input: Array("abc".utf8),
            digest: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        ),
        Vector(
            name: "448 bits",
            input: Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8),
            digest: "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        ),
        Vector(
            name: "896 bits",
            input: Array(
                "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu"
                    .utf8
            ),
            digest: "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"
        ),
        Vector(
            name: "one million a",
            input: Array(repeating: UInt8(ascii: "a"), count: 1_000_000),
            digest: "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
        ),
    ]

    @Test(arguments: nistVectors)
    func sha256MatchesNIST(_ vector: Vector) {
        #expect(SHA256.hexDigest(of: vector.input) == vector.digest)
    }

    /// Lengths around the padding boundaries (a block is 64 bytes; the length takes its last 8).
    /// Expected digests from `printf 'a%.0s' $(seq N) | sha256sum`.
    @Test(arguments: [
        (55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"),
        (56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"),
        (63, "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34"),
        (64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"),
        (65, "635361c48bb9eab14198e76ea8ab7f1a41685d6ad62aa9146d301d4f17eb0ae0"),
    ])
    func sha256AtBlockBoundaries(length: Int, digest: String) {
        #expect(SHA256.hexDigest(of: Array(repeating: UInt8(ascii: "a"), count: length)) == digest)
    }

    @Test func sha256IncrementalAndNonContiguousAgreeWithOneShot() {
        let million = Self.nistVectors[4]
        var hasher = SHA256Hasher()
        let sizes = [1, 7, 63, 64, 65, 1000]
        var (fed, turn) = (0, 0)
        while fed < million.input.count {
            let piece = min(sizes[turn % sizes.count], million.input.count - fed)
            hasher.update(million.input[fed..<(fed + piece)])
            (fed, turn) = (fed + piece, turn + 1)
        }
        #expect(hasher.finalize() == SHA256.hash(million.input))
        #expect(SHA256.hexDigest(of: repeatElement(UInt8(ascii: "a"), count: 1_000_000)) == million.digest)
    }

    /// The block function the hasher calls (the CPU's SHA extensions where there are some) and
    /// the portable one agree, block by block, on a megabyte of varied input and random states.
    @Test func sha256BlockFunctionsAgree() {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<(1 << 20)).map { _ in UInt8.random(in: 0...255, using: &generator) }
        for _ in 0..<200 {
            let start = 64 * Int.random(in: 0..<1000, using: &generator)
            let count = Int.random(in: 1...16, using: &generator)
            var chosen = (0..<8).map { _ in UInt32.random(in: 0...UInt32.max, using: &generator) }
            var portable = chosen
            bytes.withUnsafeBufferPointer { buffer in
                cmk_sha256_blocks(&chosen, buffer.baseAddress! + start, count)
                cmk_sha256_blocks_portable(&portable, buffer.baseAddress! + start, count)
            }
            #expect(chosen == portable, "\(count) blocks at \(start)")
        }
    }

    @Test func sha256OfFileEqualsInMemory() throws {
        let directory = try TrustScratchDirectory()
        defer { directory.remove() }
        // 200 000 bytes: several 64 KiB reads, the last one partial. `sha256sum` gives e24bc623….
        let bytes = (0..<200_000).map { UInt8($0 % 251) }
        let path = try directory.write("pattern.bin", bytes)
        #expect(try SHA256.hexDigest(ofFileAt: path) == SHA256.hexDigest(of: bytes))
        #expect(
            try SHA256.hexDigest(ofFileAt: path) == "e24bc62381f1224fbbb74688663f8f9743b9680b193edd666835e97b06e730eb"
        )
        #expect(try SHA256.hexDigest(ofFileAt: directory.write("empty", [])) == Self.nistVectors[0].digest)
    }

    @Test func sha256OfMissingFileOrDirectoryIsUnreadable() throws {
        let directory = try TrustScratchDirectory()
        defer { directory.remove() }
        #expect(throws: TrustError(.unreadable, "")) { try SHA256.hexDigest(ofFileAt: directory.path + "/missing") }
        #expect(throws: TrustError(.unreadable, "")) { try SHA256.hexDigest(ofFileAt: directory.path) }
    }

    // MARK: - Toolchain fingerprint

    static let swiftLibrary = "/opt/swift/usr/lib/swift/linux/libFoundationEssentials.so"

    @Test func swiftLibraryCarriesTheSwiftlangClangLine() throws {
        let comments = try ToolchainFingerprint.comments(ofFileAt: Self.swiftLibrary)
        let compiler = try #require(ToolchainFingerprint.swiftCompiler(in: comments))
        #expect(compiler.hasPrefix("clang version "))
        #expect(compiler.contains("(https://github.com/swiftlang/llvm-project.git "))
    }

    @Test func runningExecutableMatchesTheToolchainLibraries() throws {
        let current = try #require(ToolchainFingerprint.current())
        let library = try ToolchainFingerprint.swiftCompiler(
            in: ToolchainFingerprint.comments(ofFileAt: Self.swiftLibrary)
        )
        #expect(current == library)
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/cc")))
    func cLibraryIsNotSwift() throws {
        let directory = try TrustScratchDirectory()
        defer { directory.remove() }
        let source = try directory.write("provider.c", Array("int cmk_answer(void) { return 42; }\n".utf8))
        let library = directory.path + "/libcmk-provider-c.so"
        let compile = Process()
        compile.executableURL = URL(fileURLWithPath: "/usr/bin/cc")
        compile.arguments = ["-shared", "-fPIC", "-o", library, source]
        try compile.run()
        compile.waitUntilExit()
        try #require(compile.terminationStatus == 0)

        let comments = try ToolchainFingerprint.comments(ofFileAt: library)
        #expect(comments.contains { $0.hasPrefix("GCC: ") })
        #expect(ToolchainFingerprint.swiftCompiler(in: comments) == nil)
    }

    @Test func swiftCompilerRecognisesBothRepositoryNames() {
        let swiftlang =
            "clang version 21.0.0 (https://github.com/swiftlang/llvm-project.git 11673e6660b2d0a5f9f99b1c7b773f4c2f6df1b0)"
        let apple =
            "clang version 15.0.0 (https://github.com/apple/llvm-project.git 0123456789abcdef0123456789abcdef01234567)"
        #expect(
            ToolchainFingerprint.swiftCompiler(in: ["GCC: (Debian 12.2.0-14+deb12u1) 12.2.0", swiftlang]) == swiftlang
        )
        #expect(ToolchainFingerprint.swiftCompiler(in: [apple]) == apple)
        #expect(
            ToolchainFingerprint.swiftCompiler(in: ["GCC: (Debian 12.2.0-14+deb12u1) 12.2.0", "clang version 14.0.6"])
                == nil
        )
        #expect(ToolchainFingerprint.swiftCompiler(in: []) == nil)
    }

    @Test func textAndEmptyFilesAreNotELF() throws {
        let directory = try TrustScratchDirectory()
        defer { directory.remove() }
        for (name, contents) in [("text", Array("#!/bin/sh\necho not a library\n".utf8)), ("empty", [])] {
            let path = try directory.write(name, contents)
            let error = #expect(throws: TrustError.self) { try ToolchainFingerprint.comments(ofFileAt: path) }
            #expect(error?.code == .notELF)
            #expect(error?.reason.contains(path) == true)
        }
    }

    @Test func thirtyTwoBitELFIsNotELF() throws {
        var bytes = Self.minimalELF
        bytes[4] = 1  // ELFCLASS32
        let directory = try TrustScratchDirectory()
        defer { directory.remove() }
        let path = try directory.write("lib32.so", bytes)
        #expect(throws: TrustError(.notELF, "")) { try ToolchainFingerprint.comments(ofFileAt: path) }
    }

    @Test(arguments: [40, 100])
    func truncatedELFIsUnreadable(length: Int) throws {
        let directory = try TrustScratchDirectory()
        defer { directory.remove() }
        let path = try directory.write("truncated.so", Self.prefix(of: Self.swiftLibrary, count: length))
        let error = #expect(throws: TrustError.self) { try ToolchainFingerprint.comments(ofFileAt: path) }
        #expect(error?.code == .unreadable)
        #expect(error?.reason.contains(path) == true)
    }

    @Test func minimalELFIsRead() throws {
        let directory = try TrustScratchDirectory()
        defer { directory.remove() }
        let path = try directory.write("minimal.so", Self.minimalELF)
        #expect(try ToolchainFingerprint.comments(ofFileAt: path) == Self.minimalComments)

        // Extended numbering (for 0xff00 sections or more): the count and the name table's
        // index are in section 0, whose sh_size and sh_link are otherwise 0.
        var extended = Self.minimalELF
        extended.replaceSubrange(60..<64, with: [0, 0, 0xff, 0xff])
        extended[64 + 32] = 3
        extended[64 + 40] = 1
        #expect(
            try ToolchainFingerprint.comments(ofFileAt: directory.write("extended.so", extended))
                == Self.minimalComments
        )
    }

    /// Fields a hostile file could set to make the reader overflow, over-allocate or read outside
    /// the file. Offsets are into `minimalELF`: header, then sections 0, 1 and 2 from byte 64.
    static let hostilePatches: [(offset: Int, bytes: [UInt8])] = [
        (40, [0xf7, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),  // e_shoff near 2^64
        (58, [0, 0]),  // e_shentsize 0
        (60, [0xff, 0xff]),  // e_shnum 65535
        (62, [0xfe, 0xff]),  // e_shstrndx past the table
        (64 + 64 + 32, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]),  // .shstrtab sh_size
        (64 + 128 + 24, [0xf0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),  // .comment sh_offset
        (64 + 128 + 32, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),  // .comment sh_size
    ]

    @Test(arguments: hostilePatches)
    func hostileELFIsUnreadable(offset: Int, patch: [UInt8]) throws {
        var bytes = Self.minimalELF
        bytes.replaceSubrange(offset..<(offset + patch.count), with: patch)
        let directory = try TrustScratchDirectory()
        defer { directory.remove() }
        let path = try directory.write("hostile.so", bytes)
        #expect(throws: TrustError(.unreadable, "")) { try ToolchainFingerprint.comments(ofFileAt: path) }
    }

    /// Every byte of a small ELF file set to 0x00, 0x80 and 0xff in turn: each variant is read or
    /// refused with a TrustError, and none may crash the reader.
    @Test func corruptedELFNeverCrashes() throws {
        let directory = try TrustScratchDirectory()
        defer { directory.remove() }
        for index in Self.minimalELF.indices {
            for value: UInt8 in [0x00, 0x80, 0xff] {
                var bytes = Self.minimalELF
                bytes[index] = value
                _ = try? ToolchainFingerprint.comments(ofFileAt: directory.write("mutated.so", bytes))
            }
        }
    }

    static let minimalComments = [
        "GCC: (Debian 12.2.0-14+deb12u1) 12.2.0",
        "clang version 21.0.0 (https://github.com/swiftlang/llvm-project.git 11673e6660b2d0a5f9f99b1c7b773f4c2f6df1b0)",
    ]

    /// The smallest ELF64 file with a `.comment` section: the header, a section header table of
    /// three entries (null, `.shstrtab`, `.comment`) from byte 64, then the two sections' bytes.
    static let minimalELF: [UInt8] = {
        func little(_ value: Int, _ size: Int) -> [UInt8] {
            (0..<size).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
        }
        func section(name: Int, type: Int, offset: Int, size: Int) -> [UInt8] {
            Array(
                [little(name, 4), little(type, 4), little(0, 16), little(offset, 8), little(size, 8), little(0, 24)]
                    .joined()
            )
        }
        let names = Array("\0.shstrtab\0.comment\0".utf8)
        let comment: [UInt8] = [0] + minimalComments.flatMap { Array($0.utf8) + [0] }
        let namesOffset = 64 + 3 * 64
        let parts: [[UInt8]] = [
            [0x7f, 0x45, 0x4c, 0x46, 2, 1, 1], little(0, 9),  // e_ident: ELF64, little-endian, version 1
            little(3, 2), little(62, 2), little(1, 4),  // e_type ET_DYN, e_machine x86-64, e_version
            little(0, 8), little(0, 8), little(64, 8),  // e_entry, e_phoff, e_shoff
            little(0, 4), little(64, 2), little(56, 2), little(0, 2),  // e_flags, e_ehsize, e_phentsize, e_phnum
            little(64, 2), little(3, 2), little(1, 2),  // e_shentsize, e_shnum, e_shstrndx
            section(name: 0, type: 0, offset: 0, size: 0),
            section(name: 1, type: 3, offset: namesOffset, size: names.count),  // SHT_STRTAB
            section(name: 11, type: 1, offset: namesOffset + names.count, size: comment.count),  // SHT_PROGBITS
            names, comment,
        ]
        return Array(parts.joined())
    }()

    // MARK: - File trust

    @Test func ownerOnlyWritableFileIsTrusted() throws {
        let directory = try TrustScratchDirectory()
        defer { directory.remove() }
        let file = try directory.write("libcmk-provider-aws.so", [], mode: 0o644)
        #expect(FileTrust.check(path: file) == .trusted)
    }

    @Test(arguments: [0o664 as mode_t, 0o646, 0o666])
    func groupOrWorldWritableFileIsRefused(mode: mode_t) throws {
        let directory = try TrustScratchDirectory()
        defer { directory.remove() }
        let file = try directory.write("libcmk-provider-aws.so", [], mode: mode)
        let octal = "0" + String(mode, radix: 8)
        #expect(
            FileTrust.check(path: file)
                == .refused(
                    "\(file) is writable by group or others (mode \(octal)); run: chmod go-w \(file)"
                )
        )
    }

    @Test func worldWritableParentIsRefused() throws {
        let directory = try TrustScratchDirectory()
        defer { directory.remove() }
        let plugins = try directory.makeDirectory("plugins", mode: 0o777)
        let file = try directory.write("plugins/libcmk-provider-aws.so", [], mode: 0o644)
        #expect(
            FileTrust.check(path: file)
                == .refused(
                    "\(plugins) is writable by group or others (mode 0777); run: chmod go-w \(plugins)"
                )
        )
    }

    @Test(.enabled(if: getuid() == 0, "a sticky directory is accepted only when root owns it"))
    func rootOwnedStickyParentIsAccepted() throws {
        let directory = try TrustScratchDirectory()
        defer { directory.remove() }
        let shared = try directory.makeDirectory("shared", mode: 0o1777)
        let file = try directory.write("shared/libcmk-provider-aws.so", [], mode: 0o644)
        #expect(FileTrust.check(path: file) == .trusted)
        // The exception is for parents only: a sticky world-writable file is still refused.
        #expect(chmod(file, 0o1666) == 0)
        #expect(FileTrust.check(path: file).trusted == false)
        // …and for root-owned directories only.
        #expect(chown(shared, 1234, 0) == 0)
        #expect(chmod(file, 0o644) == 0)
        #expect(FileTrust.check(path: file).reason?.hasPrefix("\(shared) is owned by uid 1234") == true)
    }

    @Test(.enabled(if: getuid() == 0, "chown to another user needs root"))
    func fileOrParentOwnedByAnotherUserIsRefused() throws {
        let directory = try TrustScratchDirectory()
        defer { directory.remove() }
        let plugins = try directory.makeDirectory("plugins", mode: 0o755)
        let file = try directory.write("plugins/libcmk-provider-aws.so", [], mode: 0o644)
        #expect(chown(file, 1234, 0) == 0)
        #expect(
            FileTrust.check(path: file)
                == .refused(
                    "\(file) is owned by uid 1234, not by root or you (uid 0); run: chown 0 \(file)"
                )
        )
        #expect(FileTrust.check(path: file, uid: 1234) == .trusted)

        #expect(chown(file, 0, 0) == 0)
        #expect(chown(plugins, 1001, 0) == 0)
        #expect(
            FileTrust.check(path: file)
                == .refused(
                    "\(plugins) is owned by uid 1001, not by root or you (uid 0); run: chown 0 \(plugins)"
                )
        )
    }

    @Test func symlinksAreCheckedOnBothSides() throws {
        let directory = try TrustScratchDirectory()
        defer { directory.remove() }
        let good = try directory.write("good.so", [], mode: 0o644)
        let bad = try directory.write("bad.so", [], mode: 0o666)
        let open = try directory.makeDirectory("open", mode: 0o777)

        // A link to a writable file: the file it points to is what is judged.
        #expect(symlink(bad, directory.path + "/link-to-bad.so") == 0)
        #expect(FileTrust.check(path: directory.path + "/link-to-bad.so").trusted == false)
        // A good file reached through a link that anyone could swap.
        #expect(symlink(good, open + "/link-to-good.so") == 0)
        #expect(FileTrust.check(path: open + "/link-to-good.so").reason?.hasPrefix("\(open) is writable") == true)
    }

    @Test func missingFileIsRefused() throws {
        let directory = try TrustScratchDirectory()
        defer { directory.remove() }
        let missing = directory.path + "/libcmk-provider-none.so"
        #expect(FileTrust.check(path: missing) == .refused("cannot check \(missing): No such file or directory"))
    }

    // MARK: - Opened once: the inode judged is the inode used

    @Test func openedFileIsJudgedAndHashedByItsInodeNotItsPath() throws {
        let directory = try TrustScratchDirectory()
        defer { directory.remove() }
        let good = try directory.write("good.so", Array("good".utf8), mode: 0o644)
        let bad = try directory.write("bad.so", Array("evil".utf8), mode: 0o666)
        let path = directory.path + "/libcmk-provider-x.so"
        #expect(link(good, path) == 0)
        let file = try OpenedFile.open(path).get()
        // Swapped after the open: what was opened is still what is judged and hashed.
        #expect(rename(bad, path) == 0)
        #expect(FileTrust.check(file) == .trusted)
        #expect(try SHA256.hexDigest(of: file) == SHA256.hexDigest(of: Array("good".utf8)))
        #expect(FileTrust.check(path: path).trusted == false, "the path now names the writable file")
        #expect(file.location == good || file.location == path, "\(file.location)")
    }

    @Test func openedFileRefusesWhatIsNotARegularFile() throws {
        let directory = try TrustScratchDirectory()
        defer { directory.remove() }
        let fifo = directory.path + "/fifo.so"
        #expect(mkfifo(fifo, 0o644) == 0)
        let folder = try directory.makeDirectory("folder.so", mode: 0o755)
        let dangling = directory.path + "/dangling.so"
        #expect(symlink(directory.path + "/gone.so", dangling) == 0)
        let good = try directory.write("good.so", [], mode: 0o644)
        let link = directory.path + "/link.so"
        #expect(symlink(good, link) == 0)

        func reason(_ path: String, followSymlinks: Bool = true) -> String? {
            if case .failure(let refusal) = OpenedFile.open(path, followSymlinks: followSymlinks) {
                return refusal.reason
            }
            return nil
        }
        #expect(reason(fifo) == "\(fifo) is a FIFO, not a regular file")
        #expect(reason(folder) == "\(folder) is a directory, not a regular file")
        #expect(
            reason(dangling) == "\(dangling) is a dangling symlink to \(directory.path)/gone.so, which does not exist"
        )
        #expect(reason(link) == nil, "a symlink is followed by default")
        #expect(reason(link, followSymlinks: false) == "\(link) is a symlink (to \(good)); it is not followed here")
        #expect(try OpenedFile.open(link).get().location == good)
    }

    @Test func openedFileOfAWritableFileIsRefusedByItsMode() throws {
        let directory = try TrustScratchDirectory()
        defer { directory.remove() }
        let file = try directory.write("libcmk-provider-aws.so", [], mode: 0o646)
        #expect(
            FileTrust.check(try OpenedFile.open(file).get())
                == .refused("\(file) is writable by group or others (mode 0646); run: chmod go-w \(file)")
        )
    }

    // MARK: - Helpers

    private static func prefix(of path: String, count: Int) throws -> [UInt8] {
        let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        return Array(try handle.read(upToCount: count) ?? Data())
    }
}

/// A fresh directory under /tmp (mode 0700); the test removes it with `defer`.
///
/// Under /tmp on purpose: its parents are `/tmp` (root, 1777) and `/` (root, 0755), so the
/// FileTrust verdicts depend only on what each test creates.
private struct TrustScratchDirectory {
    struct SetupFailed: Error { var step: String }

    let path: String

    init() throws {
        var template = Array("/tmp/cmk-trust-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw SetupFailed(step: "mkdtemp") }
        path = String(cString: made)
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }

    func write(_ name: String, _ bytes: [UInt8], mode: mode_t = 0o644) throws -> String {
        let file = path + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: file))
        guard chmod(file, mode) == 0 else { throw SetupFailed(step: "chmod \(file)") }
        return file
    }

    func makeDirectory(_ name: String, mode: mode_t) throws -> String {
        let directory = path + "/" + name
        guard mkdir(directory, 0o700) == 0, chmod(directory, mode) == 0 else {
            throw SetupFailed(step: "mkdir \(directory)")
        }
        return directory
    }
}
