import CMKCore
import CMKHost
import FoundationEssentials
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#else
    #error("cmk needs Glibc or Musl")
#endif

/// `cmk status --watch [--interval 60]` (issue 11): checks again and again, and prints a line only
/// when a check changes state.
///
/// - Each round starts `--interval` seconds after the previous one started, or `--failing-interval`
///   (10 s, as Kubernetes polls a KMS plugin's health) while a check needs action or is unknown;
///   a round that takes longer is followed at once by the next, never overlapped by it.
/// - The providers stay loaded, so their sign-ins are reused until the tokens expire.
/// - The first round prints every check; later rounds print the checks whose state changed:
///   `2026-12-03T10:11:12Z  key-enabled  action-required  The key is disabled: …`
///   (`--output json`: one JSON object per line, with `time`, `target`, `check`, `state`,
///   `previous`, `summary`).
/// - SIGINT or SIGTERM stops it: a round under way is abandoned, and the exit status is the last
///   finished round's (under `--fail-on`), 3 when none finished.
enum StatusWatch {
    static let defaultInterval = 60.0
    static let defaultFailingInterval = 10.0

    /// `--interval` and `--failing-interval` belong to `--watch`; their values are seconds.
    static func checkArguments(_ arguments: Arguments) throws(UsageError) {
        for name in ["interval", "failing-interval"] where arguments.values[name] != nil {
            guard arguments.flags.contains("watch") else { throw UsageError("--\(name) goes with --watch") }
            _ = try seconds(arguments, name, default: 0)
        }
    }

    /// Rounds print lines, so only the line formats go with --watch.
    static func checkFormat(_ format: OutputFormat) throws(UsageError) {
        guard format == .text || format == .json else {
            throw UsageError("--watch prints a line per change: --output text or json, not \(format.rawValue)")
        }
    }

    static func seconds(_ arguments: Arguments, _ name: String, default value: Double) throws(UsageError) -> Double {
        guard let raw = arguments.values[name] else { return value }
        guard let seconds = Double(raw), seconds >= 0.05, seconds <= 86_400 else {
            throw UsageError("--\(name) takes a number of seconds between 0.05 and 86400, not '\(raw)'")
        }
        return seconds
    }

    private struct Seen: Equatable {
        var state: String
        var summary: String
    }

    static func run(
        _ arguments: Arguments,
        format: OutputFormat,
        failOn: FailOn,
        terminal: Terminal,
        round: @escaping @Sendable () async -> [TargetOutcome]
    ) async -> ExitStatus {
        let interval = (try? seconds(arguments, "interval", default: defaultInterval)) ?? defaultInterval
        let failing = min(
            interval,
            (try? seconds(arguments, "failing-interval", default: defaultFailingInterval)) ?? defaultFailingInterval
        )
        let stop = StopSignals.shared
        stop.install()
        var seen: [String: Seen] = [:]
        var last: ExitStatus?
        var lastTime = ""
        while true {
            let started = ContinuousClock.now
            guard let outcomes = await stop.race(Task { await round() }) else { break }
            let time = Date().formatted(.iso8601)
            var current: [String: Seen] = [:]
            let width = outcomes.flatMap { $0.checks.map(\.id.count) }.max() ?? 0
            let targetWidth = outcomes.compactMap { $0.target?.count }.max() ?? 0
            func emit(_ target: String?, _ check: String, _ state: String, _ previous: String?, _ summary: String) {
                let line = Change(
                    time: time,
                    target: target,
                    check: check,
                    state: state,
                    previous: previous,
                    summary: summary
                )
                Self.emit(line, width: width, targetWidth: targetWidth, format: format, terminal: terminal)
            }
            for outcome in outcomes {
                let prefix = outcome.target.map { "\($0)\u{0}" } ?? ""
                if let failure = outcome.failure {
                    // A run that gave no report: one line when it starts failing (or fails otherwise).
                    let key = prefix + "\u{0}status"
                    current[key] = Seen(state: "error", summary: failure)
                    if seen[key] != current[key] {
                        emit(outcome.target, "status", "error", seen[key]?.state, failure)
                    }
                    // What the checks were stays known, so their next state is compared with it.
                    for (oldKey, value) in seen where oldKey.hasPrefix(prefix) && oldKey != key {
                        current[oldKey] = value
                    }
                    continue
                }
                for check in outcome.checks {
                    let key = prefix + check.id
                    let now = Seen(state: check.state.rawValue, summary: check.summary)
                    current[key] = now
                    if seen[key]?.state != now.state {
                        emit(outcome.target, check.id, now.state, seen[key]?.state, now.summary)
                    }
                }
            }
            seen = current
            last = FailOn.worst(outcomes.map { $0.exit(failOn) })
            lastTime = time
            // Every output stream, so that a line is seen when it happens, even through a pipe; a
            // reader that went away (`| head`) ends the watch (SIGPIPE is ignored: the write fails).
            guard fflush(nil) == 0, !readerGone() else { return last ?? .incomplete }
            let wait = outcomes.contains { $0.isFailing } ? failing : interval
            let next = started + .milliseconds(Int64(wait * 1000))
            guard await stop.race(Task { try? await Task.sleep(until: next, clock: .continuous) }) != nil else {
                break
            }
        }
        let status = last ?? .incomplete
        let name = stop.received == SIGINT ? "SIGINT" : "SIGTERM"
        terminal.err(
            "Stopped by \(name): exit \(status.rawValue)"
                + (last == nil ? " (no round finished)" : " (the state at \(lastTime))")
        )
        return status
    }

    private static func emit(
        _ change: Change,
        width: Int,
        targetWidth: Int,
        format: OutputFormat,
        terminal: Terminal
    ) {
        if format == .json {
            terminal.out(compactJSON(change))
            return
        }
        let label = StatusText.label(CheckState(rawValue: change.state) ?? .unknown)
        let painted = terminal.paint(change.state.padding(15), change.state == "error" ? .red : label.style)
        let target = change.target.map { "\($0.padding(targetWidth))  " } ?? ""
        terminal.out("\(change.time)  \(target)\(change.check.padding(width))  \(painted)  \(change.summary)")
    }

    /// Whether stdout is a pipe whose reader went away (poll reports POLLERR on its write end),
    /// even when this round had nothing to print.
    private static func readerGone() -> Bool {
        var entry = pollfd(fd: STDOUT_FILENO, events: 0, revents: 0)
        return poll(&entry, 1, 0) == 1 && entry.revents & Int16(POLLERR) != 0
    }

    private struct Change: Encodable {
        var time: String
        var target: String?
        var check: String
        var state: String
        var previous: String?
        var summary: String
    }

    private static func compactJSON(_ value: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }
}

/// SIGINT and SIGTERM, turned into something the watch loop can wait on beside its work.
///
/// The handler only writes the signal's number to a pipe; a thread of its own reads it. That
/// thread unblocks both signals, so they arrive even when cmk was started with them blocked (test
/// runners start children with their threads' signal masks).
final class StopSignals: Sendable {
    static let shared = StopSignals()

    private struct State {
        var installed = false
        var signal: Int32?
        var waiters: [Int: @Sendable () -> Void] = [:]
        var next = 0
    }

    private let state = Mutex(State())

    /// The signal that stopped the watch, if one came.
    var received: Int32? { state.withLock { $0.signal } }

    func install() {
        let first = state.withLock { state in
            defer { state.installed = true }
            return !state.installed
        }
        guard first else { return }
        var descriptors: [Int32] = [-1, -1]
        guard pipe(&descriptors) == 0 else { return }
        stopSignalPipe = descriptors[1]
        stopSignalReader = descriptors[0]
        signal(SIGINT, stopSignalHandler)
        signal(SIGTERM, stopSignalHandler)
        var thread = pthread_t()
        if pthread_create(
            &thread,
            nil,
            { _ in
                var signals = sigset_t()
                sigemptyset(&signals)
                sigaddset(&signals, SIGINT)
                sigaddset(&signals, SIGTERM)
                pthread_sigmask(SIG_UNBLOCK, &signals, nil)
                var byte: UInt8 = 0
                while true {
                    let count = read(stopSignalReader, &byte, 1)
                    if count == 1 {
                        StopSignals.shared.fire(Int32(byte))
                    } else if count < 0 && errno == EINTR {
                        continue
                    } else {
                        return nil
                    }
                }
            },
            nil
        ) == 0 {
            pthread_detach(thread)
        }
    }

    func fire(_ signal: Int32) {
        let waiters = state.withLock { state -> [@Sendable () -> Void] in
            guard state.signal == nil else { return [] }
            state.signal = signal
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter() }
    }

    /// The value of `task`, or nil when a stop signal comes first.
    func race<Value: Sendable>(_ task: Task<Value, Never>) async -> Value? {
        await withCheckedContinuation { (continuation: CheckedContinuation<Value?, Never>) in
            let once = ResumeOnce(continuation)
            let id = state.withLock { state -> Int? in
                guard state.signal == nil else { return nil }
                state.next += 1
                state.waiters[state.next] = { once.resume(nil) }
                return state.next
            }
            guard let id else {
                once.resume(nil)
                return
            }
            Task {
                let value = await task.value
                once.resume(value)
                self.state.withLock { _ = $0.waiters.removeValue(forKey: id) }
            }
        }
    }
}

/// Resumes a continuation with the first value offered and drops the rest.
private final class ResumeOnce<Value: Sendable>: Sendable {
    private let continuation: Mutex<CheckedContinuation<Value, Never>?>
    init(_ continuation: CheckedContinuation<Value, Never>) { self.continuation = Mutex(continuation) }
    func resume(_ value: Value) {
        continuation.withLock { pending in
            pending?.resume(returning: value)
            pending = nil
        }
    }
}

// Written once by `install` before the handler is set, then only read (by the handler and the reader).
nonisolated(unsafe) private var stopSignalPipe: Int32 = -1
nonisolated(unsafe) private var stopSignalReader: Int32 = -1

/// Async-signal-safe: one write(2).
private let stopSignalHandler: @convention(c) (Int32) -> Void = { signal in
    var byte = UInt8(truncatingIfNeeded: signal)
    _ = write(stopSignalPipe, &byte, 1)
}
