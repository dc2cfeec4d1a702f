import CMKCore
import CMKHost

/// `cmk providers`: what is installed, where it was found, and what could not be loaded.
enum ProvidersCommand: Command {
    static let name = "providers"
    static let usage =
        "cmk providers [--output text|json] [--isolate] | cmk providers verify <path> [--output text|json]"
    static let flags: Set<String> = ["isolate"]
    static let options: Set<String> = ["output"]

    static let help = """
        OVERVIEW: List the installed providers and every library that could not be loaded, with why.

        Provider libraries are files named libcmk-provider-<name>.so, looked for in order in:
          1. each directory of CMK_PLUGIN_PATH (colon-separated), then 'plugin-path =' in the config,
          2. <directory of cmk>/../lib/cmk/plugins,
          3. the directory of cmk itself.
        When two libraries claim the same provider name, the first on the path wins.

        Before a library is loaded, cmk refuses it (with the reason) when it or its directory is
        writable by group or others or owned by someone other than root or you; when its sha256
        differs from a pin under [pins] in the config ('aws = <sha256>'); or when it is a Swift
        library built by another Swift compiler than cmk's (Swift has no stable ABI on Linux).

        Each provider is listed with its name, version, ABI version, path, sha256 and trust
        state (trusted, or pinned when its sha256 matched a pin).

        USAGE: \(usage)

        OPTIONS:
          --output <format>   text (default) or json.
          --isolate           Load each provider in a worker process.
          -h, --help          Show help information.

        SUBCOMMANDS:
          verify <path>       Run the conformance suite on one provider library (docs/plugin-abi.md);
                              exit 0 only when every check passes.
        """

    struct Document: Encodable {
        struct Entry: Encodable {
            var name: String
            var version: String
            var abi: UInt32
            var description: String
            var path: String
            var sha256: String
            /// `pinned` (its sha256 matches the config's pin) or `trusted` (ownership and permissions).
            var trust: String
        }
        struct Problem: Encodable {
            var path: String
            var code: String
            var reason: String
        }
        struct Directory: Encodable {
            var path: String
            /// Where it came from: `CMK_PLUGIN_PATH`, `plugin-path at …`, or `default`.
            var origin: String
        }
        var searched: [Directory]
        var providers: [Entry]
        var problems: [Problem]
    }

    static func run(_ arguments: Arguments, context: CommandContext) async throws -> ExitStatus {
        if arguments.positionals.first == "verify" { return try await VerifyCommand.run(arguments, context: context) }
        guard arguments.positionals.isEmpty else {
            throw UsageError("unexpected argument '\(arguments.positionals[0])'")
        }
        let session = try await context.startSession(arguments, reportProblems: false)
        let format = try context.outputFormat(arguments, config: session.config)
        let pins = session.config.sections["pins"] ?? [:]
        let document = Document(
            searched: session.searchPath.directories.map {
                .init(path: $0.path, origin: $0.explicit ? $0.origin : "default")
            },
            providers: session.catalog.providers.map { provider in
                // Only here, not at every start: hashing is for the admin who asks.
                let digest = (try? SHA256.hexDigest(ofFileAt: provider.path)) ?? "unreadable"
                return .init(
                    name: provider.name,
                    version: provider.version,
                    abi: provider.abiVersion,
                    description: provider.summary,
                    path: provider.path,
                    sha256: digest,
                    trust: pins[provider.name] == nil ? "trusted" : "pinned"
                )
            },
            problems: session.catalog.problems.map { .init(path: $0.path, code: $0.code.name, reason: $0.reason) }
        )
        let terminal = context.terminal
        if format == .json {
            terminal.out(encodeJSON(document))
            return .ready
        }
        terminal.out("Searched, in order:")
        for directory in document.searched { terminal.out("  \(directory.path) (\(directory.origin))") }
        terminal.out()
        if document.providers.isEmpty { terminal.out("No provider is installed in these directories.") }
        for entry in document.providers {
            terminal.out(
                "\(terminal.paint(entry.name, .bold)) \(entry.version) (ABI \(entry.abi)): \(entry.description)"
            )
            terminal.out("  path:   \(entry.path)")
            terminal.out("  sha256: \(entry.sha256) (\(entry.trust))")
        }
        // Stdout lists what loaded; each library that did not, with why, is a warning on stderr.
        for problem in document.problems {
            terminal.err("Warning: skipped \(problem.path): \(problem.reason)")
        }
        return .ready
    }
}
