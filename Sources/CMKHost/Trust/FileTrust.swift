import CMKCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#else
    #error("cmk's plugin file reading needs Glibc or Musl")
#endif

// FileTrust, TrustVerdict and OpenedFile live in CMKCore (Support/FileTrust.swift): the https
// transport, loaded by each provider's copy of the core, needs the same checks as providers.

/// Why a plugin file could not be examined (hashed, or its ELF sections read).
///
/// Equality is by code: tests assert on the code, people read the reason.
package struct TrustError: Error, Sendable, Equatable, CustomStringConvertible {
    package struct Code: Hashable, Sendable, CustomStringConvertible {
        fileprivate var name: String
        package var description: String { name }

        /// The file is not a 64-bit little-endian ELF file.
        package static let notELF = Code(name: "not-elf")
        /// The file could not be opened or read, or it is truncated or corrupt.
        package static let unreadable = Code(name: "unreadable")
    }

    package var code: Code
    package var reason: String

    package init(_ code: Code, _ reason: String) {
        self.code = code
        self.reason = reason
    }

    package var description: String { reason }
    package static func == (lhs: TrustError, rhs: TrustError) -> Bool { lhs.code == rhs.code }
}

/// Reads a regular file by offset, never moving a shared descriptor's position.
///
/// Over an `OpenedFile`: one it opens for `path`, or one someone else owns (the inode being
/// judged, which will be loaded). Every read is bounded by the size found at open.
struct ReadOnlyFile: ~Copyable {
    let path: String
    let size: UInt64
    private let file: OpenedFile
    private var position: UInt64 = 0

    init(path: String) throws(TrustError) {
        switch OpenedFile.open(path) {
        case .success(let file):
            self.init(file)
        case .failure(let refusal):
            throw TrustError(.unreadable, refusal.reason)
        }
    }

    init(_ file: OpenedFile) {
        path = file.path
        size = file.size
        self.file = file
    }

    /// Reads the next bytes into `buffer`; 0 at the end of the file.
    mutating func nextChunk(into buffer: inout [UInt8]) throws(TrustError) -> Int {
        while true {
            let count = buffer.withUnsafeMutableBytes { pread(file.descriptor, $0.baseAddress, $0.count, off_t(position)) }
            if count >= 0 {
                position += UInt64(count)
                return count
            }
            if errno != EINTR { throw TrustError(.unreadable, "cannot read \(path): \(errnoText())") }
        }
    }

    /// Exactly `count` bytes at `offset`; `what` names them when they lie outside the file.
    func bytes(at offset: UInt64, count: UInt64, what: String) throws(TrustError) -> [UInt8] {
        guard count <= size, offset <= size - count else {
            throw TrustError(
                .unreadable,
                "\(path) is truncated or corrupt: its \(what) (\(count) bytes at offset \(offset)) lies past its end (\(size) bytes)"
            )
        }
        switch file.read(at: offset, count: Int(count)) {
        case .success(let bytes) where bytes.count == Int(count): return bytes
        case .success: throw TrustError(.unreadable, "cannot read \(path): the file shrank")
        case .failure(let failure): throw TrustError(.unreadable, "cannot read \(path): \(failure.reason)")
        }
    }
}
