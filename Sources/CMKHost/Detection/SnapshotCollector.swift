package import CMKCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#else
    #error("cmk's detection needs Glibc or Musl")
#endif

/// Reads the local signals once per run, for every provider's detection to share.
///
/// Paths are read under `CMK_SYS_ROOT` when it is set (like cloud-init's ds-identify `PATH_ROOT`),
/// so tests run on fixture trees; providers see the logical paths only.
package enum SnapshotCollector {
    package static let rootEnvironmentVariable = "CMK_SYS_ROOT"
    /// Signal files are a few bytes; anything bigger is not one.
    private static let maximumFileSize = 4096

    package static func collect(environment: [String: String]) -> PlatformSnapshot {
        let root = environment[rootEnvironmentVariable].flatMap { $0.isEmpty ? nil : $0 } ?? ""
        var files: [String: String] = [:]
        let dmi = PlatformSnapshot.dmiDirectory
        // Every world-readable DMI field, so a new provider can use one cmk never heard of.
        for name in listDirectory(root + dmi) ?? [] {
            if let content = readSmallFile(root + dmi + "/" + name) { files[dmi + "/" + name] = content }
        }
        for path in [PlatformSnapshot.cloudIDPath, PlatformSnapshot.hypervisorUUIDPath] {
            if let content = readSmallFile(root + path) { files[path] = content }
        }
        return PlatformSnapshot(environment: environment, files: files)
    }

    /// A regular, readable file of at most `maximumFileSize` bytes; nil otherwise (root-only DMI
    /// fields such as product_serial fail to open and are simply absent).
    private static func readSmallFile(_ path: String) -> String? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        var buffer = [UInt8](repeating: 0, count: maximumFileSize + 1)
        var total = 0
        while total < buffer.count {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress! + total, $0.count - total) }
            if count <= 0 { break }
            total += count
        }
        guard total <= maximumFileSize else { return nil }
        return String(decoding: buffer[0..<total], as: UTF8.self)
    }
}
