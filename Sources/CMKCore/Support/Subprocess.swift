#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#else
    #error("cmk's subprocess runner needs Glibc or Musl")
#endif

/// Runs a program with `posix_spawn`, captures its output, and kills it at a deadline.
///
/// For providers that call a cloud's CLI (`az`) and for the host's isolated workers. Foundation's
/// `Process` would cost every `cmk` start the load of Foundation (providers are loaded on each
/// run), and a child can hang on a prompt or a slow network: the deadline is ours.
public enum Subprocess {
    public struct Output: Sendable {
        /// The exit status, or 128 + the signal that ended the process.
        public var status: Int32
        /// The signal that ended the process, if one did.
        public var signal: Int32?
        public var stdout: [UInt8]
        public var stderr: [UInt8]
    }

    /// The first executable named `name` in `PATH`, as a shell would find it.
    public static func find(_ name: String, path: String?) -> String? {
        for directory in (path ?? "").split(separator: ":") where !directory.isEmpty {
            let candidate = "\(directory)/\(name)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }

    /// Runs `executable` (a path) with `input` on its standard input, until it exits or `deadline`.
    public static func run(
        _ executable: String,
        _ arguments: [String],
        environment: [String: String],
        input: [UInt8] = [],
        deadline: ContinuousClock.Instant
    ) async throws(SubprocessError) -> Output {
        let result = await runOnOwnThread {
            Result { () throws(SubprocessError) in
                try runBlocking(executable, arguments, environment: environment, input: input, deadline: deadline)
            }
        }
        return try result.get()
    }

    private static func runBlocking(
        _ executable: String,
        _ arguments: [String],
        environment: [String: String],
        input: [UInt8],
        deadline: ContinuousClock.Instant
    ) throws(SubprocessError) -> Output {
        let inPipe = try makePipe()
        let outPipe: [Int32]
        let errPipe: [Int32]
        do {
            outPipe = try makePipe()
        } catch {
            inPipe.forEach { _ = close($0) }
            throw error
        }
        do {
            errPipe = try makePipe()
        } catch {
            (inPipe + outPipe).forEach { _ = close($0) }
            throw error
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, inPipe[0], 0)
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // Its own process group, so that a timeout kills `az` and the Python it starts. The child
        // starts with no signal blocked and SIGPIPE at its default, whatever the calling thread
        // had (test runners block signals; cmk ignores SIGPIPE).
        posix_spawnattr_setflags(
            &attributes,
            Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)
        )
        posix_spawnattr_setpgroup(&attributes, 0)
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGPIPE)
        posix_spawnattr_setsigdefault(&attributes, &defaults)

        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        close(inPipe[0])
        close(outPipe[1])
        close(errPipe[1])
        var inputOpen = true
        defer {
            if inputOpen { close(inPipe[1]) }
            close(outPipe[0])
            close(errPipe[0])
        }
        // Writes never block: the input goes out as the child reads it, between reads of its output.
        // (A child that exits without reading raises SIGPIPE: the cmk host ignores that signal.)
        _ = fcntl(inPipe[1], F_SETFL, O_NONBLOCK)
        var written = 0
        if input.isEmpty {
            close(inPipe[1])
            inputOpen = false
        }
        guard spawned == 0 else {
            throw SubprocessError(.spawnFailed, "cannot start \(executable): \(String(cString: strerror(spawned)))")
        }
        var stdout: [UInt8] = []
        var stderr: [UInt8] = []
        var open = [true, true]
        var buffer = [UInt8](repeating: 0, count: 16384)
        while open[0] || open[1] {
            let left = deadline - .now
            guard left > .zero else {
                kill(-pid, SIGKILL)
                _ = reap(pid)
                throw SubprocessError(.timedOut, "\(executable) did not finish in time and was stopped")
            }
            let (seconds, attoseconds) = left.components
            let timeout = Int32(clamping: seconds * 1000 + attoseconds / 1_000_000_000_000_000 + 1)
            var entries = [
                pollfd(fd: open[0] ? outPipe[0] : -1, events: Int16(POLLIN), revents: 0),
                pollfd(fd: open[1] ? errPipe[0] : -1, events: Int16(POLLIN), revents: 0),
                pollfd(fd: inputOpen ? inPipe[1] : -1, events: Int16(POLLOUT), revents: 0),
            ]
            if poll(&entries, 3, timeout) < 0 && errno != EINTR {
                kill(-pid, SIGKILL)
                _ = reap(pid)
                throw SubprocessError(.spawnFailed, "poll failed while reading \(executable): \(errnoText())")
            }
            for index in 0..<2 where open[index] && entries[index].revents != 0 {
                let count = buffer.withUnsafeMutableBytes { read(entries[index].fd, $0.baseAddress, $0.count) }
                if count > 0 {
                    if index == 0 { stdout += buffer[0..<count] } else { stderr += buffer[0..<count] }
                } else if count == 0 || errno != EINTR {
                    open[index] = false
                }
            }
            if inputOpen && entries[2].revents != 0 {
                let count = input.withUnsafeBytes { write(inPipe[1], $0.baseAddress! + written, $0.count - written) }
                if count > 0 { written += count }
                // Done, or the child closed its input (EPIPE): either way, no more to send.
                if written == input.count || (count < 0 && errno != EAGAIN && errno != EINTR) {
                    close(inPipe[1])
                    inputOpen = false
                }
            }
        }
        let status = reap(pid)
        return Output(status: status, signal: status > 128 ? status - 128 : nil, stdout: stdout, stderr: stderr)
    }

    /// A pipe whose ends are closed on exec: the child gets only the copies dup2 puts on 1 and 2.
    private static func makePipe() throws(SubprocessError) -> [Int32] {
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else { throw SubprocessError(.spawnFailed, "pipe: \(errnoText())") }
        for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        return ends
    }

    /// Waits for the child; its exit status, or 128 + the signal that ended it.
    private static func reap(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }
}

/// Why a program could not be run to completion. Equality by code.
public struct SubprocessError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: Hashable, Sendable {
        fileprivate let name: String
        public static let spawnFailed = Code(name: "spawn-failed")
        public static let timedOut = Code(name: "timed-out")
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
