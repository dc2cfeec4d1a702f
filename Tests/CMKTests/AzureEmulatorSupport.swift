import CMKCore
import Foundation
import Testing

/// The built `cmk-azure-emulator`, run as a subprocess for one test: its origin is read from the
/// first line it prints, and it is killed when the test is done with it.
// Immutable after init; `stop` may run twice (Process.terminate on an ended process is a no-op).
final class AzureEmulatorProcess: @unchecked Sendable {
    static let tenant = "3f8e2c1a-5b7d-4e9f-a2c4-6d8b0e1f3a5c"
    static let clientID = "11111111-2222-4333-8444-555555555555"
    static let clientSecret = "emulator-client-secret-0f9e8d7c"
    static let federatedAssertion = "emulator-federated-assertion-4b3a2918"
    static let identityHeader = "emulator-identity-header-77aa"
    static let servicePrincipalID = "5d2a8f3e-9c41-4b7e-8a16-0f3c2e9d7b54"
    static let keyURI = "https://contoso-cmk.vault.azure.net/keys/cmk-key"
    static let scenarios = "\(TestPaths.repository)/Tests/Fixtures/azure/scenarios"

    let origin: String
    /// With `tls`: the test CA that signed the emulator's certificate, for `CMK_CA_BUNDLE`.
    let caBundle: String?
    private let process: Process
    private let input: Pipe

    /// Starts the emulator on `scenario`: a name under Tests/Fixtures/azure/scenarios or a file path.
    /// With `tls`, it serves https through its TLS front (`--tls`), so cmk's production transport runs.
    init(_ scenario: String, tls: Bool = false) async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "\(TestPaths.products)/cmk-azure-emulator")
        process.arguments = ["--scenario", scenario]
        if tls {
            let directory = try Self.sharedTLSDirectory.get()
            process.arguments! += ["--tls-dir", directory]
            caBundle = "\(directory)/ca.pem"
        } else {
            caBundle = nil
        }
        process.currentDirectoryURL = URL(fileURLWithPath: TestPaths.repository)
        let output = Pipe()
        process.standardOutput = output
        // The emulator exits when this pipe closes: with the test process, even if it crashes.
        let input = Pipe()
        process.standardInput = input
        process.standardError = FileHandle.nullDevice
        try process.run()
        self.process = process
        self.input = input
        let handle = output.fileHandleForReading
        let line: String = await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                var bytes: [UInt8] = []
                var byte: UInt8 = 0
                // read(2) with EINTR retried: Foundation's reads give up on a signal.
                while true {
                    let count = read(handle.fileDescriptor, &byte, 1)
                    if count < 0 && errno == EINTR { continue }
                    if count <= 0 || byte == 10 { break }
                    bytes.append(byte)
                }
                continuation.resume(returning: String(decoding: bytes, as: UTF8.self))
            }
        }
        guard line.hasPrefix(tls ? "https://127.0.0.1:" : "http://127.0.0.1:") else {
            process.terminate()
            throw TestFailure("the emulator printed '\(line)' instead of its origin")
        }
        origin = line
    }

    /// One test CA and server certificate for every TLS emulator of the test run, made once by the
    /// emulator itself (`--tls-dir` reuses the files it finds): making them per emulator is three
    /// openssl runs each, which a table of 30 scenarios would start all at once.
    static let sharedTLSDirectory: Result<String, any Error> = Result {
        let directory = NSTemporaryDirectory() + "cmk-emulator-tls-\(UUID().uuidString)"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "\(TestPaths.products)/cmk-azure-emulator")
        process.arguments = ["--scenario", "ready", "--tls-dir", directory]
        process.currentDirectoryURL = URL(fileURLWithPath: TestPaths.repository)
        let output = Pipe()
        process.standardOutput = output
        process.standardInput = Pipe()
        process.standardError = FileHandle.nullDevice
        try process.run()
        // The first line comes after the certificates are written.
        let handle = output.fileHandleForReading
        while let byte = try handle.read(upToCount: 1)?.first, byte != 10 {}
        process.terminate()
        guard FileManager.default.fileExists(atPath: "\(directory)/ca.pem") else {
            throw TestFailure("cmk-azure-emulator --tls-dir \(directory) made no certificates (is openssl installed?)")
        }
        return directory
    }

    /// Starts the emulator on a named scenario changed by `patch` (a JSON object edited in place).
    convenience init(_ base: String, tls: Bool = false, patch: (inout [String: Any]) -> Void) async throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: "\(Self.scenarios)/\(base).json"))
        var scenario = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        patch(&scenario)
        let path = NSTemporaryDirectory() + "cmk-azure-scenario-\(UUID().uuidString).json"
        try JSONSerialization.data(withJSONObject: scenario).write(to: URL(fileURLWithPath: path))
        try await self.init(path, tls: tls)
    }

    deinit { stop() }

    func stop() { if process.isRunning { process.terminate() } }

    /// Environment for cmk: everything to this emulator, signed in with the scenario's client secret.
    var signedIn: [String: String] {
        [
            "CMK_ENDPOINT_OVERRIDE": origin, "AZURE_TENANT_ID": Self.tenant, "AZURE_CLIENT_ID": Self.clientID,
            "AZURE_CLIENT_SECRET": Self.clientSecret, "CMK_CA_BUNDLE": caBundle ?? "",
        ]
    }

    /// A client that trusts this emulator (its test CA when it serves https).
    private var client: HTTPClient {
        get throws { try HTTPClient(environment: caBundle.map { ["CMK_CA_BUNDLE": $0] } ?? [:]) }
    }

    /// What the emulator was asked so far.
    func requests() async throws -> [Request] {
        // Generous deadlines: a full parallel test run starves this process, not the emulator.
        let response = try await client.send(HTTPRequest(url: "\(origin)/_emulator/requests", timeout: .seconds(30)))
        return try JSONDecoder().decode([Request].self, from: Data(response.body))
    }

    /// A token the emulator issued (for a fake `az`).
    func token(resource: String, kind: String = "user") async throws -> String {
        let url = "\(origin)/_emulator/token?resource=\(resource)&kind=\(kind)"
        let response = try await client.send(HTTPRequest(url: url, timeout: .seconds(30)))
        struct Reply: Decodable { var accessToken: String }
        return try JSONDecoder().decode(Reply.self, from: Data(response.body)).accessToken
    }

    struct Request: Decodable, Sendable {
        var method: String
        var host: String
        var path: String
        var route: String
        var authorization: Bool
        var status: Int
        var apiVersion: String?
    }
}

/// `cmk status --provider azure … --output json`, decoded.
struct AzureStatus {
    var result: CMKResult
    var document: [String: Any]

    /// A report a run already printed.
    init(result: CMKResult) throws {
        self.result = result
        document = try result.json()
    }

    init(_ arguments: [String] = [], environment: [String: String], sysRoot: String? = nil) async throws {
        result = try await runCMK(
            ["status", "--provider", "azure", "--output", "json"] + arguments,
            environment: environment,
            sysRoot: sysRoot
        )
        document = try result.json()
    }

    /// Key URI given (the emulator's key) unless `arguments` already has one.
    static func run(
        _ arguments: [String] = [],
        environment: [String: String],
        keyURI: String = AzureEmulatorProcess.keyURI
    ) async throws -> AzureStatus {
        try await AzureStatus(["--key-uri", keyURI] + arguments, environment: environment)
    }

    var checks: [[String: Any]] { document["checks"] as? [[String: Any]] ?? [] }

    /// The summary of check `id` in a JSON report that `result` printed.
    static func summary(of id: String, in result: CMKResult) throws -> String {
        try AzureStatus(result: result).summary(id)
    }

    func check(_ id: String) -> [String: Any] { checks.first { $0["id"] as? String == id } ?? [:] }
    func state(_ id: String) -> String? { check(id)["state"] as? String }
    /// The check's own summary, followed by its shared cause's (said once above the checks in text).
    func summary(_ id: String) -> String {
        let own = check(id)["summary"] as? String ?? ""
        return cause(of: id).map { own + " — " + ($0["summary"] as? String ?? "") } ?? own
    }
    /// The check's own next step, and its shared cause's fix.
    func remediation(_ id: String) -> String {
        [check(id)["remediation"] as? String, cause(of: id)?["remediation"] as? String].compactMap { $0 }
            .joined(separator: " ")
    }
    /// The cause check `id` shares with others, if any.
    func cause(of id: String) -> [String: Any]? {
        guard let causeID = check(id)["cause"] as? String else { return nil }
        return (document["causes"] as? [[String: Any]] ?? []).first { $0["id"] as? String == causeID }
    }

    /// Ids by state, for compact expectations.
    func ids(_ state: String) -> Set<String> {
        Set(checks.filter { $0["state"] as? String == state }.compactMap { $0["id"] as? String })
    }

    var credential: String? { document["credential"] as? String }

    /// Everything cmk printed: for "no secret or token in the output" expectations.
    var output: String { result.stdout + result.stderr }
}

/// Secrets no output may ever hold: the client secret, the federated assertion, the identity
/// header, and any emulator token (all start with the base64url of `{"alg":…`).
let azureSecrets = [
    AzureEmulatorProcess.clientSecret, AzureEmulatorProcess.federatedAssertion, AzureEmulatorProcess.identityHeader,
    "eyJhbGciOi",
]

/// Every live check of the Azure provider.
let azureLiveChecks: Set<String> = [
    "admin-role", "vault-dedicated", "vault-soft-delete", "vault-purge-protection", "vault-network", "key-type",
    "key-operations", "key-enabled", "key-expiry", "key-rotation", "app-consent", "app-key-access",
]
