// The C library is a `package import` because these signatures take `uid_t`.
#if canImport(Glibc)
    package import Glibc
#elseif canImport(Musl)
    package import Musl
#else
    #error("cmk's file trust check needs Glibc or Musl")
#endif

/// A file opened once, to be judged and then used through the same descriptor.
///
/// Whatever is decided about a library (its owner, its mode, its sha256, its compiler) holds for
/// the inode opened here, and `dlopen` loads that inode through `/proc/self/fd/N`: renaming
/// another file over the path afterwards changes nothing. Opened with O_NONBLOCK so that a FIFO
/// planted where a library should be cannot hang cmk; anything but a regular file is refused.
package final class OpenedFile: @unchecked Sendable {
    // Unchecked: every stored property is immutable but `kept`, which only `keepOpen` sets, once,
    // before the value is shared.

    /// The path as it was asked for (what people read in messages).
    package let path: String
    /// Where the opened inode is, symlinks resolved (`readlink /proc/self/fd/N`).
    package let location: String
    package let descriptor: Int32
    package let size: UInt64
    package let owner: uid_t
    package let mode: mode_t
    private var kept = false

    private init(path: String, location: String, descriptor: Int32, info: stat) {
        self.path = path
        self.location = location
        self.descriptor = descriptor
        size = UInt64(info.st_size)
        owner = info.st_uid
        mode = info.st_mode
    }

    /// Opens `path` read-only; refuses a dangling symlink, a symlink when `followSymlinks` is
    /// false, and anything that is not a regular file, each with a one-line reason.
    package static func open(_ path: String, followSymlinks: Bool = true) -> Result<OpenedFile, FileRefusal> {
        let flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | (followSymlinks ? 0 : O_NOFOLLOW)
        let descriptor = openDescriptor(path, flags)
        guard descriptor >= 0 else {
            let error = errno
            if let target = symlinkTarget(path) {
                if error == ENOENT {
                    return .failure(
                        FileRefusal(.missing, "\(path) is a dangling symlink to \(target), which does not exist")
                    )
                }
                if error == ELOOP && !followSymlinks {
                    return .failure(
                        FileRefusal(.notRegular, "\(path) is a symlink (to \(target)); it is not followed here")
                    )
                }
            }
            let code: FileRefusal.Code = error == ENOENT ? .missing : .unreadable
            return .failure(FileRefusal(code, "cannot open \(path): \(String(cString: strerror(error)))"))
        }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else {
            let reason = "cannot check \(path): \(errnoText())"
            close(descriptor)
            return .failure(FileRefusal(.unreadable, reason))
        }
        guard info.st_mode & S_IFMT == S_IFREG else {
            close(descriptor)
            let type = kind(info.st_mode)
            return .failure(FileRefusal(.notRegular, "\(path) is \(type), not a regular file", fileType: type))
        }
        let location = symlinkTarget("/proc/self/fd/\(descriptor)") ?? path
        return .success(OpenedFile(path: path, location: location, descriptor: descriptor, info: info))
    }

    /// The name `dlopen` is given: the opened inode, whatever the path names by now.
    package var procPath: String { "/proc/self/fd/\(descriptor)" }

    /// Leaves the descriptor open for the life of the process.
    ///
    /// For a library loaded through `procPath`: glibc knows it by that name and would hand the
    /// same handle back for a later `dlopen` of the same name, so the number must never be reused.
    package func keepOpen() { kept = true }

    deinit { if !kept { close(descriptor) } }

    private static func kind(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFDIR: "a directory"
        case S_IFIFO: "a FIFO"
        case S_IFSOCK: "a socket"
        case S_IFCHR: "a character device"
        case S_IFBLK: "a block device"
        default: "of file type \(String(mode & S_IFMT, radix: 8))"
        }
    }
}

extension OpenedFile {
    /// Why `contents(limit:)` gave up.
    package enum ReadFailure: Error, Sendable {
        /// Larger than the limit (the size fstat saw).
        case tooLarge(UInt64)
        /// read(2) failed, with the system's reason.
        case failed(String)

        /// For a message after "cannot read PATH: ".
        package var reason: String {
            switch self {
            case .tooLarge(let size): "it is \(size) bytes, more than is read"
            case .failed(let reason): reason
            }
        }
    }

    /// The whole file, at most `limit` bytes, read with pread (the descriptor's position stays).
    ///
    /// A file that shrinks while it is read gives what was there.
    package func contents(limit: Int) -> Result<[UInt8], ReadFailure> {
        guard size <= UInt64(limit) else { return .failure(.tooLarge(size)) }
        return read(at: 0, count: Int(size))
    }

    /// Up to `count` bytes at `offset`, with pread (EINTR retried): fewer only where the file
    /// ends first. The one read loop for files opened this way (config, tokens, ELF headers).
    package func read(at offset: UInt64, count: Int) -> Result<[UInt8], ReadFailure> {
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let got = bytes.withUnsafeMutableBytes {
                pread(descriptor, $0.baseAddress! + done, $0.count - done, off_t(offset) + off_t(done))
            }
            if got < 0 && errno == EINTR { continue }
            if got < 0 { return .failure(.failed(errnoText())) }
            if got == 0 { break }
            done += got
        }
        return .success(done == count ? bytes : Array(bytes[0..<done]))
    }
}

/// open(2), outside `OpenedFile`, whose own `open` would shadow it.
private func openDescriptor(_ path: String, _ flags: Int32) -> Int32 { open(path, flags) }

/// A symlink's target, or nil when `path` is not a symlink.
package func symlinkTarget(_ path: String) -> String? {
    var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
    let length = readlink(path, &buffer, buffer.count - 1)
    guard length >= 0 else { return nil }
    return String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// Why a file could not be opened as a regular file. Equality by code.
package struct FileRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    package struct Code: Hashable, Sendable {
        fileprivate var name: String
        /// Nothing there, or a symlink to nothing.
        package static let missing = Code(name: "missing")
        /// A directory, FIFO, socket, device, or a symlink where none is followed.
        package static let notRegular = Code(name: "not-regular")
        package static let unreadable = Code(name: "unreadable")
    }

    package var code: Code
    /// One line naming the path.
    package var reason: String
    /// What the path is instead of a regular file (`a directory`, `a FIFO`), where fstat said.
    package var fileType: String?

    package init(_ code: Code, _ reason: String, fileType: String? = nil) {
        self.code = code
        self.reason = reason
        self.fileType = fileType
    }

    package var description: String { reason }
    package static func == (lhs: FileRefusal, rhs: FileRefusal) -> Bool { lhs.code == rhs.code }
}

/// Whether a file whose code cmk would run may be loaded, judged from its permissions and those
/// of its directories.
///
/// The rule is ssh's StrictModes (as for `authorized_keys`): whoever can replace a file, or any
/// directory above it, can run code inside cmk, so every one of them must be owned by root or by
/// the user running cmk, and writable by nobody else. The check never throws: a path that cannot
/// even be looked at is refused with the reason. In CMKCore because both the host (providers)
/// and every provider's copy of the core (the https transport it loads) apply it.
package enum FileTrust {
    /// Checks `path` itself, then each directory above it up to `/`.
    ///
    /// Both the directories of the resolved path (symlinks followed, where the file really is) and
    /// those of `path` as written (where a symlink on the way could be swapped) are checked.
    package static func check(path: String, uid: uid_t = getuid()) -> TrustVerdict {
        guard let resolved = resolvedPath(path), let absolute = absolutePath(path) else {
            return .refused("cannot check \(path): \(errnoText())")
        }
        if let problem = problem(with: path, uid: uid, isParent: false) { return .refused(problem) }
        return checkDirectories(above: [resolved, absolute], uid: uid)
    }

    /// Checks an opened file: the inode itself (what will be loaded), then the directories above
    /// where it really is and above the path it was opened by.
    package static func check(_ file: OpenedFile, uid: uid_t = getuid()) -> TrustVerdict {
        if let problem = problem(path: file.path, owner: file.owner, mode: file.mode, uid: uid, isParent: false) {
            return .refused(problem)
        }
        guard let absolute = absolutePath(file.path) else {
            return .refused("cannot check \(file.path): \(errnoText())")
        }
        return checkDirectories(above: [file.location, absolute], uid: uid)
    }

    private static func checkDirectories(above paths: [String], uid: uid_t) -> TrustVerdict {
        var directories: [String] = []
        for path in paths {
            directories += parents(of: path).filter { !directories.contains($0) }
        }
        for directory in directories {
            if let problem = problem(with: directory, uid: uid, isParent: true) { return .refused(problem) }
        }
        return .trusted
    }

    /// What is wrong with one path (symlinks followed), as one line with the fix, or nil.
    private static func problem(with path: String, uid: uid_t, isParent: Bool) -> String? {
        var info = stat()
        guard stat(path, &info) == 0 else { return "cannot check \(path): \(errnoText())" }
        return problem(path: path, owner: info.st_uid, mode: info.st_mode, uid: uid, isParent: isParent)
    }

    private static func problem(path: String, owner: uid_t, mode: mode_t, uid: uid_t, isParent: Bool) -> String? {
        if owner != 0 && owner != uid {
            return "\(path) is owned by uid \(owner), not by root or you (uid \(uid)); run: chown \(uid) \(path)"
        }
        // A root-owned sticky directory such as /tmp (mode 1777) is writable by all, but only the
        // owner of an entry (or root) may rename or delete it, so nobody else can swap the entry
        // below it that the rest of the chain checks. Refusing it would refuse everything under /tmp.
        let stickyRootDirectory = isParent && mode & S_ISVTX != 0 && owner == 0
        if mode & 0o022 != 0 && !stickyRootDirectory {
            let octal = String(mode & 0o7777, radix: 8)
            let padded = String(repeating: "0", count: max(0, 4 - octal.count)) + octal
            return "\(path) is writable by group or others (mode \(padded)); run: chmod go-w \(path)"
        }
        return nil
    }

    /// Every directory above an absolute path, nearest first: `/a/b/c` gives `/a/b`, `/a`, `/`.
    ///
    /// Cut at the slashes of the UTF-8 bytes: split and joined would cost the start path their
    /// first-use runtime lookups, in cmk and again after each provider is loaded.
    private static func parents(of path: String) -> [String] {
        // The components, empty ones (`//`, a trailing `/`) left out.
        var components: [ArraySlice<UInt8>] = []
        let bytes = Array(path.utf8)
        var start = 0
        for (index, byte) in bytes.enumerated() where byte == UInt8(ascii: "/") {
            if index > start { components.append(bytes[start..<index]) }
            start = index + 1
        }
        if bytes.count > start { components.append(bytes[start...]) }
        var result: [String] = []
        for count in stride(from: components.count - 1, through: 0, by: -1) {
            var parent: [UInt8] = []
            for component in components[..<count] { parent += [UInt8(ascii: "/")] + component }
            result.append(parent.isEmpty ? "/" : String(decoding: parent, as: UTF8.self))
        }
        return result
    }

    private static func resolvedPath(_ path: String) -> String? {
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
