package import CMKCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#else
    #error("cmk's toolchain fingerprint needs Glibc or Musl")
#endif

/// Which Swift compiler built a shared library, read from its ELF `.comment` section without
/// loading it.
///
/// Swift has no stable ABI on Linux: a provider built by another toolchain than cmk may crash
/// inside dlopen or on its first call, so the host compares fingerprints before loading.
///
/// What identifies the compiler: every object swiftc emits carries the ident of the clang inside
/// the toolchain, `clang version 21.0.0 (https://github.com/swiftlang/llvm-project.git <commit>)`
/// (toolchains built before the 2024 move of the repositories say `apple/llvm-project`). There is
/// no `Swift version` string. The C start-up objects the linker adds bring a `GCC: (…)` line from
/// the machine that linked, so a `GCC:` line says nothing either way. A library without an
/// llvm-project line is taken as not Swift (a C provider) and not compared; a C library compiled
/// with the toolchain's own clang does carry the line and is compared like a Swift one.
package enum ToolchainFingerprint {
    /// The NUL-separated strings of the `.comment` section; empty when there is no such section.
    package static func comments(ofFileAt path: String) throws(TrustError) -> [String] {
        try comments(in: ReadOnlyFile(path: path))
    }

    /// The same, for an opened file: the inode that will be loaded.
    package static func comments(of file: OpenedFile) throws(TrustError) -> [String] {
        try comments(in: ReadOnlyFile(file))
    }

    private static func comments(in file: borrowing ReadOnlyFile) throws(TrustError) -> [String] {
        let path = file.path
        let header = try file.bytes(at: 0, count: min(64, file.size), what: "ELF header")
        guard header.starts(with: [0x7f, 0x45, 0x4c, 0x46]) else {
            throw TrustError(.notELF, "\(path) is not an ELF file")
        }
        guard header.count == 64 else {
            throw TrustError(.unreadable, "\(path) is truncated: its ELF header is \(header.count) of 64 bytes")
        }
        guard header[4] == 2, header[5] == 1 else {
            throw TrustError(
                .notELF,
                "\(path) is not a 64-bit little-endian ELF file (class \(header[4]), data \(header[5]))"
            )
        }
        let tableOffset = littleEndianInteger(in: header, at: 40, size: 8)
        let entrySize = littleEndianInteger(in: header, at: 58, size: 2)
        var count = littleEndianInteger(in: header, at: 60, size: 2)
        var namesIndex = littleEndianInteger(in: header, at: 62, size: 2)
        if tableOffset == 0 { return [] }
        guard entrySize >= 64 else {
            throw TrustError(.unreadable, "\(path) is corrupt: its section headers are \(entrySize) bytes, not 64")
        }
        // With 0xff00 sections or more, the count and the name table's index move into section 0.
        let first = Section(try file.bytes(at: tableOffset, count: 64, what: "section header table"), at: 0)
        if count == 0 { count = first.size }
        if namesIndex == 0xffff { namesIndex = UInt64(first.link) }
        guard count <= file.size / entrySize, namesIndex < count else {
            throw TrustError(
                .unreadable,
                "\(path) is corrupt: \(count) section headers, names in section \(namesIndex)"
            )
        }
        let table = try file.bytes(at: tableOffset, count: count * entrySize, what: "section header table")
        let sections = (0..<Int(count)).map { Section(table, at: $0 * Int(entrySize)) }
        let names = try contents(of: sections[Int(namesIndex)], in: file, what: "section name table")
        guard let comment = sections.first(where: { isComment($0.name, in: names) }) else { return [] }
        return try contents(of: comment, in: file, what: ".comment section")
            .split(separator: 0)
            .map { String(decoding: $0, as: UTF8.self) }
    }

    /// The llvm-project line of a Swift toolchain among `comments`, or nil when none is there.
    package static func swiftCompiler(in comments: [String]) -> String? {
        // Compared as bytes: String.contains(String) goes through _StringProcessing's searcher,
        // whose first use after a dlopen costs more than reading the whole section.
        comments.first { comment in
            let bytes = Array(comment.utf8)
            return bytes.containsRun(swiftlangProject) || bytes.containsRun(appleProject)
        }
    }

    private static let swiftlangProject = Array("github.com/swiftlang/llvm-project".utf8)
    private static let appleProject = Array("github.com/apple/llvm-project".utf8)

    /// The fingerprint of the running executable, for comparing with a provider's.
    package static func current() -> String? {
        try? swiftCompiler(in: comments(ofFileAt: "/proc/self/exe"))
    }

    /// The fields of an Elf64_Shdr that are needed here.
    private struct Section {
        var name: UInt32
        var type: UInt32
        var link: UInt32
        var offset: UInt64
        var size: UInt64

        init(_ bytes: [UInt8], at start: Int) {
            name = UInt32(littleEndianInteger(in: bytes, at: start, size: 4))
            type = UInt32(littleEndianInteger(in: bytes, at: start + 4, size: 4))
            offset = littleEndianInteger(in: bytes, at: start + 24, size: 8)
            size = littleEndianInteger(in: bytes, at: start + 32, size: 8)
            link = UInt32(littleEndianInteger(in: bytes, at: start + 40, size: 4))
        }
    }

    private static func contents(of section: Section, in file: borrowing ReadOnlyFile, what: String) throws(TrustError)
        -> [UInt8]
    {
        let noBits: UInt32 = 8  // SHT_NOBITS: takes no room in the file
        if section.type == noBits { return [] }
        return try file.bytes(at: section.offset, count: section.size, what: what)
    }

    private static func isComment(_ nameOffset: UInt32, in names: [UInt8]) -> Bool {
        let wanted = Array(".comment\0".utf8)
        let start = Int(nameOffset)
        return start <= names.count - wanted.count && names[start..<(start + wanted.count)].elementsEqual(wanted)
    }
}
