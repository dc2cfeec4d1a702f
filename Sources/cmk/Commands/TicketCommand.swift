import CMKCore
import CMKHost

/// `cmk ticket`: the text to paste into the vendor's CMK support ticket.
enum TicketCommand: Command {
    static let name = "ticket"
    static let usage = "cmk ticket [--provider <name>] [--isolate] [--<provider-option> <value>]"
    static let flags: Set<String> = ["probe", "isolate"]
    static let options: Set<String> = ["provider"]
    static let acceptsProviderOptions = true

    static let help = """
        OVERVIEW: Print the text to paste into the vendor's support ticket that asks for CMK to be
        applied (on Azure: the key identifier URI, the vault and the tenant).

        USAGE: \(usage)

        OPTIONS:
          --provider <name>    Provider to use; else the detected one.
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
        let session = try await context.startSession(arguments)
        let selected: SelectedProvider
        switch try await ProviderSelection.select(arguments, session: session, context: context, format: .text) {
        case .selected(let value): selected = value
        case .exit(let status): return status
        }
        let request = StatusRequest(platform: selected.detection, options: selected.options)
        do {
            let reply = try await selected.provider.request(.ticket, request, as: Reply.self, timeout: .seconds(30))
            context.terminal.out(reply.text)
            if let warning = await pendingWarning(selected, request) { context.terminal.err(warning) }
            return .ready
        } catch  where error.providerError?.code == .usage {
            context.terminal.err("Error: \(error.providerError!.message)")
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
    static func pendingWarning(_ selected: SelectedProvider, _ request: StatusRequest) async -> String? {
        guard
            let report = try? await selected.provider.request(
                .status,
                request,
                as: StatusReport.self,
                timeout: .milliseconds(request.deadlineMilliseconds + 2000)
            )
        else { return nil }
        let pending = report.checks.filter { $0.state == .actionRequired }.map(\.id)
        guard !pending.isEmpty else { return nil }
        let count = pending.count == 1 ? "1 check needs" : "\(pending.count) checks need"
        return "Warning: \(count) action: the vendor cannot use this key yet (\(pending.joined(separator: ", "))); "
            + "run cmk status for the fixes"
    }
}
