import CMKCore
import Foundation
import Testing

/// What a run of the built `cmk` printed and returned.
struct CMKResult: Sendable {
    var status: Int32
    var stdout: String
    var stderr: String

    /// stdout decoded as a JSON object.
    func json() throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any] else {
            throw TestFailure("stdout is not a JSON object: \(stdout)")
        }
        return object
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Paths of the build and the repository, as the tests see them.
enum TestPaths {
    /// The directory holding `cmk` and the provider libraries: tests run inside
    /// `…/debug/cmkPackageTests.xctest`, whose executable sits in the products directory.
    static let products: String = {
        let executable =
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return (executable as NSString).deletingLastPathComponent
    }()

    static var cmk: String { "\(products)/cmk" }

    /// The repository root, from this file's path.
    static let repository: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 { url.deleteLastPathComponent() }
        return url.path
    }()

    static func fixtureRoot(_ name: String) -> String { "\(repository)/Tests/Fixtures/sys/\(name)" }
}

/// A fresh temporary directory, removed by the caller with `cleanUp`.
struct TemporaryDirectory {
    let path: String

    init(_ prefix: String = "cmk-test") throws {
        try self.init(inside: NSTemporaryDirectory(), prefix)
    }

    /// A directory under `parent`, e.g. on the build's file system so that hard links work.
    init(inside parent: String, _ prefix: String) throws {
        path = URL(fileURLWithPath: "\(parent)/\(prefix)-\(UUID().uuidString)").standardized.path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        // Plugin directories must not be group- or world-writable (trust checks).
        chmod(path, 0o755)
    }

    func file(_ name: String) -> String { "\(path)/\(name)" }

    func write(_ name: String, _ text: String) throws {
        let target = file(name)
        try FileManager.default.createDirectory(
            atPath: (target as NSString).deletingLastPathComponent,
            withIntermediateDirectories: true
        )
        try text.write(toFile: target, atomically: true, encoding: .utf8)
    }

    func cleanUp() { try? FileManager.default.removeItem(atPath: path) }
}

/// The environment every cmk run starts from: nothing of the machine's (these machines set
/// `AWS_CA_BUNDLE` and friends), a private HOME, and an endpoint override on a closed loopback
/// port so that no request can ever leave the machine.
let closedLoopbackOrigin = "http://127.0.0.1:9"

/// Runs the built `cmk` with a scrubbed environment plus `environment`.
///
/// `sysRoot` defaults to an empty tree (a container: no DMI files), so detection sees nothing
/// unless a test gives it a fixture. Waiting is asynchronous: a test that blocked a thread of the
/// cooperative pool would starve the loopback fakes that cmk is talking to.
func runCMK(
    _ arguments: [String],
    environment: [String: String] = [:],
    sysRoot: String? = nil,
    executable: String = TestPaths.cmk,
    timeout: Duration = .seconds(60),
    keepNotes: Bool = false,
    onPath: Bool = false
) async throws -> CMKResult {
    let home = try TemporaryDirectory("cmk-home")
    defer { home.cleanUp() }
    // An empty tree: a container, no DMI files. It must exist: cmk refuses a CMK_SYS_ROOT that does not.
    try FileManager.default.createDirectory(atPath: home.file("empty-root"), withIntermediateDirectories: true)
    var base: [String: String] = [
        "PATH": "/usr/bin:/bin",
        "HOME": home.path,
        "CMK_ENDPOINT_OVERRIDE": closedLoopbackOrigin,
        "CMK_SYS_ROOT": sysRoot ?? home.file("empty-root"),
    ]
    base.merge(environment) { _, given in given }
    var program = executable
    var words = arguments
    if onPath {
        // As an admin with cmk installed runs it: found on PATH, so argv[0] is plain `cmk`.
        base["PATH"] = "\((executable as NSString).deletingLastPathComponent):\(base["PATH"] ?? "/usr/bin:/bin")"
        program = "/bin/sh"
        words = ["-c", "exec cmk \"$@\"", "sh"] + arguments
    }
    var result = try await runProcess(program, words, environment: base.filter { !$0.value.isEmpty }, timeout: timeout)
    // Every run here goes to a loopback override, so every run says so on stderr; the tests of
    // that note keep it, the others read stderr without it.
    if !keepNotes {
        result.stderr = result.stderr.split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.hasPrefix("Note: requests go to the loopback endpoint") }.joined(separator: "\n")
    }
    return result
}

/// Runs a program and collects its output without blocking the cooperative pool.
///
/// Through cmk's own `Subprocess` (its own thread per child, a process group killed at the
/// deadline, no descriptor but 0–2 inherited), not Foundation's `Process`: on Swift 6.3.1,
/// `Process.run` crashes now and then when many children are started at once
/// (swift-corelibs-foundation#5472), and a child it starts inherits every descriptor another
/// test left open without close-on-exec — a script being written, which then cannot be run
/// ("Text file busy"). A program killed by a signal has status 128 + the signal, as in a shell.
func runProcess(
    _ executable: String,
    _ arguments: [String],
    environment: [String: String]? = nil,
    timeout: Duration = .seconds(60)
) async throws -> CMKResult {
    let output: Subprocess.Output
    do {
        output = try await Subprocess.run(
            executable,
            arguments,
            environment: environment ?? ProcessInfo.processInfo.environment,
            deadline: .now + timeout,
            outputLimit: 512 << 20
        )
    } catch {
        // Not `catch where`: Swift 6.3.1's SILGen crashes on a guarded catch of a typed throw.
        let timedOut = error.code == .timedOut
        if timedOut {
            throw TestFailure("\(executable) \(arguments.joined(separator: " ")) did not finish within \(timeout)")
        }
        throw error
    }
    return CMKResult(
        status: output.status,
        stdout: String(decoding: output.stdout, as: UTF8.self),
        stderr: String(decoding: output.stderr, as: UTF8.self)
    )
}

/// Compiles a C provider with `cc` into `directory` and returns the library's path.
func buildCProvider(named fileName: String, source: String, in directory: TemporaryDirectory, extraFlags: [String] = [])
    async throws -> String
{
    let sourcePath = directory.file("\(fileName).c")
    try source.write(toFile: sourcePath, atomically: true, encoding: .utf8)
    let output = directory.file(fileName)
    let include = "\(TestPaths.repository)/Sources/CMKPluginABI/include"
    let result = try await runProcess(
        "/usr/bin/cc",
        ["-shared", "-fPIC", "-O1", "-I", include, "-o", output, sourcePath] + extraFlags
    )
    guard result.status == 0 else { throw TestFailure("cc failed for \(fileName): \(result.stderr)") }
    chmod(output, 0o755)
    return output
}

/// Everything until end-of-file, retrying a read that a signal interrupted.
///
/// Foundation's `readDataToEndOfFile` and `availableData` trap on EINTR (`try!` inside), and the
/// test process does get signals while children come and go (SIGCHLD among them).
func readToEnd(_ descriptor: Int32) -> Data {
    var data = Data()
    while let chunk = readSome(descriptor), !chunk.isEmpty { data.append(chunk) }
    return data
}

/// What the descriptor has now (at least one byte, waiting for it), empty at end-of-file, nil on an error.
func readSome(_ descriptor: Int32) -> Data? {
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        if count >= 0 { return Data(buffer[0..<count]) }
        if errno != EINTR { return nil }
    }
}
