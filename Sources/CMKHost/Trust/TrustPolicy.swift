package import CMKCore

#if canImport(Glibc)
    package import Glibc
#elseif canImport(Musl)
    package import Musl
#else
    #error("cmk's trust policy needs Glibc or Musl")
#endif

/// What must hold of a provider file before cmk lets `dlopen` run any of its code.
///
/// `dlopen` runs a library's initialisers, so every refusal here is decided from the file alone:
/// ownership and permissions (like ssh's StrictModes), an optional sha256 pin from the config,
/// and the Swift compiler that built it (Swift has no stable ABI on Linux). All of it is decided
/// on one opened descriptor, which is then what gets loaded (`VettedLibrary`).
package struct TrustPolicy: Sendable {
    /// sha256 (lowercase hex) by provider name, from `[pins]` in the config.
    package var pins: [String: String]
    /// The config file the pins came from, for messages; nil when not known.
    package var pinSource: String?
    package var uid: uid_t
    /// The Swift compiler that built this cmk, from its own `.comment` section.
    package var hostCompiler: String?

    package init(
        pins: [String: String],
        pinSource: String? = nil,
        uid: uid_t = getuid(),
        hostCompiler: String? = ToolchainFingerprint.current()
    ) {
        self.pins = pins.mapValues { $0.lowercased() }
        self.pinSource = pinSource
        self.uid = uid
        self.hostCompiler = hostCompiler
    }

    /// A directory on the search path: refused when others could plant a library in it.
    package func checkDirectory(_ path: String) -> LoadError? {
        let verdict = FileTrust.check(path: path, uid: uid)
        return verdict.trusted
            ? nil
            : LoadError(.untrusted, path: path, reason: "plugin directory refused: \(verdict.reason ?? "untrusted")")
    }

    /// Opens a provider file once and judges what was opened; the result is what may be loaded.
    package func vet(_ path: String) -> Result<VettedLibrary, LoadError> {
        let file: OpenedFile
        switch OpenedFile.open(path) {
        case .success(let opened): file = opened
        case .failure(let refusal): return .failure(LoadError(refusal, path: path))
        }
        let verdict = FileTrust.check(file, uid: uid)
        guard verdict.trusted else {
            return .failure(LoadError(.untrusted, path: path, reason: "refused: \(verdict.reason ?? "untrusted")"))
        }
        var digest: String?
        if let name = Self.providerName(fromFile: path), let pin = pins[name] {
            guard let actual = try? SHA256.hexDigest(of: file) else {
                return .failure(
                    LoadError(
                        .checksumMismatch,
                        path: path,
                        reason: "pinned provider '\(name)' could not be read to check its sha256"
                    )
                )
            }
            guard actual == pin else {
                let source = pinSource.map { "in \($0)" } ?? "in the config"
                return .failure(
                    LoadError(
                        .checksumMismatch,
                        path: path,
                        reason:
                            "sha256 differs from its pin: the file is \(actual), the pin for '\(name)' \(source) is \(pin); reinstall the provider or update [pins]"
                    )
                )
            }
            digest = actual
        }
        if let hostCompiler, let comments = try? ToolchainFingerprint.comments(of: file),
            let compiler = ToolchainFingerprint.swiftCompiler(in: comments), compiler != hostCompiler
        {
            return .failure(
                LoadError(
                    .toolchainMismatch,
                    path: path,
                    reason:
                        "built by another Swift compiler (\(compiler)) than cmk (\(hostCompiler)); Swift has no stable ABI on Linux: rebuild the provider with cmk's toolchain, or write it in C"
                )
            )
        }
        return .success(VettedLibrary(path: path, file: file, sha256: digest))
    }

    /// A loaded provider whose name is pinned must be the file that carries that name, or the
    /// pin would not have been checked before it loaded.
    package func checkLoaded(name: String, path: String) -> LoadError? {
        guard pins[name] != nil, Self.providerName(fromFile: path) != name else { return nil }
        return LoadError(
            .checksumMismatch,
            path: path,
            reason:
                "claims pinned provider '\(name)' but is not named libcmk-provider-\(name).so, so its pin was not checked; refused"
        )
    }

    /// `aws` for `…/libcmk-provider-aws.so`.
    package static func providerName(fromFile path: String) -> String? {
        let file = path.split(separator: "/").last.map(String.init) ?? path
        guard file.hasPrefix(PluginSearchPath.filePrefix), file.hasSuffix(".so") else { return nil }
        return String(file.dropFirst(PluginSearchPath.filePrefix.count).dropLast(3))
    }
}

/// A provider file that was opened once and judged: loading it loads the inode judged.
package struct VettedLibrary: Sendable {
    /// As found on the search path (what messages and `cmk providers` show).
    package var path: String
    package var file: OpenedFile
    /// Its sha256, when the pin check computed it.
    package var sha256: String?

    package init(path: String, file: OpenedFile, sha256: String? = nil) {
        self.path = path
        self.file = file
        self.sha256 = sha256
    }

    /// Opens `path` without judging it (`cmk providers verify`, a worker that compares a digest).
    package static func open(_ path: String, followSymlinks: Bool = true) -> Result<VettedLibrary, LoadError> {
        OpenedFile.open(path, followSymlinks: followSymlinks)
            .map { VettedLibrary(path: path, file: $0) }
            .mapError { LoadError($0, path: path) }
    }

    /// Its sha256: the one the pin check computed, else read now from the same descriptor.
    package func digest() throws(TrustError) -> String {
        if let sha256 { return sha256 }
        return try SHA256.hexDigest(of: file)
    }
}

extension LoadError {
    /// A file that is not there or not a regular file, in the loader's terms.
    init(_ refusal: FileRefusal, path: String) {
        let code: Code =
            switch refusal.code {
            case .missing: .missingFile
            case .notRegular: .notRegularFile
            default: .openFailed
            }
        // "…/x.so is a FIFO, not a regular file" becomes "it is a FIFO, …": the loader's messages
        // put the path in front already.
        let prefix = "\(path) is "
        let reason =
            refusal.reason.hasPrefix(prefix) ? "it is " + refusal.reason.dropFirst(prefix.count) : refusal.reason
        self.init(code, path: path, reason: reason)
    }
}
