// swift-tools-version: 6.0
//
// cmk: one command that tells an organisation whether its customer-managed keys are set up for
// the cloud its data platform runs on. No package dependencies: the Swift toolchain only.
import PackageDescription

/// Swift 6 language mode everywhere; providers are loaded with dlopen, so nothing here may rely
/// on being linked into the same image as the host.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

/// A provider library exports only its entry point (Plugins/provider-exports.map) and is linked
/// with --gc-sections: the CMKCore code it never calls is left out, and every cmk start loads
/// both providers (903 exported symbols become 37, and 67 KB of code less in each).
let providerLinkerSettings: [LinkerSetting] = [
    .unsafeFlags([
        "-Xlinker", "--gc-sections",
        "-Xlinker", "--version-script=\(String(#filePath.dropLast("Package.swift".count)))Plugins/provider-exports.map",
    ])
]

let package = Package(
    name: "cmk",
    products: [
        .executable(name: "cmk", targets: ["cmk"]),
        .library(name: "CMKCore", targets: ["CMKCore"]),
        // Providers: each one a shared library found and loaded with dlopen at run time.
        // The file name prefix `libcmk-provider-` is what discovery looks for.
        .library(name: "cmk-provider-aws", type: .dynamic, targets: ["AWSProvider"]),
        .library(name: "cmk-provider-azure", type: .dynamic, targets: ["AzureProvider"]),
        // A loopback Azure for trying `cmk status` without an account (README, tests, bench).
        .executable(name: "cmk-azure-emulator", targets: ["cmk-azure-emulator"]),
        // The HTTPS transport (C over the system's libcurl, opened with dlopen) is a separate
        // library, loaded only when a provider makes an https request: start-up never pays for it.
        .library(name: "cmk-https", type: .dynamic, targets: ["CMKHTTPS"]),
    ],
    targets: [
        // The plugin boundary: a versioned C struct of function pointers; JSON messages.
        .target(name: "CMKPluginABI", path: "Sources/CMKPluginABI"),
        // What a provider author imports: the protocol, the status model, detection types,
        // the HTTP client with the endpoint override, and the one-line export.
        .target(name: "CMKCore", dependencies: ["CMKPluginABI", "CMKSystem"], swiftSettings: swiftSettings),
        // The Linux calls Swift cannot make (prctl, syscall, fork-then-exec), one C wrapper each.
        .target(name: "CMKSystem"),
        // What only the host needs: discovery, loading, trust, detection, config.
        .target(name: "CMKHost", dependencies: ["CMKCore", "CMKPluginABI", "CMKSystem"], swiftSettings: swiftSettings),
        .executableTarget(name: "cmk", dependencies: ["CMKHost", "CMKCore"], swiftSettings: swiftSettings),
        // libcmk-https.so, in C: no Foundation in the process, and no curl headers needed to build.
        .target(name: "CMKHTTPS", dependencies: ["CMKPluginABI"]),

        // A loopback HTTP server for fakes of cloud APIs (tests, the Azure emulator); never in cmk.
        .target(name: "LoopbackServer", swiftSettings: swiftSettings),
        // A TLS front and a CONNECT proxy on loopback (OpenSSL by dlopen), so that the emulator and
        // the tests go through cmk's production https transport; never in cmk.
        .target(name: "LoopbackTLS"),

        .target(
            name: "AWSProvider",
            dependencies: ["CMKCore"],
            path: "Plugins/AWS",
            swiftSettings: swiftSettings,
            linkerSettings: providerLinkerSettings
        ),
        .target(
            name: "AzureProvider",
            dependencies: ["CMKCore"],
            path: "Plugins/Azure",
            swiftSettings: swiftSettings,
            linkerSettings: providerLinkerSettings
        ),
        .executableTarget(
            name: "cmk-azure-emulator",
            dependencies: ["LoopbackServer", "LoopbackTLS"],
            swiftSettings: swiftSettings
        ),

        .testTarget(
            name: "CMKTests",
            dependencies: ["CMKHost", "CMKCore", "LoopbackServer", "LoopbackTLS"],
            swiftSettings: swiftSettings
        ),
    ]
)
