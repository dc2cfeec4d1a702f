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
/// and the Swift compiler that built it (Swift has no stable ABI on Linux).
package struct TrustPolicy: Sendable {
    /// sha256 (lowercase hex) by provider name, from `[pins]` in the config.
    package var pins: [String: String]
    package var uid: uid_t
    /// The Swift compiler that built this cmk, from its own `.comment` section.
    package var hostCompiler: String?

    package init(pins: [String: String], uid: uid_t = getuid(), hostCompiler: String? = ToolchainFingerprint.current())
    {
        self.pins = pins.mapValues { $0.lowercased() }
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

    /// A provider file, before it is opened.
    package func checkFile(_ path: String) -> LoadError? {
        // A missing or odd file is left to dlopen, whose message says best what is wrong.
        var info = stat()
        guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        let verdict = FileTrust.check(path: path, uid: uid)
        guard verdict.trusted else {
            return LoadError(.untrusted, path: path, reason: "refused: \(verdict.reason ?? "untrusted")")
        }
        if let name = Self.providerName(fromFile: path), let pin = pins[name] {
            guard let digest = try? SHA256.hexDigest(ofFileAt: path) else {
                return LoadError(
                    .checksumMismatch,
                    path: path,
                    reason: "pinned provider '\(name)' could not be read to check its sha256"
                )
            }
            guard digest == pin else {
                return LoadError(
                    .checksumMismatch,
                    path: path,
                    reason:
                        "sha256 \(digest) does not match the pin for '\(name)' in the config (\(pin)); reinstall the provider or update [pins]"
                )
            }
        }
        if let hostCompiler, let comments = try? ToolchainFingerprint.comments(ofFileAt: path),
            let compiler = ToolchainFingerprint.swiftCompiler(in: comments), compiler != hostCompiler
        {
            return LoadError(
                .toolchainMismatch,
                path: path,
                reason:
                    "built by another Swift compiler (\(compiler)) than cmk (\(hostCompiler)); Swift has no stable ABI on Linux: rebuild the provider with cmk's toolchain, or write it in C"
            )
        }
        return nil
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
