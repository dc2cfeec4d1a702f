import CMKCore
import CMKHost

/// `cmk providers`: what is installed, where it was found, and what could not be loaded.
enum ProvidersCommand: Command {
    static let name = "providers"
    static let usage = "cmk providers [verify <path>] [--output text|json]"
    static let flags: Set<String> = []
    static let options: Set<String> = ["output"]

    static let help = """
        OVERVIEW: List the installed providers and every library that could not be loaded, with why.

        Provider libraries are files named libcmk-provider-<name>.so, looked for in order in:
          1. each directory of CMK_PLUGIN_PATH (colon-separated), then 'plugin-path =' in the config,
          2. <directory of cmk>/../lib/cmk/plugins,
          3. the directory of cmk itself.
        When two libraries claim the same provider name, the first on the path wins.
        'cmk providers verify <path>' runs the conformance suite on one library (docs/plugin-abi.md)
        and exits 0 only when every check passes.

        USAGE: \(usage)

        OPTIONS:
          --output <format>   text (default) or json.
          -h, --help          Show help information.
        """

    struct Document: Encodable {
        struct Entry: Encodable {
            var name: String
            var version: String
            var abi: UInt32
            var description: String
            var path: String
        }
        struct Problem: Encodable {
            var path: String
            var code: String
            var reason: String
        }
        var providers: [Entry]
        var problems: [Problem]
    }

    static func run(_ arguments: Arguments, context: CommandContext) async throws -> ExitStatus {
        if arguments.positionals.first == "verify" { return try await VerifyCommand.run(arguments, context: context) }
        guard arguments.positionals.isEmpty else { throw UsageError("unexpected argument '\(arguments.positionals[0])'") }
        let session = try Session.start(environment: context.environment, executableDirectory: executableDirectory())
        let format = try context.outputFormat(arguments, config: session.config)
        let document = Document(
            providers: session.catalog.providers.map {
                .init(name: $0.name, version: $0.version, abi: $0.abiVersion, description: $0.summary, path: $0.path)
            },
            problems: session.catalog.problems.map { .init(path: $0.path, code: $0.code.name, reason: $0.reason) }
        )
        let terminal = context.terminal
        if format == .json {
            terminal.out(encodeJSON(document))
            return .ready
        }
        if document.providers.isEmpty { terminal.out("No provider is installed.") }
        for entry in document.providers {
            terminal.out("\(terminal.paint(entry.name, .bold)) \(entry.version) (ABI \(entry.abi)): \(entry.description)")
            terminal.out("  \(entry.path)")
        }
        for problem in document.problems {
            terminal.err("Warning: skipped \(problem.path): \(problem.reason)")
        }
        return .ready
    }
}
