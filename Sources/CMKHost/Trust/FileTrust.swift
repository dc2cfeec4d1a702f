// The C library is a `package import` above because `check(path:uid:)` takes a `uid_t`.
import CMKCore

#if canImport(Glibc)
    package import Glibc
#elseif canImport(Musl)
    package import Musl
#else
    #error("cmk's file trust check needs Glibc or Musl")
#endif

/// Whether a plugin file may be loaded, judged from its permissions and those of its directories.
///
/// The rule is ssh's StrictModes (as for `authorized_keys`): whoever can replace a file, or any
/// directory above it, can run code inside cmk, so every one of them must be owned by root or by
/// the user running cmk, and writable by nobody else. The check never throws: a path that cannot
/// even be looked at is refused with the reason.
package enum FileTrust {
    /// Checks `path` itself, then each directory above it up to `/`.
    ///
    /// Both the directories of the resolved path (symlinks followed, where the file really is) and
    /// those of `path` as written (where a symlink on the way could be swapped) are checked.
    package static func check(path: String, uid: uid_t = getuid()) -> TrustVerdict {
        guard let resolved = realPath(path), let absolute = absolutePath(path) else {
            return .refused("cannot check \(path): \(errnoText())")
        }
        if let problem = problem(with: path, uid: uid, isParent: false) { return .refused(problem) }
        var directories = parents(of: resolved)
        directories += parents(of: absolute).filter { !directories.contains($0) }
        for directory in directories {
            if let problem = problem(with: directory, uid: uid, isParent: true) { return .refused(problem) }
        }
        return .trusted
    }

    /// What is wrong with one path (symlinks followed), as one line with the fix, or nil.
    private static func problem(with path: String, uid: uid_t, isParent: Bool) -> String? {
        var info = stat()
        guard stat(path, &info) == 0 else { return "cannot check \(path): \(errnoText())" }
        if info.st_uid != 0 && info.st_uid != uid {
            return "\(path) is owned by uid \(info.st_uid), not by root or you (uid \(uid)); run: chown \(uid) \(path)"
        }
        // A root-owned sticky directory such as /tmp (mode 1777) is writable by all, but only the
        // owner of an entry (or root) may rename or delete it, so nobody else can swap the entry
        // below it that the rest of the chain checks. Refusing it would refuse everything under /tmp.
        let stickyRootDirectory = isParent && info.st_mode & S_ISVTX != 0 && info.st_uid == 0
        if info.st_mode & 0o022 != 0 && !stickyRootDirectory {
            let mode = String(info.st_mode & 0o7777, radix: 8)
            let padded = String(repeating: "0", count: max(0, 4 - mode.count)) + mode
            return "\(path) is writable by group or others (mode \(padded)); run: chmod go-w \(path)"
        }
        return nil
    }

    /// Every directory above an absolute path, nearest first: `/a/b/c` gives `/a/b`, `/a`, `/`.
    private static func parents(of path: String) -> [String] {
        var components = path.split(separator: "/")
        var result: [String] = []
        while !components.isEmpty {
            components.removeLast()
            result.append("/" + components.joined(separator: "/"))
        }
        return result
    }

    private static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    private static func absolutePath(_ path: String) -> String? {
        if path.hasPrefix("/") { return path }
        guard let directory = getcwd(nil, 0) else { return nil }
        defer { free(directory) }
        return String(cString: directory) + "/" + path
    }
}

/// The answer of `FileTrust.check`: trusted, or refused with a one-line reason that names the
/// path, the cause and the command that fixes it.
package struct TrustVerdict: Sendable, Equatable {
    package var trusted: Bool
    package var reason: String?

    package static let trusted = TrustVerdict(trusted: true, reason: nil)
    package static func refused(_ reason: String) -> TrustVerdict { TrustVerdict(trusted: false, reason: reason) }
}

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

/// A regular file opened read-only; closed when the value goes away.
///
/// Opened with O_NONBLOCK so that a FIFO planted where a plugin should be cannot hang cmk, and
/// anything but a regular file is refused. Every read is bounded by the size found at open.
struct ReadOnlyFile: ~Copyable {
    let path: String
    let size: UInt64
    private let descriptor: Int32

    init(path: String) throws(TrustError) {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard descriptor >= 0 else { throw TrustError(.unreadable, "cannot open \(path): \(errnoText())") }
        var info = stat()
        guard fstat(descriptor, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            close(descriptor)
            throw TrustError(.unreadable, "cannot read \(path): not a regular file")
        }
        self.path = path
        self.size = UInt64(info.st_size)
        self.descriptor = descriptor
    }

    deinit { close(descriptor) }

    /// Reads the next bytes into `buffer`; 0 at the end of the file.
    func nextChunk(into buffer: inout [UInt8]) throws(TrustError) -> Int {
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count >= 0 { return count }
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
        var bytes = [UInt8](repeating: 0, count: Int(count))
        var done = 0
        while done < bytes.count {
            let got = bytes.withUnsafeMutableBytes {
                pread(descriptor, $0.baseAddress! + done, $0.count - done, off_t(offset) + off_t(done))
            }
            if got > 0 {
                done += got
            } else if got == 0 || errno != EINTR {
                throw TrustError(.unreadable, "cannot read \(path): \(got == 0 ? "the file shrank" : errnoText())")
            }
        }
        return bytes
    }
}
