import CMKCore
import CMKPluginABI
import FoundationEssentials
import Synchronization

/// One row of `cmk providers verify`: a named check, whether the provider passed it, and why.
package struct ConformanceResult: Sendable, Codable, Equatable {
    /// Stable, kebab-case (`status`, `reply-once`): what scripts and the docs refer to.
    package var name: String
    package var passed: Bool
    /// One line: what was seen, and on failure what the provider must do instead.
    package var detail: String

    package init(name: String, passed: Bool, detail: String) {
        self.name = name
        self.passed = passed
        self.detail = detail
    }
}

/// The conformance suite a provider author runs on a library before shipping it.
///
/// It speaks to the provider only through ``LoadedProvider`` and its channel, so it checks an
/// in-process provider and an isolated one alike. Every call has a short deadline: a provider that
/// never answers fails a row, it does not hang the suite. Detection is only ever given fixture
/// snapshots whose environment points `CMK_ENDPOINT_OVERRIDE` at loopback, so a provider that
/// confirms a local hit through instance metadata talks to 127.0.0.1, never to 169.254.169.254.
///
/// ```swift
/// let (row, provider) = ConformanceSuite.load(path)
/// let rows = [row] + (provider.map { await ConformanceSuite.run($0) } ?? [])
/// ```
package enum ConformanceSuite {
    /// What the suite needs to know about where it runs.
    package struct Settings: Sendable {
        /// Closed loopback port: a provider's metadata confirmation is refused at once, off-machine never.
        package static let closedLoopback = "http://127.0.0.1:9"

        /// The `CMK_ENDPOINT_OVERRIDE` value put into every snapshot the provider is given.
        package var endpointOverride: String
        /// How long one call may take before its row fails.
        package var callTimeout: Duration
        /// Option names the CLI parses itself: a provider option with one of them never reaches it.
        package var reservedOptionNames: Set<String>

        package init(
            endpointOverride: String = closedLoopback,
            callTimeout: Duration = .seconds(2),
            reservedOptionNames: Set<String> = ["help"]
        ) {
            self.endpointOverride = endpointOverride
            self.callTimeout = callTimeout
            self.reservedOptionNames = reservedOptionNames
        }

        /// Keeps the caller's override (an emulator, say) when it set one; the closed port otherwise.
        package init(environment: [String: String], reservedOptionNames: Set<String>) {
            let value = environment[EndpointOverride.environmentVariable] ?? ""
            self.init(
                endpointOverride: value.isEmpty ? Self.closedLoopback : value,
                reservedOptionNames: reservedOptionNames
            )
        }
    }

    /// Detection on a machine with no signal at all must answer at once: every `cmk` start runs it.
    package static let emptyDetectionLimit: Duration = .seconds(1)
    /// Calls in flight at once in the `concurrency` row.
    package static let concurrentCalls = 16
    /// How long to listen for a reply delivered twice or late, after the last call.
    package static let stragglerWait: Duration = .milliseconds(200)

    /// Loads the library as `cmk` would; a failure is the first (and only) row.
    package static func load(_ path: String) -> (row: ConformanceResult, provider: LoadedProvider?) {
        switch ProviderLoader.load(path) {
        case .success(let provider):
            let detail =
                "\(provider.name) \(provider.version) loaded "
                + "(dlopen RTLD_NOW, \(CMK_PROVIDER_ENTRY_SYMBOL) found)"
            return (ConformanceResult(name: "load", passed: true, detail: detail), provider)
        case .failure(let error):
            return (ConformanceResult(name: "load", passed: false, detail: "\(error.code): \(error.reason)"), nil)
        }
    }

    /// Runs every check on `provider`, in order; never throws, never waits longer than the call deadlines.
    package static func run(_ provider: LoadedProvider, settings: Settings = Settings()) async -> [ConformanceResult] {
        let runner = Runner(provider: provider, settings: settings)
        let unexpectedBefore = PendingReplies.unexpectedReplies
        var rows = runner.descriptorRows()
        rows.append(await runner.describeRow())
        rows.append(await runner.emptyDetectionRow())
        for fixture in Fixture.all {
            rows.append(await runner.fixtureDetectionRow(fixture))
        }
        rows.append(await runner.statusRow())
        rows.append(await runner.errorRow(name: "error-unknown-op", request: #"{"op":"nonsense"}"#))
        rows.append(await runner.errorRow(name: "error-truncated-json", request: #"{"op":"status","options":"#))
        rows.append(await runner.concurrencyRow())
        try? await Task.sleep(for: stragglerWait)
        rows.append(runner.replyOnceRow(unexpected: PendingReplies.unexpectedReplies - unexpectedBefore))
        rows.append(runner.noCrashRow())
        return rows
    }
}

/// A platform as the host would snapshot it; DMI files end with a newline, as sysfs writes them.
private struct Fixture: Sendable {
    var name: String
    var files: [String: String]

    static let all: [Fixture] = [
        Fixture(
            name: "ec2-nitro",
            files: dmi([
                "sys_vendor": "Amazon EC2", "bios_vendor": "Amazon EC2", "board_vendor": "Amazon EC2",
                "chassis_asset_tag": "Amazon EC2", "board_asset_tag": "i-0123456789abcdef0", "product_name": "m5.large",
            ]).merging([PlatformSnapshot.cloudIDPath: "aws\n"]) { $1 }
        ),
        Fixture(
            name: "azure",
            files: dmi([
                "sys_vendor": "Microsoft Corporation", "product_name": "Virtual Machine",
                "chassis_asset_tag": "7783-7084-3265-9085-8269-3286-77",
            ]).merging([PlatformSnapshot.cloudIDPath: "azure\n"]) { $1 }
        ),
        Fixture(
            name: "gce",
            files: dmi([
                "sys_vendor": "Google", "product_name": "Google Compute Engine", "bios_vendor": "Google",
            ]).merging([PlatformSnapshot.cloudIDPath: "gce\n"]) { $1 }
        ),
        // On-premises Hyper-V shares Azure's sys_vendor and product name, not its asset tag.
        Fixture(
            name: "hyperv-onprem",
            files: dmi([
                "sys_vendor": "Microsoft Corporation", "product_name": "Virtual Machine",
                "bios_vendor": "Microsoft Corporation", "chassis_asset_tag": "None",
            ])
        ),
    ]

    private static func dmi(_ fields: [String: String]) -> [String: String] {
        Dictionary(uniqueKeysWithValues: fields.map { ("\(PlatformSnapshot.dmiDirectory)/\($0.key)", $0.value + "\n") })
    }
}

/// What one reply turned out to be.
private enum Reply<Value> {
    case value(Value)
    case error(ProviderError)
    case unreadable(String)
    case failed(ProviderCallError)
}

/// The calls counted for the `no-crash` row; shared by the concurrent calls.
private final class CallLog: Sendable {
    private let counts = Mutex((calls: 0, lost: [String]()))

    func record(_ outcome: Result<[UInt8], ProviderCallError>) {
        counts.withLock { counts in
            counts.calls += 1
            if case .failure(let error) = outcome, error.code == .crashed || error.code == .unavailable {
                counts.lost.append(error.reason)
            }
        }
    }

    var snapshot: (calls: Int, lost: [String]) { counts.withLock { $0 } }
}

/// The rows, each one call (or a few) to the provider and a verdict on the reply.
private struct Runner: Sendable {
    let provider: LoadedProvider
    let settings: Settings
    let log = CallLog()

    typealias Settings = ConformanceSuite.Settings

    var environment: [String: String] { [EndpointOverride.environmentVariable: settings.endpointOverride] }

    // MARK: descriptor

    func descriptorRows() -> [ConformanceResult] {
        let abiOK =
            provider.abiVersion == CMK_PLUGIN_ABI_VERSION
            && provider.structSize >= ProviderLoader.minimumStructSizeV1
        let abiDetail =
            "ABI version \(provider.abiVersion) (host speaks \(CMK_PLUGIN_ABI_VERSION)), descriptor "
            + "\(provider.structSize) bytes (at least \(ProviderLoader.minimumStructSizeV1))"
        return [
            ConformanceResult(name: "abi", passed: abiOK, detail: abiDetail),
            ConformanceResult(
                name: "name",
                passed: isValidProviderName(provider.name),
                detail: "'\(provider.name)' (1-32 lowercase letters, digits or hyphens)"
            ),
            nonEmpty("version", provider.version),
            nonEmpty("description", provider.summary),
        ]
    }

    private func nonEmpty(_ field: String, _ value: String) -> ConformanceResult {
        let trimmed = value.trimmingWhitespace()
        return ConformanceResult(
            name: field,
            passed: !trimmed.isEmpty,
            detail: trimmed.isEmpty ? "the descriptor's \(field) is empty" : "'\(trimmed)'"
        )
    }

    // MARK: describe

    func describeRow() async -> ConformanceResult {
        let name = "describe"
        switch await call(.describe, Optional<Empty>.none, as: DescribeReply.self) {
        case .value(let reply):
            if let problem = problem(in: reply.options) { return fail(name, problem) }
            let names = reply.options.map { "--\($0.name)" }.joined(separator: ", ")
            return pass(name, reply.options.isEmpty ? "declares no options" : "declares \(names)")
        case .error(let error) where error.code == .unsupported:
            return pass(name, "answers 'unsupported' (the provider takes no options)")
        case .error(let error):
            return fail(
                name,
                "answered error '\(error.code.rawValue)': \(error.message); expected options or 'unsupported'"
            )
        case .unreadable(let reason):
            return fail(name, reason)
        case .failed(let error):
            return fail(name, error.reason)
        }
    }

    private func problem(in options: [ProviderOption]) -> String? {
        var seen = Set<String>()
        for option in options {
            guard isValidProviderName(option.name) else {
                return "option '\(option.name)' is not 1-32 lowercase letters, digits or hyphens"
            }
            guard !settings.reservedOptionNames.contains(option.name) else {
                return "option '--\(option.name)' is one of cmk's own and would never reach the provider"
            }
            guard seen.insert(option.name).inserted else { return "option '--\(option.name)' is declared twice" }
            guard !option.help.trimmingWhitespace().isEmpty else { return "option '--\(option.name)' has no help" }
        }
        return nil
    }

    // MARK: detect

    func emptyDetectionRow() async -> ConformanceResult {
        let name = "detect-empty"
        let clock = ContinuousClock()
        let start = clock.now
        let request = DetectionRequest(snapshot: PlatformSnapshot(environment: environment))
        let reply = await call(.detect, request, as: Detection.self)
        let elapsed = clock.now - start
        guard case .value(let detection) = reply else { return fail(name, describeFailure(reply)) }
        if let problem = problem(in: detection) { return fail(name, problem) }
        guard detection.strength != .strong else {
            let evidence = detection.evidence.joined(separator: "; ")
            return fail(name, "claims a strong match on a machine with no signal at all: \(evidence)")
        }
        guard elapsed < ConformanceSuite.emptyDetectionLimit else {
            let limit = milliseconds(ConformanceSuite.emptyDetectionLimit)
            return fail(name, "took \(milliseconds(elapsed)) ms (limit \(limit) ms); with no local signal, do not wait")
        }
        return pass(name, "\(detection.strength.rawValue) in \(milliseconds(elapsed)) ms")
    }

    func fixtureDetectionRow(_ fixture: Fixture) async -> ConformanceResult {
        let name = "detect-\(fixture.name)"
        let snapshot = PlatformSnapshot(environment: environment, files: fixture.files)
        let reply = await call(.detect, DetectionRequest(snapshot: snapshot), as: Detection.self)
        guard case .value(let detection) = reply else { return fail(name, describeFailure(reply)) }
        if let problem = problem(in: detection) { return fail(name, problem) }
        let platform = detection.platform.map { ": \($0)" } ?? ""
        return pass(name, "\(detection.strength.rawValue)\(platform)")
    }

    /// Why a detection is not well formed, or nil.
    private func problem(in detection: Detection) -> String? {
        if detection.strength != .none && detection.evidence.isEmpty {
            return "a \(detection.strength.rawValue) verdict with no evidence; say which signal decided"
        }
        if detection.evidence.contains(where: { $0.trimmingWhitespace().isEmpty }) {
            return "an empty evidence line"
        }
        return nil
    }

    // MARK: status

    func statusRow() async -> ConformanceResult {
        let name = "status"
        switch await call(.status, statusRequest, as: StatusReport.self) {
        case .value(let report):
            if let problem = problem(in: report) { return fail(name, problem) }
            let counts = CheckState.allCases.compactMap { state -> String? in
                let count = report.checks.filter { $0.state == state }.count
                return count == 0 ? nil : "\(count) \(state.rawValue)"
            }
            return pass(name, "\(report.checks.count) checks (\(counts.joined(separator: ", ")))")
        case .error(let error):
            return fail(
                name,
                "answered error '\(error.code.rawValue)': \(error.message); with no options, report a check "
                    + "in state action-required that says which option to set"
            )
        case .unreadable(let reason):
            return fail(name, reason)
        case .failed(let error):
            return fail(name, error.reason)
        }
    }

    /// Status as `cmk status --provider X` sends it off-platform: no detection, no options.
    private var statusRequest: StatusRequest {
        // Leave the provider a quarter of the call's time to encode and deliver its reply.
        StatusRequest(platform: nil, options: [:], deadlineMilliseconds: milliseconds(settings.callTimeout) * 3 / 4)
    }

    /// Why a status report does not follow the contract `cmk status` relies on, or nil.
    private func problem(in report: StatusReport) -> String? {
        guard !report.checks.isEmpty else { return "the report has no checks; cmk status would call it incomplete" }
        var seen = Set<String>()
        for (index, check) in report.checks.enumerated() {
            let label = check.id.isEmpty ? "check #\(index + 1)" : "check '\(check.id)'"
            guard !check.id.trimmingWhitespace().isEmpty else { return "\(label) has an empty id" }
            guard seen.insert(check.id).inserted else { return "\(label) appears twice; ids must be unique" }
            guard !check.summary.trimmingWhitespace().isEmpty else { return "\(label) has an empty summary" }
            if check.state == .actionRequired, (check.remediation ?? "").trimmingWhitespace().isEmpty {
                return "\(label) is action-required but has no remediation; say what to do next"
            }
        }
        return nil
    }

    // MARK: error path

    /// Sends bytes that are not a valid request; the provider must answer {"error": {code, message}}.
    func errorRow(name: String, request: String) async -> ConformanceResult {
        let outcome = await send(Array(request.utf8))
        let bytes: [UInt8]
        switch outcome {
        case .success(let reply): bytes = reply
        case .failure(let error): return fail(name, "sent \(request): \(error.reason)")
        }
        let decoded = try? JSONDecoder().decode(LooseErrorReply.self, from: Data(bytes))
        guard let body = decoded?.error else {
            return fail(name, "sent \(request), expected {\"error\": {\"code\", \"message\"}}, got: \(preview(bytes))")
        }
        guard let code = body.code, !code.isEmpty, let message = body.message, !message.isEmpty else {
            return fail(
                name,
                "sent \(request): the error reply needs a non-empty code and message, got: \(preview(bytes))"
            )
        }
        return pass(name, "answered '\(code)': \(message.prefix(80))")
    }

    /// An error reply with every field optional, so that a missing one can be named.
    private struct LooseErrorReply: Decodable {
        struct Body: Decodable {
            var code: String?
            var message: String?
        }
        var error: Body?
    }

    // MARK: concurrency

    /// Detect and status calls in flight together; each must come back, to its own caller.
    func concurrencyRow() async -> ConformanceResult {
        let name = "concurrency"
        let detectRequest = DetectionRequest(snapshot: PlatformSnapshot(environment: environment))
        let problems = await withTaskGroup(of: String?.self) { group in
            for index in 0..<ConformanceSuite.concurrentCalls {
                group.addTask {
                    let isDetect = index.isMultiple(of: 2)
                    let problem =
                        isDetect
                        ? answerProblem(await call(.detect, detectRequest, as: Detection.self))
                        : answerProblem(await call(.status, statusRequest, as: StatusReport.self))
                    return problem.map { "call #\(index + 1) (\(isDetect ? "detect" : "status")): \($0)" }
                }
            }
            var collected: [String] = []
            for await problem in group { if let problem { collected.append(problem) } }
            return collected
        }
        guard let first = problems.first else {
            return pass(name, "\(ConformanceSuite.concurrentCalls) concurrent detect and status calls all answered")
        }
        return fail(name, "\(problems.count) of \(ConformanceSuite.concurrentCalls) concurrent calls failed; \(first)")
    }

    /// A reply of the wrong type means the provider crossed two callers' contexts.
    private func answerProblem<Value>(_ reply: Reply<Value>) -> String? {
        switch reply {
        case .value, .error: nil
        case .unreadable(let reason): reason
        case .failed(let error): error.reason
        }
    }

    // MARK: delivery and survival

    func replyOnceRow(unexpected: Int) -> ConformanceResult {
        let name = "reply-once"
        guard unexpected == 0 else {
            return fail(
                name,
                "\(unexpected) replies matched no waiting call (delivered twice, or after the call timed out); "
                    + "call the reply function exactly once per request"
            )
        }
        return pass(name, "every reply matched exactly one waiting call")
    }

    func noCrashRow() -> ConformanceResult {
        let (calls, lost) = log.snapshot
        guard let first = lost.first else { return pass("no-crash", "\(calls) calls; the provider stayed up") }
        return fail("no-crash", "the provider went down during \(lost.count) of \(calls) calls: \(first)")
    }

    // MARK: calls

    private func call<Payload: Encodable, Value: Decodable>(
        _ op: WireOperation,
        _ payload: Payload?,
        as type: Value.Type
    ) async -> Reply<Value> {
        let request: [UInt8]
        do {
            request = try encodeWireRequest(op, payload)
        } catch {
            return .unreadable("cannot encode the \(op.rawValue) request: \(error)")
        }
        let bytes: [UInt8]
        switch await send(request) {
        case .success(let reply): bytes = reply
        case .failure(let error): return .failed(error)
        }
        let decoder = JSONDecoder()
        if let failure = try? decoder.decode(ErrorReply.self, from: Data(bytes)) { return .error(failure.error) }
        do {
            return .value(try decoder.decode(Value.self, from: Data(bytes)))
        } catch {
            return .unreadable(
                "the \(op.rawValue) reply is not a \(Value.self) (\(describe(error))): \(preview(bytes))"
            )
        }
    }

    private func send(_ request: [UInt8]) async -> Result<[UInt8], ProviderCallError> {
        let outcome: Result<[UInt8], ProviderCallError>
        do {
            outcome = .success(try await provider.channel.call(request, timeout: settings.callTimeout))
        } catch {
            outcome = .failure(error)
        }
        log.record(outcome)
        return outcome
    }

    private func describeFailure<Value>(_ reply: Reply<Value>) -> String {
        switch reply {
        case .value: "answered"
        case .error(let error): "answered error '\(error.code.rawValue)': \(error.message)"
        case .unreadable(let reason): reason
        case .failed(let error): error.reason
        }
    }

    private func preview(_ bytes: [UInt8]) -> String {
        bytes.isEmpty ? "an empty reply" : String(decoding: bytes.prefix(120), as: UTF8.self)
    }

    private func milliseconds(_ duration: Duration) -> Int {
        let parts = duration.components
        return Int(parts.seconds) * 1000 + Int(parts.attoseconds / 1_000_000_000_000_000)
    }

    private func pass(_ name: String, _ detail: String) -> ConformanceResult {
        ConformanceResult(name: name, passed: true, detail: detail)
    }

    private func fail(_ name: String, _ detail: String) -> ConformanceResult {
        ConformanceResult(name: name, passed: false, detail: detail)
    }
}
