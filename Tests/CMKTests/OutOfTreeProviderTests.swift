import Foundation
import Testing

/// A provider written in its own package, against the `CMKCore` product only, is found on
/// `CMK_PLUGIN_PATH`, chosen by detection and reports its checks: a new cloud needs no change to cmk.
@Suite("a provider built outside this repository")
struct OutOfTreeProviderTests {
    /// The `swift` on PATH, if any: the one a provider author would use.
    static let swift: String? = {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let candidates = path.split(separator: ":").map { "\($0)/swift" }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    @Test(
        "is detected and reports through an unchanged cmk",
        .enabled(if: swift != nil, "swift is not on PATH: the out-of-tree provider cannot be built"),
        .timeLimit(.minutes(10))
    )
    func outOfTreeProvider() async throws {
        let swift = try #require(Self.swift)
        let directory = try TemporaryDirectory("cmk-oot")
        defer { directory.cleanUp() }
        let package = directory.file("cmk-provider-oot")
        try writePackage(at: package)

        // Our own scratch path: no lock shared with the `swift test` that runs this.
        let scratch = directory.file("scratch")
        let build = try await runProcess(
            swift,
            ["build", "--package-path", package, "--scratch-path", scratch, "--product", "cmk-provider-oot"],
            timeout: .seconds(540)
        )
        try #require(build.status == 0, "swift build failed:\n\(build.stdout)\n\(build.stderr)")

        // Installed as an admin would: its own directory, named on CMK_PLUGIN_PATH.
        let plugins = directory.file("plugins")
        try FileManager.default.createDirectory(atPath: plugins, withIntermediateDirectories: true)
        let library = "\(plugins)/libcmk-provider-oot.so"
        try FileManager.default.copyItem(atPath: "\(scratch)/debug/libcmk-provider-oot.so", toPath: library)

        try directory.write("root/sys/class/dmi/id/sys_vendor", "Out Of Tree Cloud\n")
        let sysRoot = directory.file("root")
        let environment = ["CMK_PLUGIN_PATH": plugins]

        let providers = try await runCMK(["providers", "--output", "json"], environment: environment, sysRoot: sysRoot)
        #expect(providers.status == 0)
        let listed = try JSONDecoder().decode(ProvidersDocument.self, from: Data(providers.stdout.utf8))
        #expect(listed.providers.first { $0.name == "oot" }?.path == library)

        let detect = try await runCMK(["detect", "--output", "json"], environment: environment, sysRoot: sysRoot)
        #expect(detect.status == 0, "\(detect.stdout)\(detect.stderr)")
        let detected = try JSONDecoder().decode(DetectDocument.self, from: Data(detect.stdout.utf8))
        #expect(detected.provider == "oot")
        #expect(detected.selection?.kind == "detection")
        #expect(detected.platform == "Out Of Tree Cloud")

        let status = try await runCMK(["status", "--provider", "oot"], environment: environment, sysRoot: sysRoot)
        #expect(status.status == 0, "\(status.stdout)\(status.stderr)")
        #expect(status.stdout.contains("oot-key"))
        #expect(status.stdout.contains("The Out Of Tree key is in place."))
        #expect(status.stdout.contains("oot-confirmation"))

        let verify = try await runCMK(["providers", "verify", library])
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
    }

    /// The package a provider author writes: a manifest, one source file.
    private func writePackage(at package: String) throws {
        let sources = "\(package)/Sources/OutOfTreeProvider"
        try FileManager.default.createDirectory(atPath: sources, withIntermediateDirectories: true)
        // SwiftPM names a path dependency after its directory.
        let identity = URL(fileURLWithPath: TestPaths.repository).lastPathComponent
        let manifest = """
            // swift-tools-version: 6.0
            import PackageDescription

            let package = Package(
                name: "cmk-provider-oot",
                products: [
                    .library(name: "cmk-provider-oot", type: .dynamic, targets: ["OutOfTreeProvider"]),
                ],
                dependencies: [
                    .package(path: "\(TestPaths.repository)"),
                ],
                targets: [
                    .target(
                        name: "OutOfTreeProvider",
                        dependencies: [.product(name: "CMKCore", package: "\(identity)")]
                    ),
                ]
            )

            """
        try manifest.write(toFile: "\(package)/Package.swift", atomically: true, encoding: .utf8)
        let provider = #"""
            import CMKCore

            @_cdecl("cmk_provider_entry")
            public func cmk_provider_entry() -> UnsafeRawPointer { exportProvider(OutOfTreeProvider.self) }

            struct OutOfTreeProvider: CloudKeyProvider {
                static let name = "oot"
                static let version = "0.1.0"
                static let summary = "Out Of Tree Cloud: built in its own package against CMKCore"

                func detect(_ request: DetectionRequest) async -> Detection {
                    guard let vendor = request.snapshot.dmi("sys_vendor"), vendor == "Out Of Tree Cloud" else {
                        return .none(rejected: ["sys_vendor is not \"Out Of Tree Cloud\""])
                    }
                    return Detection(
                        strength: .strong,
                        platform: "Out Of Tree Cloud",
                        evidence: ["/sys/class/dmi/id/sys_vendor = \"Out Of Tree Cloud\""]
                    )
                }

                func status(_ request: StatusRequest) async throws -> StatusReport {
                    StatusReport(checks: [
                        Check(id: "oot-key", state: .ok, summary: "The Out Of Tree key is in place."),
                        Check(
                            id: "oot-confirmation",
                            state: .manual,
                            summary: "The vendor confirms when the key is applied.",
                            remediation: "Open a support ticket with the key id."
                        ),
                    ])
                }
            }

            """#
        try provider.write(toFile: "\(sources)/OutOfTreeProvider.swift", atomically: true, encoding: .utf8)
    }

    private struct ProvidersDocument: Decodable {
        struct Entry: Decodable {
            var name: String
            var path: String
        }
        var providers: [Entry]
    }

    private struct DetectDocument: Decodable {
        struct Selection: Decodable { var kind: String }
        var provider: String?
        var selection: Selection?
        var platform: String?
    }
}
