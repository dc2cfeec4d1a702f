import LoopbackServer

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#else
    #error("cmk-azure-emulator needs Glibc or Musl")
#endif

// cmk-azure-emulator --scenario <file.json|name> [--port N] [--tls [--tls-dir DIR]] [--latency-ms N]
//
// A loopback Azure for `cmk status` without an account: prints its origin on the first line,
// then how to point cmk at it, and serves until killed. With --tls it serves https through a
// TLS front with a test CA of its own, so that cmk's production transport is what runs.

let usage =
    "usage: cmk-azure-emulator --scenario <file.json|name> [--port N] [--tls [--tls-dir DIR]] [--latency-ms N]"

// A parent may start us with signals blocked (test runners' worker threads block them, and
// posix_spawn passes the mask on): unblock them, or SIGTERM would never stop the emulator.
var noSignals = sigset_t()
sigemptyset(&noSignals)
sigprocmask(SIG_SETMASK, &noSignals, nil)

func fail(_ message: String) -> Never {
    let text = "cmk-azure-emulator: \(message)\n\(usage)\n"
    _ = text.withCString { write(2, $0, strlen($0)) }
    exit(64)
}

var scenarioArgument: String?
var port = 0
var tls = false
var tlsDirectory: String?
var latencyMs: Int?  // ops (issue 11): --latency-ms, beats the scenario's latencyMs
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let argument = arguments.next() {
    switch argument {
    case "--scenario": scenarioArgument = arguments.next()
    case "--port":
        guard let text = arguments.next(), let value = Int(text), (0...65535).contains(value) else {
            fail("--port needs a number")
        }
        port = value
    case "--tls": tls = true
    case "--latency-ms":
        guard let text = arguments.next(), let value = Int(text), (0...600_000).contains(value) else {
            fail("--latency-ms needs a number of milliseconds")
        }
        latencyMs = value
    case "--tls-dir":
        guard let directory = arguments.next(), !directory.isEmpty else { fail("--tls-dir needs a directory") }
        tls = true
        tlsDirectory = directory
    case "-h", "--help":
        print(usage)
        print("Scenarios by name are read from Tests/Fixtures/azure/scenarios/<name>.json (see docs/azure.md).")
        print("--tls: serve https on --port through a TLS front, with a test CA made by the openssl command")
        print("       in a new temporary directory (or --tls-dir DIR); prints the CMK_CA_BUNDLE to export.")
        print("--latency-ms N: add N ms to every response (instead of the scenario's latencyMs).")
        print("POST /_emulator/scenario?name=<name|file.json> puts another scenario in force while it runs.")
        exit(0)
    default: fail("unknown argument '\(argument)'")
    }
}
guard let scenarioArgument else { fail("--scenario is required") }
guard let fixtures = fixturesDirectory() else {
    fail("cannot find Tests/Fixtures/azure; run from the package or set CMK_AZURE_FIXTURES")
}
let scenarioPath =
    scenarioArgument.hasSuffix(".json") ? scenarioArgument : "\(fixtures)/scenarios/\(scenarioArgument).json"

let emulator: AzureEmulator
do {
    emulator = AzureEmulator(
        scenario: try Scenario.load(scenarioPath),
        templates: try FixtureTemplates(directory: fixtures),
        scenarios: "\(fixtures)/scenarios",
        latencyMs: latencyMs
    )
} catch {
    fail("\(error)")
}
let server: LoopbackServer
do {
    server = try LoopbackServer(port: tls ? 0 : port) { request in await emulator.handle(request) }
} catch {
    fail("\(error)")
}
var origin = server.origin
var caBundle: String?
if tls {
    let material: TLSMaterial
    switch TLSMaterial.prepare(directory: tlsDirectory) {
    case .success(let value): material = value
    case .failure(let error): fail("\(error)")
    }
    switch material.startFront(backendPort: server.port, port: port) {
    case .success(let httpsPort): origin = "https://127.0.0.1:\(httpsPort)"
    case .failure(let error): fail("\(error)")
    }
    caBundle = material.caBundle
}
stopWhenStdinPipeCloses()
print(origin)
// What to paste to try cmk against this scenario: the emulator's own made-up credentials.
print("export CMK_ENDPOINT_OVERRIDE=\(origin)")
if let caBundle { print("export CMK_CA_BUNDLE=\(caBundle)") }
if let application = emulator.scenario.applications?.first, let secret = application.clientSecret {
    print(
        "export AZURE_TENANT_ID=\(emulator.scenario.tenantId) AZURE_CLIENT_ID=\(application.clientId) AZURE_CLIENT_SECRET=\(secret)"
    )
}
let vault = emulator.scenario.vaults?.first
let keyURI =
    vault.map { vault in
        "https://\(vault.name).\(vault.isHSM ? "managedhsm" : "vault").azure.net/keys/\(vault.keys?.first?.name ?? "<key>")"
    } ?? "https://<vault>.vault.azure.net/keys/<key>"
print("# then: cmk status --provider azure --key-uri \(keyURI)")
fflush(nil)  // the first line is what a test waits for
while true { pause() }
