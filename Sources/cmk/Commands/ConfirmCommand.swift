import CMKCore
import CMKHost

/// `cmk confirm <check-id> --note TEXT` (issue 11): records that a manual step was done, so that
/// `cmk status` shows it as ok; `cmk confirm --undo <check-id>` withdraws it.
enum ConfirmCommand: Command {
    static let name = "confirm"
    static let usage =
        "cmk confirm <check-id> --note <text> [--target <name> --targets <file>] [--provider <name>]"
        + " [--<provider-option> <value>] | cmk confirm --undo <check-id> [--target <name>]"
    static let flags: Set<String> = ["undo", "probe", "isolate"]
    static let options: Set<String> = ["note", "target", "targets", "provider", "timeout"]
    static let acceptsProviderOptions = true

    static let help = """
        OVERVIEW: Record that a manual step of the CMK procedure was done (a contract, a ticket,
        the vendor's confirmation), so that 'cmk status' shows it as ok:
          ok  vendor-confirmation  confirmed by alice on 2026-12-03: ticket 12345

        Only checks in the manual state can be confirmed. The confirmation records who ($USER),
        when, the note, and the key the report is about: for another key (a new key identifier)
        the step shows as manual again, until it is confirmed for that key. Confirmations are kept
        in $XDG_STATE_HOME/cmk/confirmations.json (default ~/.local/state/cmk/), written atomically.

        USAGE: \(usage)

        OPTIONS:
          --note <text>          What shows it was done (a ticket number, a contract reference).
          --target <name>        A target of the targets file given with --targets.
          --targets <file>       The targets file (as for 'cmk status --targets').
          --undo                 Withdraw the confirmation of <check-id> (of --target if given).
          --provider <name>      Provider to use; else the detected one (as for 'cmk status').
          --<option> <value>     A provider's own option, e.g. --key-uri <URI> for Azure.
          -h, --help             Show help information.

        EXIT STATUS:
          0 recorded or withdrawn; 1 nothing to withdraw, or the provider failed; 3 no platform;
          64 usage error: not a manual check (the error lists those that are), no --note.

        EXAMPLES:
          cmk confirm vendor-confirmation --note "ticket 12345" --key-uri https://contoso-cmk.vault.azure.net/keys/cmk-key
          cmk confirm entitlement --target prod-eu --targets targets.ini --note "contract C-881"
          cmk confirm --undo vendor-confirmation
        """

    static func run(_ arguments: Arguments, context: CommandContext) async throws -> ExitStatus {
        guard arguments.positionals.count == 1 else {
            throw UsageError(
                arguments.positionals.isEmpty
                    ? "which check? e.g. cmk confirm vendor-confirmation --note \"ticket 12345\""
                    : "unexpected argument '\(arguments.positionals[1])'"
            )
        }
        let check = arguments.positionals[0]
        if let target = arguments.values["target"], !TargetsFile.isValidName(target) {
            throw UsageError("'\(target)' is not a target name")
        }
        if arguments.flags.contains("undo") {
            guard arguments.values["note"] == nil else { throw UsageError("--undo takes no --note") }
            return try undo(check, target: arguments.values["target"], context: context)
        }
        guard let rawNote = arguments.values["note"] else {
            throw UsageError("--note is required: what shows the step was done (e.g. --note \"ticket 12345\")")
        }
        let note = rawNote.split(whereSeparator: \.isNewline).joined(separator: " ").trimmingWhitespace()
        guard !note.isEmpty, note.count <= 500 else { throw UsageError("--note takes 1 to 500 characters") }

        let deadline = try RunDeadline(arguments)
        let session = try await context.startSession(arguments)
        let target = arguments.values["target"]
        let selected: SelectedProvider
        if let target {
            guard let path = arguments.values["targets"] else {
                throw UsageError("--target needs the targets file: --targets <file>")
            }
            guard arguments.values["provider"] == nil else {
                throw UsageError("--provider does not go with --target: the targets file names the provider")
            }
            let file: TargetsFile
            do {
                file = try TargetsFile.load(path)
            } catch {
                context.terminal.err(
                    "Error: targets file \(error.line.map { "\(error.path):\($0)" } ?? error.path): \(error.reason)"
                )
                return .usage
            }
            guard let entry = file.targets.first(where: { $0.name == target }) else {
                throw UsageError(
                    "\(path) has no target '\(target)'; its targets: \(file.targets.map(\.name).joined(separator: ", "))"
                )
            }
            guard
                case .selected(let found, _, let detected, _) = await session.select(flag: entry.provider, probe: false)
            else {
                context.terminal.err("Error: provider '\(entry.provider)' (from \(path)) is not installed.")
                return .failure
            }
            let declared: [ProviderOption]
            do {
                declared = try await session.options(of: found, timeout: deadline.forPhase(max: .seconds(5)))
            } catch {
                throw CommandFailure("provider '\(found.name)' failed: \(error.reason)")
            }
            let flags = arguments.providerOptions.merging(entry.options) { _, own in own }
            selected = SelectedProvider(
                provider: found,
                source: SelectionSource(.config, "provider = \(found.name) in \(path) [target \(target)]"),
                detection: detected,
                options: session.resolveOptions(declared, flags: flags, provider: found.name),
                optionSources: [:]
            )
        } else {
            guard arguments.values["targets"] == nil else { throw UsageError("--targets goes with --target <name>") }
            let selection = try await ProviderSelection.select(
                arguments,
                command: Self.self,
                session: session,
                context: context,
                format: .text,
                timeout: deadline.forPhase(max: .seconds(5))
            )
            switch selection {
            case .selected(let value): selected = value
            case .exit(let status): return status
            }
        }
        let provider = selected.provider
        // The provider's own report says which steps are manual, and which key it is about.
        let outcome = await StatusRun.once(
            selected,
            target: target,
            deadline: deadline,
            context: context,
            confirmations: []
        )
        guard let document = outcome.document else {
            context.terminal.err("Error: \(outcome.failure ?? "no report")")
            return outcome.failureExit
        }
        let manual = document.checks.filter { $0.state == .manual }.map(\.id)
        let listed = manual.isEmpty ? "none is manual now" : "the manual ones: \(manual.joined(separator: ", "))"
        guard let found = document.checks.first(where: { $0.id == check }) else {
            throw UsageError("provider '\(provider.name)' has no check '\(check)'; \(listed)")
        }
        guard found.state == .manual else {
            throw UsageError(
                "'\(check)' is \(found.state.rawValue), not manual: only manual steps can be confirmed (cmk checks "
                    + "the others itself); \(listed)"
            )
        }
        let confirmation = Confirmation(
            provider: provider.name,
            target: target,
            check: check,
            key: document.key ?? "",
            by: ConfirmationStore.currentUser(environment: context.environment),
            at: ConfirmationStore.timestamp(),
            note: note
        )
        do {
            try ConfirmationStore.update(environment: context.environment) { (confirmations: inout [Confirmation]) in
                confirmations.removeAll { $0.matches(confirmation) }
                confirmations.append(confirmation)
            }
        } catch {
            context.terminal.err("Error: \(error)")
            return .failure
        }
        context.terminal.out(
            "Confirmed \(check)\(target.map { " for target \($0)" } ?? "")"
                + (document.key.map { " (key \($0))" } ?? "")
                + ": by \(confirmation.by) at \(confirmation.at): \(note)"
        )
        context.terminal.out("'cmk status' now shows it as ok; 'cmk confirm --undo \(check)' withdraws it.")
        return .ready
    }

    static func undo(_ check: String, target: String?, context: CommandContext) throws -> ExitStatus {
        let removed: [Confirmation]
        do {
            removed = try ConfirmationStore.update(environment: context.environment) {
                (confirmations: inout [Confirmation]) -> [Confirmation] in
                let matching = confirmations.filter { $0.check == check && $0.target == target }
                confirmations.removeAll { $0.check == check && $0.target == target }
                return matching
            }
        } catch {
            context.terminal.err("Error: \(error)")
            return .failure
        }
        guard !removed.isEmpty else {
            context.terminal.err(
                "Error: no confirmation of '\(check)'\(target.map { " for target \($0)" } ?? "") is recorded"
            )
            return .failure
        }
        for confirmation in removed {
            context.terminal.out(
                "Withdrew the confirmation of \(check)\(target.map { " for target \($0)" } ?? "") by \(confirmation.by) "
                    + "on \(confirmation.day) (\(confirmation.note))"
            )
        }
        return .ready
    }
}

extension Confirmation {
    /// Same provider, target and check: a new confirmation replaces the old one (for any key).
    func matches(_ other: Confirmation) -> Bool {
        provider == other.provider && target == other.target && check == other.check
    }
}
