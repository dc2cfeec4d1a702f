internal import CMKSystem

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#else
    #error("cmk's subprocess runner needs Glibc or Musl")
#endif

/// Runs a program, captures its output, and ends it at a deadline.
///
/// For providers that call a cloud's CLI (`az`) and for the host's isolated workers. Foundation's
/// `Process` would cost every `cmk` start the load of Foundation (providers are loaded on each
/// run), and a child can hang on a prompt or a slow network: the deadline is ours.
///
/// What is waited for is the process, not the end of its output: a child that closes its
/// output and sleeps is stopped at the deadline, and one that exits while a background process
/// it started still holds the pipe is done as soon as it exits (what it wrote is in the pipe).
/// The child runs in a process group of its own, which is killed at the deadline; the kernel
/// sends it `stopSignal` if the calling process dies (`PR_SET_PDEATHSIG`). What neither reaches:
/// a descendant that left the group (`setsid`, `setpgid`) and outlives the child; a worker
/// handles that on its side (`WorkerLifetime`).
public enum Subprocess {
    public struct Output: Sendable {
        /// The exit status, or 128 + the signal that ended the process.
        public var status: Int32
        /// The signal that ended the process, if one did.
        public var signal: Int32?
        public var stdout: [UInt8]
        /// At most `stderrLimit` bytes: what follows is read and dropped.
        public var stderr: [UInt8]
    }

    /// How a child is ended at the deadline, or when cmk dies.
    public enum Stop: Sendable {
        /// SIGKILL to its process group.
        case kill
        /// SIGTERM to the child, which has `stopGrace` to clean up (a worker kills the processes
        /// its provider left), then SIGKILL to its group.
        case terminate

        var signal: Int32 { self == .kill ? SIGKILL : SIGTERM }
    }

    /// Standard output larger than this ends the child with `outputTooLarge` (a reply or a token
    /// is far smaller; an endless writer must not fill cmk's memory).
    public static let defaultOutputLimit = 16 << 20
    /// The standard error kept: enough for any message, the rest is drained and dropped.
    public static let stderrLimit = 64 << 10
    /// After a `stopSignal` other than SIGKILL, how long the child has to end before its group
    /// is killed.
    public static let stopGrace: Duration = .milliseconds(500)

    /// The first executable named `name` in `PATH`, as a shell would find it.
    public static func find(_ name: String, path: String?) -> String? {
        for directory in (path ?? "").split(separator: ":") where !directory.isEmpty {
            let candidate = "\(directory)/\(name)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }

    /// Runs `executable` (a path) with `input` on its standard input, until it exits or `deadline`.
    ///
    /// - `stop`: what the child gets at the deadline and, from the kernel, if this process dies.
    /// - `killGroupAtExit`: when the child exits, kill what is left of its process group (a worker's
    ///   leftovers; not for `az`, whose background telemetry is none of cmk's business).
    public static func run(
        _ executable: String,
        _ arguments: [String],
        environment: [String: String],
        input: [UInt8] = [],
        deadline: ContinuousClock.Instant,
        outputLimit: Int = defaultOutputLimit,
        stop: Stop = .kill,
        killGroupAtExit: Bool = false
    ) async throws(SubprocessError) -> Output {
        let request = Request(
            executable: executable,
            arguments: arguments,
            environment: environment,
            input: input,
            deadline: deadline,
            outputLimit: outputLimit,
            stopSignal: stop.signal,
            killGroupAtExit: killGroupAtExit
        )
        // Its own thread: the waiting blocks, and PR_SET_PDEATHSIG fires when the thread that
        // started the child ends, so that thread must live exactly as long as the child.
        let result = await runOnOwnThread {
            Result { () throws(SubprocessError) in try request.runBlocking() }
        }
        return try result.get()
    }

    private struct Request: Sendable {
        var executable: String
        var arguments: [String]
        var environment: [String: String]
        var input: [UInt8]
        var deadline: ContinuousClock.Instant
        var outputLimit: Int
        var stopSignal: Int32
        var killGroupAtExit: Bool

        func runBlocking() throws(SubprocessError) -> Output {
            // A child that exits without reading its input makes our write fail with EPIPE; the
            // SIGPIPE it raises is for this thread, blocked here, and never delivered.
            var pipeSignal = sigset_t()
            sigemptyset(&pipeSignal)
            sigaddset(&pipeSignal, SIGPIPE)
            pthread_sigmask(SIG_BLOCK, &pipeSignal, nil)

            let inPipe = try Pipe()
            let outPipe = try Pipe()
            let errPipe = try Pipe()
            let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
            let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
            defer {
                argv.forEach { free($0) }
                envp.forEach { free($0) }
            }
            var pid: pid_t = 0
            let spawned = cmk_spawn(
                executable,
                argv,
                envp,
                inPipe.read,
                outPipe.write,
                errPipe.write,
                stopSignal,
                &pid
            )
            inPipe.closeRead()
            outPipe.closeWrite()
            errPipe.closeWrite()
            guard spawned == 0 else {
                throw SubprocessError(.spawnFailed, "cannot start \(executable): \(String(cString: strerror(spawned)))")
            }
            var child = Child(pid: pid)
            defer { child.closeDescriptor() }
            // Reads never block: after the child exits, the pipes are drained without waiting for
            // an end of file that a background process may hold back forever.
            _ = fcntl(outPipe.read, F_SETFL, O_NONBLOCK)
            _ = fcntl(errPipe.read, F_SETFL, O_NONBLOCK)
            _ = fcntl(inPipe.write, F_SETFL, O_NONBLOCK)
            if input.isEmpty { inPipe.closeWrite() }

            var stdout = Stream(descriptor: outPipe.read, keep: outputLimit + 1)
            var stderr = Stream(descriptor: errPipe.read, keep: stderrLimit)
            var written = 0
            while !child.hasExited() {
                let left = deadline - .now
                guard left > .zero else {
                    child.stop(with: stopSignal)
                    throw SubprocessError(.timedOut, "\(executable) did not finish in time and was stopped")
                }
                var entries = [
                    pollfd(fd: stdout.open ? stdout.descriptor : -1, events: Int16(POLLIN), revents: 0),
                    pollfd(fd: stderr.open ? stderr.descriptor : -1, events: Int16(POLLIN), revents: 0),
                    pollfd(fd: inPipe.write, events: Int16(POLLOUT), revents: 0),
                    pollfd(fd: child.descriptor, events: Int16(POLLIN), revents: 0),
                ]
                // Without a pidfd (a kernel before 5.3), look at the child every 10 ms.
                let cap: Duration = child.descriptor >= 0 ? left : min(left, .milliseconds(10))
                if poll(&entries, 4, milliseconds(cap)) < 0 && errno != EINTR {
                    child.stop(with: SIGKILL)
                    throw SubprocessError(.spawnFailed, "poll failed while reading \(executable): \(errnoText())")
                }
                if entries[0].revents != 0 { stdout.readAvailable(upTo: 1) }
                if entries[1].revents != 0 { stderr.readAvailable(upTo: 1) }
                if stdout.bytes.count > outputLimit {
                    child.stop(with: stopSignal)
                    throw SubprocessError(
                        .outputTooLarge,
                        "\(executable) wrote more than \(outputLimit >> 20) MiB to its standard output and was stopped"
                    )
                }
                if inPipe.write >= 0 && entries[2].revents != 0 {
                    let count = input.withUnsafeBytes {
                        write(inPipe.write, $0.baseAddress! + written, $0.count - written)
                    }
                    if count > 0 { written += count }
                    // Done, or the child closed its input (EPIPE): either way, no more to send.
                    if written == input.count || (count < 0 && errno != EAGAIN && errno != EINTR) {
                        inPipe.closeWrite()
                    }
                }
            }
            // The child has exited: everything it wrote is in the pipes, whose capacity bounds it.
            // Whatever a process it left behind writes meanwhile is not waited for.
            stdout.readAvailable(upTo: pipeCapacity(stdout.descriptor) / 65536 + 1)
            stderr.readAvailable(upTo: pipeCapacity(stderr.descriptor) / 65536 + 1)
            if killGroupAtExit { child.signalGroup(SIGKILL) }
            let (status, signal) = child.reap()
            guard stdout.bytes.count <= outputLimit else {
                throw SubprocessError(
                    .outputTooLarge,
                    "\(executable) wrote more than \(outputLimit >> 20) MiB to its standard output"
                )
            }
            return Output(status: status, signal: signal, stdout: stdout.bytes, stderr: stderr.bytes)
        }
    }

    /// One output of the child: what was read, and whether its end of file was seen.
    private struct Stream {
        let descriptor: Int32
        /// Bytes beyond this are read and dropped.
        let keep: Int
        var bytes: [UInt8] = []
        var open = true

        init(descriptor: Int32, keep: Int) {
            self.descriptor = descriptor
            self.keep = keep
        }

        /// Reads what is there now, at most `chunks` reads of 64 KiB, never waiting.
        mutating func readAvailable(upTo chunks: Int) {
            var buffer = [UInt8](repeating: 0, count: 65536)
            for _ in 0..<chunks where open {
                let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
                if count > 0 {
                    if bytes.count < keep { bytes += buffer[0..<min(count, keep - bytes.count)] }
                } else if count == 0 {
                    open = false
                } else if errno == EINTR {
                    continue
                } else {
                    if errno != EAGAIN { open = false }
                    return
                }
            }
        }
    }

    /// The started child: its pid and, where the kernel has them, a pidfd to poll for its exit.
    private struct Child {
        let pid: pid_t
        private(set) var descriptor: Int32
        private var exited = false

        init(pid: pid_t) {
            self.pid = pid
            descriptor = cmk_pidfd_open(pid)
        }

        /// Whether it has exited (it is not reaped yet, so its pid and group id stay its own).
        mutating func hasExited() -> Bool {
            // -1 (ECHILD): someone else reaped it (a worker reaping its orphans): it has ended too.
            if !exited { exited = cmk_child_has_exited(pid) != 0 }
            return exited
        }

        /// `signal` to the child, then (if that was not SIGKILL) up to `stopGrace` for it to end,
        /// then SIGKILL to its whole group; reaped.
        mutating func stop(with signal: Int32) {
            if signal != SIGKILL {
                kill(pid, signal)
                let until = ContinuousClock.now + Subprocess.stopGrace
                while !hasExited() && ContinuousClock.now < until {
                    var entry = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
                    _ = poll(&entry, 1, descriptor >= 0 ? Subprocess.milliseconds(until - .now) : 5)
                }
            }
            signalGroup(SIGKILL)
            _ = reap()
        }

        /// Signals the group and the child itself (which may have left its group). Called only
        /// before `reap`: until then the group id cannot name anyone else.
        func signalGroup(_ signal: Int32) {
            kill(-pid, signal)
            kill(pid, signal)
        }

        /// Waits for the child; its exit status (or 128 + the signal) and the signal, if one ended it.
        func reap() -> (status: Int32, signal: Int32?) {
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            let signal = status & 0x7f
            return signal == 0 ? ((status >> 8) & 0xff, nil) : (128 + signal, signal)
        }

        mutating func closeDescriptor() {
            if descriptor >= 0 { Subprocess.closeFile(descriptor) }
            descriptor = -1
        }
    }

    /// A pipe whose ends are closed on exec and closed here once each, at the latest when it goes away.
    private final class Pipe {
        private(set) var read: Int32
        private(set) var write: Int32

        init() throws(SubprocessError) {
            var ends: [Int32] = [-1, -1]
            let failed = cmk_pipe(&ends)
            guard failed == 0 else {
                throw SubprocessError(.spawnFailed, "pipe: \(String(cString: strerror(failed)))")
            }
            (read, write) = (ends[0], ends[1])
        }

        func closeRead() {
            if read >= 0 { close(read) }
            read = -1
        }

        func closeWrite() {
            if write >= 0 { close(write) }
            write = -1
        }

        deinit {
            closeRead()
            closeWrite()
        }
    }

    private static func closeFile(_ descriptor: Int32) { close(descriptor) }

    /// How many bytes the pipe holds at most (F_GETPIPE_SZ); 1 MiB, the usual maximum, if unknown.
    private static func pipeCapacity(_ descriptor: Int32) -> Int {
        let getPipeSize: Int32 = 1032  // F_GETPIPE_SZ, Linux only: not in the Glibc module
        let size = fcntl(descriptor, getPipeSize)
        return size > 0 ? Int(size) : 1 << 20
    }

    /// A poll(2) timeout: whole milliseconds, rounded up, at least 0.
    private static func milliseconds(_ duration: Duration) -> Int32 {
        let (seconds, attoseconds) = duration.components
        guard seconds >= 0, attoseconds >= 0 else { return 0 }
        return Int32(clamping: seconds * 1000 + attoseconds / 1_000_000_000_000_000 + 1)
    }
}

/// Why a program could not be run to completion. Equality by code.
public struct SubprocessError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: Hashable, Sendable {
        fileprivate let name: String
        public static let spawnFailed = Code(name: "spawn-failed")
        public static let timedOut = Code(name: "timed-out")
        /// Its standard output went past the limit; it was stopped.
        public static let outputTooLarge = Code(name: "output-too-large")
    }

    public let code: Code
    public let reason: String

    public init(_ code: Code, _ reason: String) {
        self.code = code
        self.reason = reason
    }

    public var description: String { reason }
    public static func == (lhs: SubprocessError, rhs: SubprocessError) -> Bool { lhs.code == rhs.code }
}
