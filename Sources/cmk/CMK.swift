import CMKCore
import CMKHost
import Dispatch

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#else
    #error("cmk needs Glibc or Musl")
#endif

/// `cmk`: the thin command line. It parses arguments, asks CMKHost to find and run providers,
/// and prints; everything cloud-specific lives in the provider libraries.
@main
struct CMK {
    static let version = "0.1.0"

    /// Synchronous on purpose: the main thread waits for the work and then exits itself.
    ///
    /// An `async` main parks the main thread in `dispatch_main` and comes back to `exit` through a
    /// job on the main queue. A provider (or any library) that brings in Foundation, loaded with
    /// dlopen on a pool thread after that, binds the main queue to CoreFoundation's run loop, which
    /// no thread runs: the job never runs and cmk never exits (measured on Swift 6.3.1). Nothing in
    /// cmk runs on the main actor, so waiting here costs nothing and no library can take it away.
    static func main() {
        // A worker that exits before reading its request must not take cmk down with SIGPIPE.
        signal(SIGPIPE, SIG_IGN)
        // An Azure run waits on about 16 requests, each on a thread of its own; a malloc arena per
        // thread buys nothing for that and cost about 1.5 MB of the 30 MB budget (docs/benchmarks.md).
        limitMallocArenas(2)
        let arguments = Array(CommandLine.arguments.dropFirst())
        let environment = currentEnvironment()
        let finished = DispatchSemaphore(value: 0)
        let status = ExitStatusBox()
        // A provider loaded in process that calls exit() would otherwise end cmk with its status
        // (0 reads as "ready") and no report.
        atexit(exitGuard)
        startRun(arguments, environment: environment, status: status, finished: finished)
        finished.wait()
        cmkIsExiting = true
        exit(status.value.rawValue)  // exit, not _exit: it flushes what print buffered
    }

    static func run(_ arguments: [String], environment: [String: String]) async -> ExitStatus {
        let terminal = Terminal(environment: environment)
        guard let first = arguments.first else {
            terminal.out(Help.main)
            return .ready
        }
        let rest = arguments.dropFirst()
        let command: (any Command.Type)?
        switch first {
        case "-h", "--help": terminal.out(Help.main); return .ready
        case "--version": terminal.out(VersionText.text(version: version)); return .ready
        case GenerateCommand.name: return await GenerateCommand.run(rest, environment: environment, terminal: terminal)
        case "help": return HelpCommand.run(Array(rest), terminal: terminal)
        case IsolatedChannel.workerCommand:
            exitGuardAdvice = ""  // already isolated: the host reports these words as the worker's
            return await WorkerCommand.run(Array(rest))
        default: command = Commands.named(first)
        }
        guard let command else {
            let known = Commands.all.map { $0.name } + ["help"]
            let guess = Suggestion.closest(to: first, in: known).map { " (did you mean '\($0)'?)" } ?? ""
            let what = first.hasPrefix("-") ? "unknown option '\(first)'" : "unknown subcommand '\(first)'"
            return usageFailure(UsageError(what + guess), usage: Help.mainUsage, command: nil, terminal: terminal)
        }
        let parsed: Arguments
        do {
            parsed = try Arguments(
                rest,
                flags: command.flags.union(["help"]),
                options: command.options,
                acceptsProviderOptions: command.acceptsProviderOptions
            )
        } catch {
            return usageFailure(error, usage: command.usage, command: command.name, terminal: terminal)
        }
        if parsed.flags.contains("help") {
            terminal.out(HelpCommand.text(for: command, positionals: parsed.positionals))
            return .ready
        }
        do {
            return try await command.run(parsed, context: CommandContext(environment: environment, terminal: terminal))
        } catch let error as UsageError {
            return usageFailure(error, usage: error.usage ?? command.usage, command: command.name, terminal: terminal)
        } catch let error as ConfigError {
            terminal.err("Error: \(error)")
            return .usage
        } catch let error as SettingError {
            terminal.err("Error: \(error)")
            return .usage
        } catch let error as HTTPError where error.code == .overrideRefused || error.code == .invalidSetting {
            terminal.err("Error: \(error)")
            return .usage
        } catch {
            terminal.err("Error: \(error)")
            return .failure
        }
    }

    static func usageFailure(_ error: UsageError, usage: String, command: String?, terminal: Terminal) -> ExitStatus {
        terminal.err("Error: \(error.message)")
        terminal.err("Usage: \(usage)")
        terminal.err("  See '\(terminal.command) \(command.map { "\($0) " } ?? "")--help'.")
        return .usage
    }
}

/// Set just before cmk's own `exit`: any other exit is a provider's (or a library's) doing.
nonisolated(unsafe) private var cmkIsExiting = false

/// What the exit guard advises; a worker has nothing to advise, it is the isolation.
nonisolated(unsafe) private var exitGuardAdvice = " Run with --isolate to contain it."

/// Runs at every `exit`: one that is not cmk's own ends with status 1 and says so, instead of a
/// provider's status with no report.
private func exitGuard() {
    guard !cmkIsExiting else { return }
    let text =
        "Error: a provider exited before cmk printed its report (the process was ended from inside a provider "
        + "library); nothing was checked.\(exitGuardAdvice)\n"
    let message = Array(text.utf8)
    _ = message.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
    _exit(ExitStatus.failure.rawValue)
}

/// glibc's `mallopt(M_ARENA_MAX, n)`; <malloc.h> is not in the Glibc module, so found with dlsym.
private func limitMallocArenas(_ count: Int32) {
    typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
    let arenaMax: Int32 = -8  // M_ARENA_MAX in <malloc.h>
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }  // RTLD_DEFAULT
    _ = unsafeBitCast(symbol, to: Mallopt.self)(arenaMax, count)
}

/// Starts the run on this (the main) thread, where it goes on until its first real wait; an
/// off-cloud run never waits, so it needs no other thread at all (each hop to the pool and back
/// cost a thread and a cross-CPU wake-up of the start path). Nonisolated on purpose: a task that
/// inherited the main actor would come back to the main thread, which is blocked in `wait`.
nonisolated private func startRun(
    _ arguments: [String],
    environment: [String: String],
    status: ExitStatusBox,
    finished: DispatchSemaphore
) {
    Task.immediate {
        status.value = await CMK.run(arguments, environment: environment)
        finished.signal()
    }
}

/// Carries the exit status from the task to the waiting main thread.
private final class ExitStatusBox: @unchecked Sendable {
    // Unchecked: written once by the task before it signals, read by main only after the wait.
    var value: ExitStatus = .failure
}

/// What every subcommand gets.
struct CommandContext {
    var environment: [String: String]
    var terminal: Terminal

    /// Output format: `--output` beats `CMK_OUTPUT` beats the config file; text by default.
    ///
    /// A bad value is reported against where it came from: the flag (a usage error), the
    /// variable, or the config file's line.
    func outputFormat(_ arguments: Arguments, config: ConfigFile, allowed: [OutputFormat] = [.text, .json]) throws
        -> OutputFormat
    {
        // Only for a message: joined's first use costs the start path a runtime lookup.
        var names: String { allowed.map(\.rawValue).joined(separator: ", ") }
        func parse(_ raw: String) -> OutputFormat? {
            OutputFormat(rawValue: raw.lowercased()).flatMap { allowed.contains($0) ? $0 : nil }
        }
        if let raw = arguments.values["output"] {
            guard let format = parse(raw) else {
                let guess = Suggestion.closest(to: raw, in: allowed.map(\.rawValue)).map { " (did you mean \($0)?)" }
                throw UsageError("--output '\(raw)' is not one of: \(names)" + (guess ?? ""))
            }
            return format
        }
        if let raw = environment["CMK_OUTPUT"], !raw.isEmpty {
            guard let format = parse(raw) else { throw SettingError("CMK_OUTPUT=\(raw): the output format is one of \(names)") }
            return format
        }
        if let raw = config.values["output"] {
            guard let format = parse(raw) else {
                throw ConfigError(
                    path: config.path ?? "config",
                    line: config.lines["output"],
                    reason: "output = \(raw): the output format is one of \(names)"
                )
            }
            return format
        }
        return .text
    }

    /// The config file's path as hints should name it (it may not exist yet).
    var configPath: String {
        ConfigFile.defaultPath(environment: environment) ?? "~/.config/cmk/config"
    }

    /// Starts a session and reports every provider that could not be loaded, one line each.
    func startSession(_ arguments: Arguments, reportProblems: Bool = true) async throws -> Session {
        // A bad override or CA bundle is refused before any provider could act on it.
        let client = try HTTPClient(environment: environment)
        if let bundle = client.caBundle, let problem = HTTPClient.caBundleProblem(bundle) {
            throw HTTPError(.invalidSetting, "\(HTTPClient.caBundleVariable)=\(bundle): \(problem)")
        }
        // A shell left with an emulator's exports must never pass for a real run.
        if let origin = client.endpointOverride {
            terminal.err("Note: requests go to the loopback endpoint \(origin.originURL) (\(EndpointOverride.environmentVariable))")
        }
        let session = try await Session.start(
            environment: environment,
            isolateFlag: arguments.flags.contains("isolate")
        )
        guard reportProblems else { return session }
        for problem in session.catalog.problems {
            terminal.err("Warning: skipped \(problem.path): \(problem.reason)")
        }
        return session
    }
}

enum OutputFormat: String, CaseIterable {
    case text
    case json
    // ops (issue 11): `cmk status` only; renderers in Sources/cmk/Output/.
    case sarif
    case junit
    case openmetrics
}

extension OutputFormat {
    /// What `--output` takes for a subcommand: `status` also the CI and metrics formats (issue 11).
    static func accepted(by command: String) -> [OutputFormat] {
        command == StatusCommand.name ? allCases : [.text, .json]
    }
}

/// A subcommand: one per file under Commands/.
protocol Command {
    static var name: String { get }
    static var usage: String { get }
    static var help: String { get }
    static var flags: Set<String> { get }
    static var options: Set<String> { get }
    static var acceptsProviderOptions: Bool { get }
    static func run(_ arguments: Arguments, context: CommandContext) async throws -> ExitStatus
}

extension Command {
    static var acceptsProviderOptions: Bool { false }
}

enum Commands {
    /// Every subcommand, in the order help lists them.
    static var all: [any Command.Type] {
        // ops (issue 11): ConfirmCommand.
        [StatusCommand.self, DetectCommand.self, ProvidersCommand.self, TicketCommand.self, ConfirmCommand.self]
    }

    static func named(_ name: String) -> (any Command.Type)? { all.first { $0.name == name } }
}
