#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#else
    #error("cmk's ELF reading needs Glibc or Musl")
#endif

/// What a shared library's dynamic section tells the dynamic loader about its dependencies: its
/// DT_NEEDED names and the directories its DT_RUNPATH (or DT_RPATH) names, read without loading it.
///
/// Read with pread from an opened file's descriptor (the inode that was checked and will be
/// loaded), through the program headers as glibc reads it: PT_DYNAMIC for the entries, PT_LOAD to
/// turn DT_STRTAB, an address, into a file offset. Only 64-bit little-endian ELF (x86_64,
/// aarch64). Anything else, or any offset or size that does not fit, gives nil: the caller then
/// does nothing it would not do without this. Every read is bounded; nothing here traps.
package struct ELFDynamicSection: Sendable, Equatable {
    /// DT_NEEDED, in the order the loader takes them.
    package var needed: [String]
    /// DT_RUNPATH split at `:`, or DT_RPATH when there is no RUNPATH; `$ORIGIN` not expanded.
    package var searchPath: [String]

    /// Past these a file is taken as malformed: no real library comes near them.
    private static let maximumProgramHeaders: UInt64 = 512
    private static let maximumDynamicEntries: UInt64 = 4096
    private static let maximumStringLength: UInt64 = 4096

    package init?(of file: OpenedFile) {
        let reader = BoundedReader(file: file)
        guard let header = reader.bytes(at: 0, count: 64), header.starts(with: [0x7f, 0x45, 0x4c, 0x46]),
            header[4] == 2, header[5] == 1  // ELFCLASS64, ELFDATA2LSB
        else { return nil }
        let tableOffset = littleEndianInteger(in: header, at: 32, size: 8)
        let entrySize = littleEndianInteger(in: header, at: 54, size: 2)
        let count = littleEndianInteger(in: header, at: 56, size: 2)
        // glibc refuses any other entry size too.
        guard entrySize == 56, count <= Self.maximumProgramHeaders,
            let table = reader.bytes(at: tableOffset, count: count * entrySize)
        else { return nil }
        let segments = (0..<Int(count)).map { Segment(table, at: $0 * Int(entrySize)) }

        let dynamicType: UInt32 = 2  // PT_DYNAMIC
        guard let dynamic = segments.first(where: { $0.type == dynamicType }),
            dynamic.fileSize / 16 <= Self.maximumDynamicEntries,
            let entries = reader.bytes(at: dynamic.offset, count: dynamic.fileSize / 16 * 16)
        else { return nil }
        var neededOffsets: [UInt64] = []
        var runpath: UInt64?
        var rpath: UInt64?
        var stringTable: UInt64?
        var stringTableSize: UInt64?
        table: for start in stride(from: 0, to: entries.count, by: 16) {
            let value = littleEndianInteger(in: entries, at: start + 8, size: 8)
            switch littleEndianInteger(in: entries, at: start, size: 8) {
            case 0: break table  // DT_NULL
            case 1: neededOffsets.append(value)  // DT_NEEDED
            case 5: stringTable = value  // DT_STRTAB
            case 10: stringTableSize = value  // DT_STRSZ
            case 15: rpath = value  // DT_RPATH
            case 29: runpath = value  // DT_RUNPATH
            default: continue
            }
        }
        guard let address = stringTable, let declaredSize = stringTableSize,
            let strings = Self.fileRange(of: address, size: declaredSize, in: segments)
        else { return nil }

        func string(at offset: UInt64) -> String? {
            guard offset < strings.size else { return nil }
            // Names are short: a small read first, the longest allowed only when it has no NUL.
            for limit in [256, Self.maximumStringLength] {
                let count = min(strings.size - offset, limit)
                guard let bytes = reader.bytes(at: strings.offset + offset, count: count, allowShort: true) else {
                    return nil
                }
                if let end = bytes.firstIndex(of: 0) { return String(decoding: bytes[..<end], as: UTF8.self) }
                if UInt64(bytes.count) < limit { return nil }
            }
            return nil
        }
        var names: [String] = []
        for offset in neededOffsets {
            guard let name = string(at: offset) else { return nil }
            names.append(name)
        }
        needed = names
        if let pathOffset = runpath ?? rpath {
            guard let path = string(at: pathOffset) else { return nil }
            searchPath = path.split(separator: ":").map(String.init)
        } else {
            searchPath = []
        }
    }

    /// The file offset and size of `size` bytes at address `address`, when one PT_LOAD segment
    /// holds them all in the file.
    private static func fileRange(of address: UInt64, size: UInt64, in segments: [Segment]) -> (
        offset: UInt64, size: UInt64
    )? {
        let loadType: UInt32 = 1  // PT_LOAD
        for segment in segments where segment.type == loadType {
            guard address >= segment.address else { continue }
            let into = address - segment.address
            guard into < segment.fileSize, size <= segment.fileSize - into else { continue }
            let (offset, overflow) = segment.offset.addingReportingOverflow(into)
            return overflow ? nil : (offset, size)
        }
        return nil
    }

    /// The fields of an Elf64_Phdr that are needed here.
    private struct Segment {
        var type: UInt32
        var offset: UInt64
        var address: UInt64
        var fileSize: UInt64

        init(_ bytes: [UInt8], at start: Int) {
            type = UInt32(littleEndianInteger(in: bytes, at: start, size: 4))
            offset = littleEndianInteger(in: bytes, at: start + 8, size: 8)
            address = littleEndianInteger(in: bytes, at: start + 16, size: 8)
            fileSize = littleEndianInteger(in: bytes, at: start + 32, size: 8)
        }
    }
}

/// The little-endian unsigned integer of `size` bytes at `offset` in an ELF file's bytes; the
/// caller has bounded it.
package func littleEndianInteger(in bytes: [UInt8], at offset: Int, size: Int) -> UInt64 {
    (0..<size).reversed().reduce(0) { $0 << 8 | UInt64(bytes[offset + $1]) }
}

/// pread within the size fstat gave, EINTR retried; nil instead of an error.
private struct BoundedReader {
    let file: OpenedFile

    /// `count` bytes at `offset`, or nil when they are not all in the file. With `allowShort`, a
    /// range that runs past the end is cut to the end (a string near the end of the file).
    func bytes(at offset: UInt64, count: UInt64, allowShort: Bool = false) -> [UInt8]? {
        guard offset <= file.size else { return nil }
        let available = file.size - offset
        guard count <= available || allowShort else { return nil }
        let wanted = Int(min(count, available))
        guard case .success(let bytes) = file.read(at: offset, count: wanted), bytes.count == wanted else { return nil }
        return bytes
    }
}
