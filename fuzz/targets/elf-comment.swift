// Fuzz target: the ELF `.comment` reader of Sources/CMKHost/Trust/ToolchainFingerprint.swift, which
// reads a provider's file before any trust decision, so the file may be anything.
//
// Each run puts a file in a deleted temporary file, read through /proc/self/fd/N as a path.
// Invariants:
// - raw input: the reader returns or throws TrustError, never traps; what it returns is
//   non-empty NUL-free strings whose bytes, with their separators, fit in the file;
// - generated ELF files (a valid ELF64 header and section table, a section name table and a
//   `.comment` section holding the input's strings, the sections in an order and with extra
//   sections chosen by the input) read back to exactly those strings, and swiftCompiler picks the
//   first llvm-project line among them.
#if canImport(Glibc)
    import Glibc
#endif

/// A deleted temporary file (in memory where /dev/shm exists), kept open for the whole run.
let memory: Int32 = {
    for directory in ["/dev/shm", "/tmp"] {
        var template = Array("\(directory)/cmk-fuzz-elf-XXXXXX".utf8CString)
        let descriptor = mkstemp(&template)
        if descriptor >= 0 {
            unlink(template)
            return descriptor
        }
    }
    check(false, "mkstemp: \(errnoText())")
    return -1
}()

func readComments(_ file: [UInt8]) -> Result<[String], TrustError> {
    ftruncate(memory, 0)
    let written = file.withUnsafeBytes { pwrite(memory, $0.baseAddress, $0.count, 0) }
    check(written == file.count, "pwrite")
    do throws(TrustError) {
        return .success(try ToolchainFingerprint.comments(ofFileAt: "/proc/self/fd/\(memory)"))
    } catch {
        return .failure(error)
    }
}

func put(_ value: UInt64, _ size: Int, into bytes: inout [UInt8], at offset: Int) {
    for index in 0..<size { bytes[offset + index] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(index))) }
}

/// An ELF64 little-endian file whose `.comment` holds `strings`, built from the input's choices.
func elf(comments strings: [[UInt8]], choice: UInt8) -> [UInt8] {
    var names: [UInt8] = [0]
    func name(_ text: String) -> UInt64 {
        let offset = UInt64(names.count)
        names += Array(text.utf8) + [0]
        return offset
    }
    var comment: [UInt8] = []
    for string in strings { comment += string + [0] }
    // Sections after the null one: (name, type, contents).
    var sections: [(UInt64, UInt32, [UInt8])] = []
    if choice & 1 != 0 { sections.append((name(".comments"), 1, Array("decoy".utf8))) }  // a near-miss name
    if choice & 2 != 0 { sections.append((name(".bss"), 8, [])) }
    let commentName = name(".comment")
    let strtabName = name(".shstrtab")
    var commentSection = (commentName, UInt32(1), comment)
    if choice & 4 != 0 && comment.isEmpty { commentSection.1 = 8 }  // NOBITS: no contents
    let strtabFirst = choice & 8 != 0
    if strtabFirst {
        sections.append((strtabName, 3, names))
        sections.append(commentSection)
    } else {
        sections.append(commentSection)
        sections.append((strtabName, 3, names))
    }
    // The name table's contents were taken before its own name was added when it comes first:
    // rebuild it now that every name is in.
    sections = sections.map { $0.0 == strtabName ? ($0.0, $0.1, names) : $0 }
    let namesIndex = 1 + sections.firstIndex { $0.0 == strtabName }!
    let entrySize = choice & 16 != 0 ? 72 : 64  // a larger entry size is allowed
    var file = [UInt8](repeating: 0, count: 64)
    file[0...5] = [0x7f, 0x45, 0x4c, 0x46, 2, 1]
    file[6] = 1
    var offsets: [Int] = []
    for section in sections {
        offsets.append(file.count)
        if section.1 != 8 { file += section.2 }
    }
    while file.count % 8 != 0 { file.append(0) }
    let tableOffset = file.count
    let count = sections.count + 1
    file += [UInt8](repeating: 0, count: count * entrySize)
    for (index, section) in sections.enumerated() {
        let base = tableOffset + (index + 1) * entrySize
        put(section.0, 4, into: &file, at: base)
        put(UInt64(section.1), 4, into: &file, at: base + 4)
        put(UInt64(offsets[index]), 8, into: &file, at: base + 24)
        put(UInt64(section.2.count), 8, into: &file, at: base + 32)
    }
    put(UInt64(tableOffset), 8, into: &file, at: 40)
    put(UInt64(entrySize), 2, into: &file, at: 58)
    if choice & 32 != 0 {
        // The extended form: count and name-table index in section 0 (as with 0xff00 sections or more).
        put(0, 2, into: &file, at: 60)
        put(0xffff, 2, into: &file, at: 62)
        put(UInt64(count), 8, into: &file, at: tableOffset + 32)
        put(UInt64(namesIndex), 4, into: &file, at: tableOffset + 40)
    } else {
        put(UInt64(count), 2, into: &file, at: 60)
        put(UInt64(namesIndex), 2, into: &file, at: 62)
    }
    return file
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzELFComment(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let input = fuzzBytes(data, size)

    // Raw: any file.
    if case .success(let comments) = readComments(input) {
        let total = comments.reduce(0) { $0 + $1.utf8.count + 1 }
        check(comments.allSatisfy { !$0.isEmpty && !$0.utf8.contains(0) }, "empty or NUL-holding comment")
        // Each string's bytes are at least one byte of the file (U+FFFD stands for 1-3 bad bytes).
        check(comments.reduce(0) { $0 + $1.unicodeScalars.count } <= input.count, "comments larger than the file (\(total))")
    }

    // Generated: the input's strings (after a choice byte) in a well-formed file.
    let choice = input.first ?? 0
    let strings = input.dropFirst().split(separator: 0).prefix(8).map(Array.init)
    let file = elf(comments: strings, choice: choice)
    switch readComments(file) {
    case .success(let comments):
        let expected = strings.map { String(decoding: $0, as: UTF8.self) }
        check(comments == expected, "read \(comments.map(shown)) from a file with \(expected.map(shown)), choice \(choice)")
        let compiler = expected.first { $0.contains("github.com/swiftlang/llvm-project") || $0.contains("github.com/apple/llvm-project") }
        check(ToolchainFingerprint.swiftCompiler(in: comments) == compiler, "swiftCompiler")
    case .failure(let error):
        check(false, "a well-formed file (choice \(choice), \(strings.count) strings) is refused: \(error)")
    }
    return 0
}
