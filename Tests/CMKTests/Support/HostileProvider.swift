import Foundation

/// The hostile provider, built with `cc`, alone beside a hard link of `cmk`.
///
/// Alone: the built-in providers are not loaded, so that an isolated run costs a worker or two
/// and the times measured are the hostile provider's (a debug build hashes the 7 MB Azure
/// provider in each of its workers).
enum HostileProvider {
    static let sourcePath = "\(TestPaths.repository)/Tests/Providers/hostile/cmk_hostile_provider.c"

    /// A directory holding `cmk` and `libcmk-provider-hostile.so`; the caller removes it.
    static func install() async throws -> TemporaryDirectory {
        let install = try privateInstall()
        try await build("libcmk-provider-hostile.so", in: install, defines: [])
        return install
    }

    /// A directory with a hard link of `cmk` in it (`file("cmk")`) and no provider yet.
    ///
    /// On the build's file system, so that the hard link works; a hard link, not a copy: a copy
    /// would be open for writing while other tests fork, and exec would fail (ETXTBSY).
    static func privateInstall() throws -> TemporaryDirectory {
        let install = try TemporaryDirectory(inside: "\(TestPaths.products)/..", "cmk-hostile")
        try FileManager.default.linkItem(atPath: TestPaths.cmk, toPath: install.file("cmk"))
        return install
    }

    /// Builds a variant with extra `-D` flags into `directory` under `file`.
    @discardableResult
    static func build(_ file: String, in directory: TemporaryDirectory, defines: [String]) async throws -> String {
        try await buildCProvider(
            named: file,
            source: try String(contentsOfFile: sourcePath, encoding: .utf8),
            in: directory,
            extraFlags: defines.map { "-D\($0)" }
        )
    }
}

/// What a run printed, how it ended, and how long the process itself lived.
struct DetachedRun {
    var status: Int32
    var stdout: String
    var stderr: String
    var seconds: Double
}

/// Runs `cmk` with its stdout and stderr in files, timed by bash's `time`.
///
/// Files, not pipes: a process a provider leaves behind may hold cmk's output open, and what is
/// asserted is when cmk itself ends, not when the last holder of its pipe does. The time is the
/// child's own (the test runner's clock lags under load).
func runDetached(_ arguments: [String], environment: [String: String], cmk: String = TestPaths.cmk) async throws
    -> DetachedRun
{
    let scratch = try TemporaryDirectory("cmk-detached")
    defer { scratch.cleanUp() }
    let script = #"TIMEFORMAT=%R; { time "$@" >"$CMK_TEST_OUT" 2>"$CMK_TEST_ERR"; } 2>"$CMK_TEST_TIME_FILE""#
    var environment = environment
    environment["CMK_TEST_OUT"] = scratch.file("out")
    environment["CMK_TEST_ERR"] = scratch.file("err")
    environment["CMK_TEST_TIME_FILE"] = scratch.file("time")
    let result = try await runCMK(
        ["-c", script, "bash", cmk] + arguments,
        environment: environment,
        executable: "/bin/bash",
        timeout: .seconds(60)
    )
    let time = try String(contentsOfFile: scratch.file("time"), encoding: .utf8)
    guard let seconds = Double(time.trimmingCharacters(in: .whitespacesAndNewlines)) else {
        throw TestFailure("bash's time printed '\(time)'")
    }
    return DetachedRun(
        status: result.status,
        stdout: (try? String(contentsOfFile: scratch.file("out"), encoding: .utf8)) ?? "",
        stderr: (try? String(contentsOfFile: scratch.file("err"), encoding: .utf8)) ?? "",
        seconds: seconds
    )
}
