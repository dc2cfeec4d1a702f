#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#else
    #error("cmk's loader needs Glibc or Musl")
#endif

/// The libraries a file finds through `$ORIGIN`, loaded before the file is dlopen'd by its
/// descriptor.
///
/// cmk loads a checked library as `/proc/self/fd/N`, so that what runs is the inode that was
/// checked; glibc then takes `$ORIGIN` to be `/proc/self/fd`, and a provider that ships
/// `libfoo.so` beside itself (RUNPATH `$ORIGIN`) would fail with "cannot open shared object
/// file". So each of its DT_NEEDED libraries that is not loaded yet, and that its RUNPATH (or
/// RPATH) finds first in an `$ORIGIN` directory, read as the directory where the checked file
/// really is, is dlopen'd first by its full path: glibc then takes it for the NEEDED name by its
/// DT_SONAME. That library's own dependencies are glibc's: opened by its real path, its own
/// `$ORIGIN` is right. In CMKCore because the https transport is loaded the same way.
package enum OriginDependencies {
    /// Does that for `file`; the common case (no NEEDED library beside it) costs a few small
    /// preads and an access(2) per NEEDED name and RUNPATH entry, and no dlopen.
    ///
    /// Returns a line for each library found that did not load or cannot stand in for its NEEDED
    /// name, for the message when `file` then fails to load; nothing is refused here.
    @discardableResult
    package static func preload(for file: OpenedFile) -> [String] {
        guard let dynamic = ELFDynamicSection(of: file) else { return [] }
        let origin = directory(of: file.location)
        let directories = dynamic.searchPath.map { entry in
            let expanded = expandingOrigin(in: entry, with: origin)
            return (path: expanded ?? entry, fromOrigin: expanded != nil)
        }
        guard directories.contains(where: { $0.fromOrigin }) else { return [] }
        var problems: [String] = []
        for name in dynamic.needed where !name.utf8.contains(UInt8(ascii: "/")) {
            // Found first in a directory without `$ORIGIN`: glibc finds it there itself. Looked
            // up before asking whether it is loaded: an access(2) costs far less than a dlopen
            // look-up, and the Swift runtime a provider needs is never beside it.
            guard let found = directories.first(where: { access("\($0.path)/\(name)", F_OK) == 0 }),
                found.fromOrigin, !isLoaded(name)
            else { continue }
            let path = "\(found.path)/\(name)"
            _ = dlerror()
            guard dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE) != nil else {
                let reason = dlerror().map { String(cString: $0) } ?? "dlopen failed"
                problems.append("\(name), found at \(path), did not load: \(reason)")
                continue
            }
            if !isLoaded(name) {
                problems.append(
                    "\(path) has no DT_SONAME \(name), so it cannot stand in for it; link it with -Wl,-soname,\(name)"
                )
            }
        }
        return problems
    }

    /// `entry` with each `$ORIGIN` and `${ORIGIN}` replaced by `origin`, as glibc reads them (not
    /// `$ORIGINAL`); nil when it has neither.
    ///
    /// By bytes: the String algorithms would cost more on their first use than all the rest here.
    private static func expandingOrigin(in entry: String, with origin: String) -> String? {
        guard entry.utf8.contains(UInt8(ascii: "$")) else { return nil }
        let bytes = Array(entry.utf8)
        var expanded: [UInt8] = []
        var found = false
        var index = 0
        while index < bytes.count {
            let rest = bytes[index...]
            let length =
                if rest.starts(with: "${ORIGIN}".utf8) {
                    9
                } else if rest.starts(with: "$ORIGIN".utf8), index + 7 == bytes.count || !isNameByte(bytes[index + 7]) {
                    7
                } else {
                    0
                }
            if length == 0 {
                expanded.append(bytes[index])
                index += 1
            } else {
                expanded += origin.utf8
                index += length
                found = true
            }
        }
        return found ? String(decoding: expanded, as: UTF8.self) : nil
    }

    private static func isNameByte(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte | 0x20 >= 0x61 && byte | 0x20 <= 0x7a) || byte == 0x5f
    }

    /// Whether a library known by `name` (its soname, or the name it was opened by) is loaded.
    private static func isLoaded(_ name: String) -> Bool {
        guard let handle = dlopen(name, RTLD_NOLOAD | RTLD_LAZY) else { return false }
        dlclose(handle)  // RTLD_NOLOAD counted one more reference
        return true
    }

    /// The directory part of an absolute path: `/a/b/c` gives `/a/b`, `/c` gives `/`.
    private static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}
