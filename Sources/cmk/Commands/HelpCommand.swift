import CMKHost

/// `cmk help [<subcommand> [<subcommand>]]`: the same text as `cmk <subcommand> --help`.
enum HelpCommand {
    static let usage = "cmk help [<subcommand> [verify]]"

    static let help = """
        OVERVIEW: Show help for cmk or one of its subcommands.

        USAGE: \(usage)

        ARGUMENTS:
          <subcommand>   status, detect, providers, ticket, confirm or help; 'providers verify' for the
                         conformance suite. The same text as 'cmk <subcommand> --help'.

        EXAMPLES:
          cmk help status
          cmk help providers verify
        """

    static func run(_ arguments: [String], terminal: Terminal) -> ExitStatus {
        guard let name = arguments.first, name != "-h", name != "--help" else {
            terminal.out(arguments.isEmpty ? Help.main : help)
            return .ready
        }
        if name == "help" {
            terminal.out(help)
            return .ready
        }
        guard let command = Commands.named(name) else {
            let guess = Suggestion.closest(to: name, in: Commands.all.map { $0.name } + ["help"])
            return CMK.usageFailure(
                UsageError("unknown subcommand '\(name)'" + (guess.map { " (did you mean '\($0)'?)" } ?? "")),
                usage: usage,
                command: "help",
                terminal: terminal
            )
        }
        let rest = Array(arguments.dropFirst())
        if command.name == ProvidersCommand.name ? rest.count > 1 || (rest.first.map { $0 != "verify" } ?? false) : !rest.isEmpty {
            return CMK.usageFailure(
                UsageError("'\(name)' has no subcommand '\(rest.joined(separator: " "))'"),
                usage: usage,
                command: "help",
                terminal: terminal
            )
        }
        terminal.out(text(for: command, positionals: rest))
        return .ready
    }

    /// A command's help; `providers verify` has its own.
    static func text(for command: any Command.Type, positionals: [String]) -> String {
        command.name == ProvidersCommand.name && positionals.first == "verify" ? VerifyCommand.help : command.help
    }
}

/// Help texts shared by several commands.
enum Help {
    static let mainUsage = "cmk <subcommand> [<options>]"

    static let exitStatus = """
        EXIT STATUS:
          0   ready: every check that decides readiness is ok
          2   action required: at least one check needs action (its remediation says what)
          3   incomplete: some check could not be determined, or no platform was detected and none chosen
          64  usage error: a wrong option, option value or config file
          1   any other failure (a provider could not be loaded, crashed or timed out)
        """

    static let environment = """
        ENVIRONMENT:
          CMK_PROVIDER           provider to use, like --provider
          CMK_OUTPUT             text or json, like --output
          CMK_PLUGIN_PATH        colon-separated directories searched first for provider libraries
          CMK_SYS_ROOT           read detection files (/sys/class/dmi/id, /run/cloud-init) under this root
          CMK_ENDPOINT_OVERRIDE  send every request to this loopback origin (tests, emulators)
          XDG_CONFIG_HOME        the config file is $XDG_CONFIG_HOME/cmk/config (default ~/.config/cmk/config)
          NO_COLOR               never colour the output
        """

    static let main = """
        OVERVIEW: Tell whether customer-managed keys (CMK) are set up for the cloud your data
        platform runs on, and exactly what to do next.

        USAGE: \(mainUsage)

        SUBCOMMANDS:
          status      Check each step of the CMK setup and say what to do next
          detect      Show the platform this machine runs on, the evidence, and what was ruled out
          providers   List the installed providers and any library that could not be loaded
          ticket      Print the text for the vendor's CMK support ticket
          confirm     Record that a manual step was done, so that status shows it as ok
          help        Show help for a subcommand

        OPTIONS:
          --version   Show the version.
          -h, --help  Show help information.

        \(exitStatus)

        \(environment)

          See 'cmk help <subcommand>' for detailed help.
        """
}
