import CMKHost
import CMKPluginABI

/// What `cmk --version` prints: the version, the Swift compiler that built this cmk, and the
/// plugin ABI it speaks.
///
/// The fingerprint line is the `.comment` ident that ``ToolchainFingerprint`` compares: a Swift
/// provider loads only when `readelf -p .comment` on it shows the same line (a C provider built
/// with another compiler is not compared).
enum VersionText {
    static func text(version: String) -> String {
        """
        cmk \(version)
        compiler:    \(swiftCompiler)
        fingerprint: \(ToolchainFingerprint.current() ?? "none (not built by a Swift toolchain's compiler)")
        plugin ABI:  \(CMK_PLUGIN_ABI_VERSION)
        """
    }

    /// The language version of the compiler, as far as `#if compiler` can tell it.
    static var swiftCompiler: String {
        #if compiler(>=7.0)
            "Swift 7.0 or later"
        #elseif compiler(>=6.5)
            "Swift 6.5 or later"
        #elseif compiler(>=6.4)
            "Swift 6.4"
        #elseif compiler(>=6.3)
            "Swift 6.3"
        #elseif compiler(>=6.2)
            "Swift 6.2"
        #elseif compiler(>=6.1)
            "Swift 6.1"
        #else
            "Swift 6.0"
        #endif
    }
}
