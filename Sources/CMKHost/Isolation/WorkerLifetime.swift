import CMKCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#else
    #error("cmk's worker needs Glibc or Musl")
#endif

/// What a worker does so that nothing its provider starts outlives the worker.
///
/// The host starts each worker in a process group of its own and kills that group at the
/// deadline, and the kernel sends the worker SIGTERM if the host dies (PR_SET_PDEATHSIG, set at
/// spawn). That covers the worker itself and whatever stays in its group. A descendant that
/// leaves the group (`setsid`, `setpgid`) is not reached by a group kill, so the worker is a
/// child subreaper (PR_SET_CHILD_SUBREAPER): orphaned descendants re-parent to it instead of to
/// init, and it kills every descendant it finds before it exits, normally or on SIGTERM.
///
/// What this cannot cover: a worker killed outright (SIGKILL, or a crash of its provider) has no
/// chance to clean up; then the host's group kill reaches only the group, and a descendant that
/// left it is re-parented to init. A provider that ignores or blocks SIGTERM in every thread gets
/// the group kill after `Subprocess.stopGrace`, with the same limit. Only a PID namespace or a
/// cgroup would contain such a process, and both need privileges cmk does not ask for.
package enum WorkerLifetime {
    /// Call first, before the provider is loaded.
    package static func begin() {
        _ = ProcessControl.becomeSubreaper()
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else { return }
        for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        guard ProcessControl.writeOnSignal(SIGTERM, to: ends[1]) == 0 else { return }
        let wake = ends[0]
        // The handler only writes a byte; this thread does the rest, outside signal context.
        Thread.start {
            var byte: UInt8 = 0
            while read(wake, &byte, 1) < 0 && errno == EINTR {}
            killDescendants()
            _exit(128 + SIGTERM)
        }
    }

    /// Kills every process descended from this one, until none is left (or 50 rounds).
    ///
    /// Killing a parent re-parents its children to this subreaper, and a process may fork while
    /// the tree is read: each round reads the tree again and reaps the children that died.
    package static func killDescendants() {
        let me = getpid()
        for _ in 0..<50 {
            let family = descendants(of: me)
            reapChildren()
            if family.isEmpty { return }
            for pid in family { kill(pid, SIGKILL) }
            usleep(2000)
            reapChildren()
        }
    }

    /// The live descendants of `root`, read from /proc (zombies are already dead and skipped).
    static func descendants(of root: pid_t) -> [pid_t] {
        var children: [pid_t: [pid_t]] = [:]
        for name in listDirectory("/proc") ?? [] {
            guard let pid = pid_t(name), let (parent, state) = parentAndState(of: pid), state != "Z" else { continue }
            children[parent, default: []].append(pid)
        }
        var found: [pid_t] = []
        var queue = [root]
        while let next = queue.popLast() {
            for child in children[next] ?? [] where !found.contains(child) {
                found.append(child)
                queue.append(child)
            }
        }
        return found
    }

    /// Fields 3 and 4 of /proc/PID/stat, read after the last ')' (the name may hold anything).
    private static func parentAndState(of pid: pid_t) -> (pid_t, Character)? {
        let descriptor = open("/proc/\(pid)/stat", O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var buffer = [UInt8](repeating: 0, count: 1024)
        let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        guard count > 0, let end = buffer[0..<count].lastIndex(of: UInt8(ascii: ")")) else { return nil }
        let fields = buffer[(end + 1)..<count].split(separator: UInt8(ascii: " "))
        guard fields.count >= 2, let state = fields[0].first,
            let parent = pid_t(String(decoding: fields[1], as: UTF8.self))
        else { return nil }
        return (parent, Character(UnicodeScalar(state)))
    }

    /// Reaps every child that has ended, without waiting for the others.
    private static func reapChildren() {
        var status: Int32 = 0
        while waitpid(-1, &status, WNOHANG) > 0 {}
    }
}

/// A detached thread of its own, for work that blocks for as long as the process lives.
private enum Thread {
    static func start(_ body: @escaping @Sendable () -> Void) {
        let job = Unmanaged.passRetained(Job(body)).toOpaque()
        var thread = pthread_t()
        guard
            pthread_create(
                &thread,
                nil,
                { argument in
                    Unmanaged<Job>.fromOpaque(argument!).takeRetainedValue().body()
                    return nil
                },
                job
            ) == 0
        else {
            Unmanaged<Job>.fromOpaque(job).release()
            return
        }
        pthread_detach(thread)
    }

    private final class Job: Sendable {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }
}
