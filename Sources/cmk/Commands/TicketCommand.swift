import CMKCore
import CMKHost

/// `cmk ticket`: the text to paste into the vendor's CMK support ticket.
enum TicketCommand: Command {
    static let name = "ticket"
    static let usage =
        "cmk ticket [--provider <name>] [--timeout <seconds>] [--probe] [--isolate] [--<provider-option> <value>]"
    static let flags: Set<String> = ["probe", "isolate"]
    static let options: Set<String> = ["provider", "timeout"]
    static let acceptsProviderOptions = true

    static let help = """
        OVERVIEW: Print the text to paste into the vendor's support ticket that asks for CMK to be
        applied (on Azure: the key identifier URI, the vault and the tenant).

        USAGE: \(usage)

        OPTIONS:
          --provider <name>    Provider to use; else the detected one.
          --timeout <seconds>  Deadline for the whole run (default 30).
          --probe              Let detection ask instance metadata even without a local signal.
          --isolate            Run the provider in a worker process.
          --<option> <value>   A provider's own option, e.g. --key-uri <URI> for Azure.
          -h, --help           Show help information.

        EXIT STATUS:
          0 printed (a warning on stderr names the checks that still need action); 1 the provider
          needs no ticket or failed; 3 no platform; 64 usage error.
        """

    struct Reply: Decodable { var text: String }

    static func run(_ arguments: Arguments, context: CommandContext) async throws -> ExitStatus {
        guard arguments.positionals.isEmpty else {
            throw UsageError("unexpected argument '\(arguments.positionals[0])'")
        }
        let deadline = try RunDeadline(arguments)
        let session = try await context.startSession(arguments)
        let selected: SelectedProvider
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
        let request = StatusRequest(
            platform: selected.detection,
            options: selected.options,
            command: context.terminal.command,
            configPath: context.configPath
        )
        do {
            let reply = try await selected.provider.request(.ticket, request, as: Reply.self, timeout: deadline.remaining)
            context.terminal.out(reply.text)
            if let warning = await pendingWarning(selected, deadline: deadline, context: context) {
                context.terminal.err(warning)
            }
            return .ready
        } catch where error.providerError?.code == .usage {
            context.terminal.err("Error: \(selected.usageMessage(error.providerError!.message))")
            return .usage
        } catch {
            context.terminal.err("Error: \(error.providerError?.message ?? error.reason)")
            return .failure
        }
    }

    /// "Warning: 3 checks need action: …" when the provider's own status still has steps to do:
    /// a ticket sent before they are done names a key the vendor cannot use yet.
    ///
    /// The ticket is printed either way; a status that fails adds nothing (the ticket stands alone).
    static func pendingWarning(_ selected: SelectedProvider, deadline: RunDeadline, context: CommandContext) async
        -> String?
    {
        guard let report = try? await StatusCommand.requestStatus(selected, deadline: deadline, context: context)
        else { return nil }
        let pending = report.checks.filter { $0.state == .actionRequired }.map(\.id)
        guard !pending.isEmpty else { return nil }
        let count = pending.count == 1 ? "1 check needs" : "\(pending.count) checks need"
        return "Warning: \(count) action: the vendor cannot use this key yet (\(pending.joined(separator: ", "))); "
            + "run '\(context.terminal.command) status' for the fixes"
    }
}
