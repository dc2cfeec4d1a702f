package import CMKCore
import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#else
    #error("cmk needs Glibc or Musl")
#endif

/// That a person did a manual step of the procedure (`cmk confirm`): who, when, the note, and
/// the key it was done for. A new key means the step must be done, and confirmed, again.
package struct Confirmation: Codable, Sendable, Equatable {
    package var provider: String
    /// The target's name in a targets file; nil for a plain `cmk status`.
    package var target: String?
    package var check: String
    /// ``StatusReport/key`` when the step was confirmed ("" when the provider names no key).
    package var key: String
    package var by: String
    /// ISO 8601, UTC (`2026-12-03T10:11:12Z`).
    package var at: String
    package var note: String

    package init(
        provider: String,
        target: String?,
        check: String,
        key: String,
        by: String,
        at: String,
        note: String
    ) {
        self.provider = provider
        self.target = target
        self.check = check
        self.key = key
        self.by = by
        self.at = at
        self.note = note
    }

    /// `2026-12-03`
    package var day: String { String(at.prefix(10)) }

    func matches(provider: String, target: String?, check: String) -> Bool {
        self.provider == provider && self.target == target && self.check == check
    }
}

/// The state file of confirmed manual steps: `$XDG_STATE_HOME/cmk/confirmations.json`
/// (default `~/.local/state/cmk/confirmations.json`).
///
/// Written atomically: a new file in the same directory (mode 0600, made with O_EXCL), flushed
/// with fsync, then renamed over the old one, so a reader sees the old file or the new one and
/// never half of either. Updates hold an exclusive `flock` on `confirmations.lock` beside it, so
/// two `cmk confirm` at once both land. The directory is made 0700.
package enum ConfirmationStore {
    package static let fileName = "confirmations.json"

    private struct File: Codable {
        var version = 1
        var confirmations: [Confirmation]
    }

    /// The state directory for an environment, nil when neither XDG_STATE_HOME nor HOME says.
    package static func directory(environment: [String: String]) -> String? {
        // The XDG base directory spec: a relative path is invalid and ignored.
        if let xdg = environment["XDG_STATE_HOME"], xdg.hasPrefix("/") { return "\(xdg)/cmk" }
        if let home = environment["HOME"], !home.isEmpty { return "\(home)/.local/state/cmk" }
        return nil
    }

    package static func path(environment: [String: String]) -> String? {
        directory(environment: environment).map { "\($0)/\(fileName)" }
    }

    /// Every confirmation recorded; none when there is no file.
    package static func load(environment: [String: String]) throws(StateError) -> [Confirmation] {
        guard let path = path(environment: environment) else { return [] }
        return try read(path)
    }

    /// Reads, changes and writes the file under the lock; returns what `change` returns.
    package static func update<Value>(
        environment: [String: String],
        _ change: (inout [Confirmation]) throws(StateError) -> Value
    ) throws(StateError) -> Value {
        guard let directory = directory(environment: environment) else {
            throw StateError(path: "the state directory", reason: "set XDG_STATE_HOME or HOME")
        }
        try makeDirectory(directory)
        let lockPath = "\(directory)/confirmations.lock"
        let lock = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard lock >= 0 else { throw StateError(path: lockPath, reason: "cannot be opened: \(errnoText())") }
        defer { close(lock) }
        guard flock(lock, LOCK_EX) == 0 else {
            throw StateError(path: lockPath, reason: "cannot be locked: \(errnoText())")
        }
        let path = "\(directory)/\(fileName)"
        var confirmations = try read(path)
        let value = try change(&confirmations)
        try write(File(confirmations: confirmations), to: path, directory: directory)
        return value
    }

    /// The checks with each confirmed manual step shown as `ok`, the confirmation in its evidence.
    ///
    /// Only a `manual` check is ever changed, and only by a confirmation of the same provider,
    /// target and check made for the same key; one made for another key is named in the evidence
    /// and the step stays `manual`.
    package static func apply(
        _ confirmations: [Confirmation],
        to checks: [Check],
        provider: String,
        target: String?,
        key: String?
    ) -> [Check] {
        guard !confirmations.isEmpty else { return checks }
        let key = key ?? ""
        return checks.map { check in
            guard check.state == .manual else { return check }
            let found = confirmations.filter { $0.matches(provider: provider, target: target, check: check.id) }
            var changed = check
            if let confirmation = found.last(where: { $0.key == key }) {
                changed.state = .ok
                changed.summary = "confirmed by \(confirmation.by) on \(confirmation.day): \(confirmation.note)"
                changed.remediation = nil
                changed.evidence =
                    (check.evidence ?? []) + [
                        "confirmed by \(confirmation.by) at \(confirmation.at)"
                            + (key.isEmpty ? "" : " for key \(key)") + ": \(confirmation.note)",
                        "the manual step: \(check.summary)",
                        "recorded with cmk confirm; 'cmk confirm --undo \(check.id)' withdraws it",
                    ]
            } else if let stale = found.last {
                changed.evidence =
                    (check.evidence ?? []) + [
                        "confirmed by \(stale.by) on \(stale.day) for key \(stale.key.isEmpty ? "(none)" : stale.key), "
                            + "not for this key (\(key.isEmpty ? "none" : key)): do the step for this key and confirm again"
                    ]
            }
            return changed
        }
    }

    /// Who is confirming: `$USER`, else the name of the real user id.
    package static func currentUser(environment: [String: String]) -> String {
        if let user = environment["USER"], !user.isEmpty { return user }
        if let entry = getpwuid(getuid()), let name = entry.pointee.pw_name { return String(cString: name) }
        return "uid \(getuid())"
    }

    /// Now, as ISO 8601 UTC to the second.
    package static func timestamp() -> String {
        Date().formatted(.iso8601)
    }

    private static func read(_ path: String) throws(StateError) -> [Confirmation] {
        guard access(path, F_OK) == 0 else { return [] }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw StateError(path: path, reason: "cannot be read")
        }
        do {
            return try JSONDecoder().decode(File.self, from: data).confirmations
        } catch {
            throw StateError(path: path, reason: "is not a cmk state file (\(describe(error)))")
        }
    }

    private static func makeDirectory(_ directory: String) throws(StateError) {
        var partial = ""
        for component in directory.split(separator: "/") {
            partial += "/\(component)"
            if mkdir(partial, 0o700) != 0 && errno != EEXIST {
                throw StateError(path: partial, reason: "cannot be made: \(errnoText())")
            }
        }
    }

    private static func write(_ file: File, to path: String, directory: String) throws(StateError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let bytes: [UInt8]
        do {
            bytes = Array(try encoder.encode(file)) + [10]
        } catch {
            throw StateError(path: path, reason: "cannot be encoded: \(error)")
        }
        let temporary = "\(path).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw StateError(path: temporary, reason: "cannot be made: \(errnoText())") }
        var written = 0
        var failure: String?
        bytes.withUnsafeBytes { buffer in
            while written < buffer.count {
                let count = writeBytes(descriptor, buffer.baseAddress! + written, buffer.count - written)
                if count < 0 {
                    if errno == EINTR { continue }
                    failure = errnoText()
                    return
                }
                written += count
            }
        }
        if failure == nil, fsync(descriptor) != 0 { failure = errnoText() }
        close(descriptor)
        if failure == nil, rename(temporary, path) != 0 { failure = errnoText() }
        if let failure {
            unlink(temporary)
            throw StateError(path: path, reason: "cannot be written: \(failure)")
        }
        // The rename itself is durable once the directory is flushed.
        let handle = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if handle >= 0 {
            fsync(handle)
            close(handle)
        }
    }
}

/// The state file cannot be read or written.
package struct StateError: Error, Sendable, Equatable, CustomStringConvertible {
    package var path: String
    package var reason: String

    package var description: String { "state file \(path) \(reason)" }
}

/// write(2), named apart from ``ConfirmationStore``'s own `write`.
private func writeBytes(_ descriptor: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
    write(descriptor, bytes, count)
}
