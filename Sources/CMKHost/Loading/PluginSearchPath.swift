#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#else
    #error("cmk's plugin search needs Glibc or Musl")
#endif

/// Where provider libraries are looked for, in order.
///
/// 1. each directory of `CMK_PLUGIN_PATH` (colon-separated), 2. `<dir of cmk>/../lib/cmk/plugins`
/// (an installed layout), 3. the directory of `cmk` itself (so `swift build` output works as is).
package struct PluginSearchPath: Sendable, Equatable {
    package static let environmentVariable = "CMK_PLUGIN_PATH"
    /// A provider library's file name starts with this and ends with `.so`.
    package static let filePrefix = "libcmk-provider-"

    package struct Directory: Sendable, Equatable {
        package var path: String
        /// Named by the user (`CMK_PLUGIN_PATH`, config): a missing one is worth a warning.
        package var explicit: Bool
        /// Where an explicit directory was named, for messages (`CMK_PLUGIN_PATH`, `plugin-path in …`).
        package var origin: String = PluginSearchPath.environmentVariable

        package init(path: String, explicit: Bool, origin: String = PluginSearchPath.environmentVariable) {
            self.path = path
            self.explicit = explicit
            self.origin = origin
        }
    }

    package var directories: [Directory]

    package init(directories: [Directory]) { self.directories = directories }

    package init(pluginPath: String?, executableDirectory: String?) {
        var directories: [Directory] = []
        for entry in (pluginPath ?? "").split(separator: ":") where !entry.isEmpty {
            directories.append(Directory(path: String(entry), explicit: true))
        }
        if let executableDirectory {
            directories.append(Directory(path: normalize("\(executableDirectory)/../lib/cmk/plugins"), explicit: false))
            directories.append(Directory(path: executableDirectory, explicit: false))
        }
        self.directories = directories
    }

    /// Candidate provider files, in search order, with each directory's problem if it has one.
    ///
    /// A directory that `trust` refuses contributes no files, only its one-line reason.
    package func candidates(trust: TrustPolicy? = nil) -> (files: [String], problems: [LoadError]) {
        var files: [String] = []
        var problems: [LoadError] = []
        var missing: [Directory] = []
        var seenDirectories = Set<String>()
        for directory in directories {
            let canonical = realPath(directory.path) ?? directory.path
            guard seenDirectories.insert(canonical).inserted else { continue }
            guard let names = listDirectory(directory.path) else {
                if directory.explicit { missing.append(directory) }
                continue
            }
            if let refusal = trust?.checkDirectory(directory.path) {
                problems.append(refusal)
                continue
            }
            for name in names.sorted() where name.hasPrefix(Self.filePrefix) && name.hasSuffix(".so") {
                files.append(directory.path.hasSuffix("/") ? directory.path + name : "\(directory.path)/\(name)")
            }
        }
        return (files, Self.missingDirectoryProblems(missing) + problems)
    }

    /// Missing directories listed one per line up to `listedMissing`, then one line for the rest:
    /// a CMK_PLUGIN_PATH of 10,000 missing entries must not print 10,000 warnings.
    package static let listedMissing = 3

    private static func missingDirectoryProblems(_ directories: [Directory]) -> [LoadError] {
        func problem(_ directory: Directory, _ more: String = "") -> LoadError {
            LoadError(
                .missingDirectory,
                path: directory.path,
                reason: "plugin directory does not exist or cannot be read (from \(directory.origin))\(more)"
            )
        }
        var problems = directories.prefix(listedMissing).map { problem($0) }
        if directories.count > listedMissing {
            let rest = directories.count - listedMissing - 1
            problems.append(
                problem(
                    directories[listedMissing],
                    rest == 0 ? "" : "; and so do \(rest) more named after it (not listed)"
                )
            )
        }
        return problems
    }
}

/// Resolves `..` and `.` textually (the directory may not exist).
package func normalize(_ path: String) -> String {
    var parts: [Substring] = []
    for part in path.split(separator: "/") {
        if part == "." || part.isEmpty { continue }
        if part == ".." { if !parts.isEmpty { parts.removeLast() }; continue }
        parts.append(part)
    }
    // Concatenated by hand: joined(separator:) costs the start path a conformance scan.
    var result = ""
    for part in parts { result += "/" + String(part) }
    return result.isEmpty ? "/" : result
}

package func realPath(_ path: String) -> String? {
    guard let resolved = realpath(path, nil) else { return nil }
    defer { free(resolved) }
    return String(cString: resolved)
}

/// Entry names of a directory, or nil when it cannot be opened.
package func listDirectory(_ path: String) -> [String]? {
    guard let directory = opendir(path) else { return nil }
    defer { closedir(directory) }
    var names: [String] = []
    while let entry = readdir(directory) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        if name != "." && name != ".." { names.append(name) }
    }
    return names
}
