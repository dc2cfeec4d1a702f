import CMKCore
import CMKHost

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#else
    #error("cmk needs Glibc or Musl")
#endif

/// `cmk providers verify PATH`: the conformance suite on one provider library, as a pass/fail table.
///
/// Dispatched by ``ProvidersCommand`` (its positionals are `verify` and the path); the checks
/// themselves live in CMKHost's ``ConformanceSuite``, so this file only loads, runs and prints.
enum VerifyCommand {
    static let usage = "cmk providers verify <path> [--output text|json]"

    static let help = """
        OVERVIEW: Run the conformance suite on one provider library before installing it.

        The library is loaded (with the same trust checks as discovery, except that its directory
        may be anywhere), then checked row by row: the ABI version and metadata, detection on
        fixture snapshots, the status reply's shape, error paths, 16 concurrent calls, each reply
        delivered exactly once, and no crash. Every request it triggers goes to a closed loopback
        port (CMK_ENDPOINT_OVERRIDE): nothing leaves the machine. docs/plugin-abi.md describes
        each row.

        USAGE: \(usage)

        ARGUMENTS:
          <path>              The provider library (libcmk-provider-<name>.so).

        OPTIONS:
          --output <format>   text (default) or json.
          -h, --help          Show help information.

        EXIT STATUS:
          0   every row passed
          1   at least one row failed, or the library could not be loaded
          64  usage error (no path, an extra argument, a wrong option)
        """

    struct Document: Encodable {
        var path: String
        var provider: String?
        var passed: Bool
        var results: [ConformanceResult]
    }

    static func run(_ arguments: Arguments, context: CommandContext) async throws -> ExitStatus {
        guard arguments.positionals.count == 2 else {
            let problem =
                arguments.positionals.count < 2
                ? "missing the provider library's path" : "unexpected argument '\(arguments.positionals[2])'"
            throw UsageError(problem, usage: usage)
        }
        let path = arguments.positionals[1]
        let format = try context.outputFormat(arguments, config: ConfigFile.load(environment: context.environment))
        // The names `cmk status` and `cmk ticket` keep for themselves, from the commands, not a copy.
        let reserved = StatusCommand.flags.union(StatusCommand.options).union(TicketCommand.flags)
            .union(TicketCommand.options).union(["help"])
        let settings = ConformanceSuite.Settings(environment: context.environment, reservedOptionNames: reserved)
        // In process, a provider's status reads the override from the process environment: set it
        // before the library's code runs, so nothing the suite triggers can leave the machine.
        setenv(EndpointOverride.environmentVariable, settings.endpointOverride, 0)
        let (loadRow, provider) = ConformanceSuite.load(path)
        var results = [loadRow]
        if let provider { results += await ConformanceSuite.run(provider, settings: settings) }
        let document = Document(
            path: path,
            provider: provider?.name,
            passed: results.allSatisfy(\.passed),
            results: results
        )
        if format == .json {
            context.terminal.out(encodeJSON(document))
        } else {
            printTable(document, terminal: context.terminal)
        }
        return document.passed ? .ready : .failure
    }

    static func printTable(_ document: Document, terminal: Terminal) {
        terminal.out(terminal.paint("Verifying \(document.path)", .bold))
        terminal.out()
        let width = max(document.results.map(\.name.count).max() ?? 0, "CHECK".count)
        terminal.out("  \("CHECK".padding(width))  RESULT  DETAIL")
        for row in document.results {
            let result = row.passed ? terminal.paint("PASS", .green) : terminal.paint("FAIL", .red)
            terminal.out("  \(row.name.padding(width))  \(result)    \(row.detail)")
        }
        terminal.out()
        let failed = document.results.filter { !$0.passed }
        if failed.isEmpty {
            terminal.out(terminal.paint("All \(document.results.count) checks passed.", .green))
        } else {
            let names = failed.map(\.name).joined(separator: ", ")
            terminal.out(terminal.paint("\(failed.count) of \(document.results.count) checks failed: \(names).", .red))
        }
    }
}
