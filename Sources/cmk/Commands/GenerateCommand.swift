import CMKCore
import CMKHost

/// `cmk __generate completions-bash|completions-zsh|completions-fish|man` (hidden): the shell
/// completions and the man page, written from the tables the parser itself uses.
///
/// Subcommands, their flags and valued options come from ``Commands/all`` (`name`, `usage`,
/// `flags`, `options`); what each one means from its `help`; `--output` values from
/// ``OutputFormat``; provider names and their options from the providers this cmk finds, asked
/// with `describe` as `cmk status` asks them. The overview, exit statuses and environment come
/// from `cmk --help` (run as a child, so only its output is relied on). `make dist` runs this
/// on the staged release, so what ships describes exactly the cmk and providers in the tarball.
enum GenerateCommand {
    static let name = "__generate"
    static let usage = "cmk __generate completions-bash|completions-zsh|completions-fish|man"

    static func run(_ arguments: ArraySlice<String>, environment: [String: String], terminal: Terminal) async
        -> ExitStatus
    {
        let arguments = Array(arguments)
        let renderers: [String: (CLIDescription) -> String] = [
            "completions-bash": BashCompletion.render,
            "completions-zsh": ZshCompletion.render,
            "completions-fish": FishCompletion.render,
            "man": ManPage.render,
        ]
        guard arguments.count == 1, let render = renderers[arguments[0]] else {
            let problem = arguments.isEmpty ? "missing what to generate" : "cannot generate '\(arguments[0])'"
            return CMK.usageFailure(UsageError(problem), usage: usage, command: nil, terminal: terminal)
        }
        let description: CLIDescription
        do {
            description = try await CLIDescription.load(environment: environment, terminal: terminal)
        } catch {
            terminal.err("Error: \(error)")
            return .failure
        }
        terminal.out(render(description))
        return .ready
    }
}

// MARK: - What cmk accepts

/// The command line cmk accepts, gathered once for every renderer.
struct CLIDescription {
    struct Option {
        /// Without dashes: `provider`, `help`.
        var name: String
        var short: Character? = nil
        /// `name`, `format`, …: nil for a flag.
        var valueName: String?
        var summary: String
        /// What the value can be, when the tables say (`--output`, `--provider`).
        var values: [String] = []
        /// The provider that declares it, for a provider's option.
        var provider: String? = nil
        var environment: String? = nil
    }

    /// A positional word after the subcommand (`cmk providers verify <path>`), from its usage.
    struct Action {
        var name: String
        var summary: String
        var argument: String?
        var takesPath: Bool { argument.map { $0.contains("path") || $0.contains("file") } ?? false }
    }

    struct Subcommand {
        var name: String
        var summary: String
        var usage: [String]
        var help: HelpText
        var options: [Option]
        var takesProviderOptions: Bool
        var actions: [Action]
        /// `cmk help <subcommand>`: its argument is a subcommand's name.
        var takesSubcommand = false
    }

    struct Provider {
        var name: String
        var summary: String
        var options: [Option]
    }

    var version: String
    var main: HelpText
    var global: [Option]
    var subcommands: [Subcommand]
    var providers: [Provider]

    /// Every provider option, once per name, in provider order (two providers may share a name).
    var providerOptions: [Option] {
        var seen = Set<String>()
        return providers.flatMap(\.options).filter { seen.insert($0.name).inserted }
    }

    static func load(environment: [String: String], terminal: Terminal) async throws -> CLIDescription {
        let session = try await Session.start(environment: environment)
        for problem in session.catalog.problems {
            terminal.err("Warning: skipped \(problem.path): \(problem.reason)")
        }
        var providers: [Provider] = []
        for provider in session.catalog.providers {
            let declared = try await session.options(of: provider)
            providers.append(
                Provider(
                    name: provider.name,
                    summary: provider.summary,
                    options: declared.map {
                        Option(
                            name: $0.name,
                            valueName: $0.valueName,
                            summary: $0.help,
                            provider: provider.name,
                            environment: $0.environment
                        )
                    }
                )
            )
        }
        let main = HelpText(await mainHelp(environment: environment))
        let summaries = Dictionary(
            main.definitions(in: "SUBCOMMANDS").map { ($0.term, $0.text) },
            uniquingKeysWith: { first, _ in first }
        )
        let names = providers.map(\.name)
        var subcommands = Commands.all.map { command in
            Subcommand(command, summary: summaries[command.name], providers: names)
        }
        // An option one help text does not describe (ticket's --probe) reads as another's does.
        let described = Dictionary(
            subcommands.flatMap(\.options).filter { !$0.summary.isEmpty }.map { ($0.name, $0.summary) },
            uniquingKeysWith: { first, _ in first }
        )
        for index in subcommands.indices {
            for option in subcommands[index].options.indices where subcommands[index].options[option].summary.isEmpty {
                subcommands[index].options[option].summary = described[subcommands[index].options[option].name] ?? ""
            }
        }
        subcommands.append(
            Subcommand(
                name: "help",
                summary: summaries["help"] ?? "Show help for a subcommand",
                usage: ["cmk help [<subcommand>]"],
                help: HelpText(""),
                options: [],
                takesProviderOptions: false,
                actions: [],
                takesSubcommand: true
            )
        )
        var global = main.definitions(in: "OPTIONS").flatMap { Option.parse($0) }
        if global.isEmpty {
            global = [
                Option(name: "version", summary: "Show the version."),
                Option(name: "help", short: "h", summary: "Show help information."),
            ]
        }
        return CLIDescription(
            version: CMK.version,
            main: main,
            global: global,
            subcommands: subcommands,
            providers: providers
        )
    }

    /// `cmk --help`, as this very executable prints it; empty when it cannot be run.
    private static func mainHelp(environment: [String: String]) async -> String {
        guard let executable = executablePath(),
            let output = try? await Subprocess.run(
                executable,
                ["--help"],
                environment: environment.filter { $0.key != "NO_COLOR" }.merging(["NO_COLOR": "1"]) { $1 },
                deadline: .now + .seconds(10)
            ), output.status == 0
        else { return "" }
        return String(decoding: output.stdout, as: UTF8.self)
    }
}

extension CLIDescription.Subcommand {
    init(_ command: any Command.Type, summary: String?, providers: [String]) {
        let help = HelpText(command.help)
        let described = Dictionary(
            help.definitions(in: "OPTIONS").flatMap { CLIDescription.Option.parse($0) }.map { ($0.name, $0) },
            uniquingKeysWith: { first, _ in first }
        )
        func option(_ name: String, valued: Bool) -> CLIDescription.Option {
            var option = described[name] ?? CLIDescription.Option(name: name, summary: "")
            option.name = name
            option.valueName = valued ? option.valueName ?? "value" : nil
            switch name {
            case "output": option.values = OutputFormat.accepted(by: command.name).map(\.rawValue)  // ops (issue 11)
            case "provider": option.values = providers
            default: break
            }
            return option
        }
        var options = command.options.sorted().map { option($0, valued: true) }
        options += command.flags.sorted().map { option($0, valued: false) }
        var helpFlag = option("help", valued: false)
        helpFlag.short = "h"
        if helpFlag.summary.isEmpty { helpFlag.summary = "Show help information." }
        options.append(helpFlag)

        // Positional words of the usage: `cmk providers verify <path>` has the action `verify`.
        let actionSummaries = Dictionary(
            help.definitions(in: "SUBCOMMANDS").map { (String($0.term.split(separator: " ").first ?? ""), $0.text) },
            uniquingKeysWith: { first, _ in first }
        )
        var actions: [CLIDescription.Action] = []
        let usages = command.usage.components(separatedBy: " | ")
        for usage in usages {
            let words = usage.split(separator: " ").map(String.init)
            guard words.count > 2, words[0] == "cmk", words[1] == command.name else { continue }
            let rest = words.dropFirst(2)
            guard let first = rest.first, first.first?.isLetter == true else { continue }
            let argument = rest.dropFirst().first.flatMap { $0.hasPrefix("<") ? $0 : nil }
            actions.append(.init(name: first, summary: actionSummaries[first] ?? "", argument: argument))
        }
        self.init(
            name: command.name,
            summary: summary ?? help.overview.first.map(firstSentence) ?? "",
            usage: usages,
            help: help,
            options: options,
            // As its usage and help say it (`[--<provider-option> <value>]`): only `name`, `usage`,
            // `help`, `flags` and `options` are relied on.
            takesProviderOptions: command.usage.contains("--<provider-option>")
                || command.help.contains("  --<option> "),
            actions: actions
        )
    }
}

extension CLIDescription.Option {
    /// The options one help line names: `-h, --help` gives `help` with `h`; `--output <format>`
    /// gives `output` with a value. `--<option> <value>` (a placeholder) gives none.
    static func parse(_ definition: HelpText.Definition) -> [CLIDescription.Option] {
        var short: Character?
        var result: [CLIDescription.Option] = []
        for form in definition.term.components(separatedBy: ", ") {
            let parts = form.split(separator: " ", maxSplits: 1).map(String.init)
            let flag = parts[0]
            let value = parts.count > 1 ? parts[1].trimmingCharacters(in: "<>") : nil
            if flag.hasPrefix("--"), flag.count > 2, !flag.hasPrefix("--<") {
                result.append(
                    .init(name: String(flag.dropFirst(2)), short: short, valueName: value, summary: definition.text)
                )
            } else if flag.hasPrefix("-"), flag.count == 2 {
                short = flag.last
            }
        }
        return result
    }
}

/// The first sentence of a paragraph, without its full stop.
func firstSentence(_ text: String) -> String {
    var sentence = Substring(text)
    var searched = text.startIndex
    while let end = text[searched...].firstRange(of: ". ") {
        // "e.g. x" and "i.e. x" go on.
        if text[..<end.lowerBound].hasSuffix("e.g") || text[..<end.lowerBound].hasSuffix("i.e") {
            searched = end.upperBound
            continue
        }
        sentence = text[..<end.lowerBound]
        break
    }
    return String(sentence.hasSuffix(".") ? sentence.dropLast() : sentence)
}

extension String {
    fileprivate func trimmingCharacters(in set: String) -> String {
        var text = Substring(self)
        while let first = text.first, set.contains(first) { text = text.dropFirst() }
        while let last = text.last, set.contains(last) { text = text.dropLast() }
        return String(text)
    }

    fileprivate var trimmed: String { trimmingCharacters(in: " \t") }
}

extension Substring {
    fileprivate var trimmed: String { String(self).trimmed }
}

extension String {

    fileprivate var indentation: Int { prefix(while: { $0 == " " }).count }

    fileprivate func replacing(_ map: [Character: String]) -> String {
        var result = ""
        for character in self { result += map[character] ?? String(character) }
        return result
    }
}

// MARK: - Help texts

/// A help text in the layout every cmk help has: `TITLE:` headings at the left margin (`OVERVIEW:`
/// and `USAGE:` carry their text on the same line), their content below, indented.
struct HelpText {
    struct Section {
        var title: String
        var lines: [String]
    }

    /// `--output <format>    text (default) or json.`: a term, two spaces or more, its text.
    struct Definition {
        var term: String
        var text: String
    }

    enum Block {
        /// Lines at the margin, joined.
        case paragraph(String)
        /// Indented lines: an item of a list (`1. …`) or an indented paragraph.
        case item(String)
        case definitions([Definition])
    }

    var sections: [Section] = []

    init(_ text: String) {
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            if let colon = line.firstIndex(of: ":"), line.first?.isUppercase == true,
                line[..<colon].allSatisfy({ $0.isUppercase || $0 == " " })
            {
                sections.append(Section(title: String(line[..<colon]), lines: []))
                let rest = line[line.index(after: colon)...].trimmed
                if !rest.isEmpty { sections[sections.count - 1].lines.append(rest) }
            } else if !sections.isEmpty {
                sections[sections.count - 1].lines.append(line)
            }
        }
    }

    func section(_ title: String) -> Section? { sections.first { $0.title == title } }

    /// The overview's paragraphs (the text after `OVERVIEW:` and what follows it up to the next heading).
    var overview: [String] {
        blocks(in: "OVERVIEW").compactMap { block -> String? in
            if case .paragraph(let text) = block { text } else { nil }
        }
    }

    func definitions(in title: String) -> [Definition] {
        blocks(in: title).flatMap { block -> [Definition] in
            if case .definitions(let list) = block { list } else { [] }
        }
    }

    func blocks(in title: String) -> [Block] { section(title).map { Self.blocks($0.lines) } ?? [] }

    /// Paragraphs, indented items and definition lists; a definition's text may go on over more
    /// lines indented further than its term.
    static func blocks(_ lines: [String]) -> [Block] {
        var blocks: [Block] = []
        var termIndent = -1
        for line in lines {
            let text = line.trimmed
            if text.isEmpty {
                termIndent = -1
                blocks.append(.paragraph(""))
                continue
            }
            let indent = line.indentation
            if termIndent >= 0, indent > termIndent, case .definitions(var list) = blocks.last {
                list[list.count - 1].text += " " + text
                blocks[blocks.count - 1] = .definitions(list)
                continue
            }
            if indent > 0, let gap = text.firstRange(of: "  ") {
                let definition = Definition(
                    term: String(text[..<gap.lowerBound]),
                    text: text[gap.upperBound...].trimmed
                )
                termIndent = indent
                if case .definitions(var list) = blocks.last {
                    list.append(definition)
                    blocks[blocks.count - 1] = .definitions(list)
                } else {
                    blocks.append(.definitions([definition]))
                }
                continue
            }
            termIndent = -1
            let isListItem = text.first?.isNumber == true || text.hasPrefix("- ") || text.hasPrefix("* ")
            switch blocks.last {
            case .paragraph(let previous) where indent == 0 && !previous.isEmpty:
                blocks[blocks.count - 1] = .paragraph(previous + " " + text)
            case .item(let previous) where indent > 0 && !isListItem:
                blocks[blocks.count - 1] = .item(previous + " " + text)
            default:
                blocks.append(indent == 0 ? .paragraph(text) : .item(text))
            }
        }
        return blocks.filter { if case .paragraph(let text) = $0 { !text.isEmpty } else { true } }
    }
}

// MARK: - bash

enum BashCompletion {
    static func render(_ cli: CLIDescription) -> String {
        let names = cli.subcommands.map(\.name).joined(separator: " ")
        let commandNames = cli.subcommands.filter { !$0.takesSubcommand }.map(\.name).joined(separator: " ")
        let global = cli.global.flatMap { option in ["--\(option.name)"] + (option.short.map { ["-\($0)"] } ?? []) }
        var text = """
            # bash completion for cmk \(cli.version): generated by `cmk __generate completions-bash` from
            # cmk's option tables and the providers installed with it. Do not edit; regenerate.

            _cmk_reply() { mapfile -t COMPREPLY < <(compgen "$@"); }

            # The options of provider $1; of every provider when none is chosen.
            _cmk_provider_options() {
                case "$1" in

            """
        for provider in cli.providers {
            text +=
                "        \(provider.name)) echo \"\(provider.options.map { "--\($0.name)" }.joined(separator: " "))\" ;;\n"
        }
        text += "        *) echo \"\(cli.providerOptions.map { "--\($0.name)" }.joined(separator: " "))\" ;;\n"
        text += """
                esac
            }

            _cmk() {
                COMPREPLY=()
                local cur="${COMP_WORDS[COMP_CWORD]}" prev="" i sub="" at=0
                (( COMP_CWORD > 0 )) && prev="${COMP_WORDS[COMP_CWORD-1]}"
                # bash splits --name=value at '=' (COMP_WORDBREAKS).
                if [[ "$cur" == "=" ]]; then
                    cur=""
                elif [[ "$prev" == "=" ]] && (( COMP_CWORD > 1 )); then
                    prev="${COMP_WORDS[COMP_CWORD-2]}"
                fi
                for ((i = 1; i < COMP_CWORD; i++)); do
                    case "${COMP_WORDS[i]}" in -*|=) ;; *) sub="${COMP_WORDS[i]}"; at=$i; break ;; esac
                done
                if [[ -z "$sub" ]]; then
                    if [[ "$cur" == -* ]]; then _cmk_reply -W "\(global.joined(separator: " "))" -- "$cur"
                    else _cmk_reply -W "\(names)" -- "$cur"; fi
                    return 0
                fi
                local flags="" options="" provider_options=0
                case "$sub" in

            """
        for command in cli.subcommands {
            if command.takesSubcommand {
                text += "        \(command.name))\n"
                text +=
                    "            (( COMP_CWORD == at + 1 )) && [[ \"$cur\" != -* ]] && _cmk_reply -W \"\(commandNames)\" -- \"$cur\"\n"
                text += "            return 0 ;;\n"
                continue
            }
            let flags = command.options.filter { $0.valueName == nil }.map { "--\($0.name)" }
            let options = command.options.filter { $0.valueName != nil }.map { "--\($0.name)" }
            text +=
                "        \(command.name)) flags=\"\(flags.joined(separator: " "))\" options=\"\(options.joined(separator: " "))\""
            text += command.takesProviderOptions ? " provider_options=1 ;;\n" : " ;;\n"
        }
        text += """
                    *) return 0 ;;
                esac
                # After the subcommand: values of valued options (and the provider chosen), then positionals.
                local provider="" word positionals=() j=$((at + 1))
                while (( j < COMP_CWORD )); do
                    word="${COMP_WORDS[j]}"
                    if [[ "$word" == --?* && " $flags " != *" $word "* ]] && { [[ " $options " == *" $word "* ]] || (( provider_options )); }; then
                        local value="${COMP_WORDS[j+1]}"
                        if [[ "$value" == "=" ]]; then value="${COMP_WORDS[j+2]}"; ((j++)); fi
                        [[ "$word" == --provider ]] && provider="$value"
                        ((j += 2))
                        continue
                    fi
                    [[ "$word" != -* ]] && positionals+=("$word")
                    ((j++))
                done
                case "$prev" in

            """
        // ops (issue 11): an option's values may differ by subcommand (`status --output` also takes
        // sarif, junit, openmetrics): then the subcommand decides, the most common values otherwise.
        var valued: [String: [(values: [String], commands: [String])]] = [:]
        for command in cli.subcommands {
            for option in command.options where option.valueName != nil && !option.values.isEmpty {
                if let index = valued[option.name]?.firstIndex(where: { $0.values == option.values }) {
                    valued[option.name]![index].commands.append(command.name)
                } else {
                    valued[option.name, default: []].append((option.values, [command.name]))
                }
            }
        }
        for (name, groups) in valued.sorted(by: { $0.key < $1.key }) {
            func reply(_ values: [String]) -> String {
                "_cmk_reply -W \"\(values.joined(separator: " "))\" -- \"$cur\""
            }
            let common = groups.max { $0.commands.count < $1.commands.count }!
            guard groups.count > 1 else {
                text += "        --\(name)) \(reply(common.values)); return 0 ;;\n"
                continue
            }
            text += "        --\(name)) case \"$sub\" in "
            for group in groups where group.values != common.values {
                text += "\(group.commands.joined(separator: "|"))) \(reply(group.values)) ;; "
            }
            text += "*) \(reply(common.values)) ;; esac; return 0 ;;\n"
        }
        text += """
                esac
                if [[ "$prev" == --?* && " $flags " != *" $prev "* ]] && { [[ " $options " == *" $prev "* ]] || (( provider_options )); }; then
                    return 0  # a value cmk cannot guess
                fi
                if [[ "$cur" == -* ]]; then
                    local words="$flags $options"
                    (( provider_options )) && words+=" $(_cmk_provider_options "$provider")"
                    _cmk_reply -W "$words" -- "$cur"
                    return 0
                fi
                case "$sub:${positionals[*]}" in

            """
        for command in cli.subcommands where !command.actions.isEmpty {
            let actions = command.actions.map(\.name).joined(separator: " ")
            text += "        \(command.name):) _cmk_reply -W \"\(actions)\" -- \"$cur\" ;;\n"
            for action in command.actions where action.takesPath {
                text +=
                    "        \(command.name):\(action.name)) compopt -o filenames 2>/dev/null; _cmk_reply -f -- \"$cur\" ;;\n"
            }
        }
        text += """
                esac
                return 0
            }

            complete -F _cmk cmk
            """
        return text
    }
}

// MARK: - zsh

enum ZshCompletion {
    static func render(_ cli: CLIDescription) -> String {
        var text = """
            #compdef cmk
            # zsh completion for cmk \(cli.version): generated by `cmk __generate completions-zsh` from
            # cmk's option tables and the providers installed with it. Do not edit; regenerate.

            _cmk() {
              local curcontext="$curcontext" state line ret=1
              typeset -A opt_args
              _arguments -C \\

            """
        for option in cli.global { text += "    \(spec(option, exclusive: "(- :)")) \\\n" }
        text += """
                '1: :->subcommand' \\
                '*:: :->argument' && ret=0
              case $state in
                subcommand)
                  local -a subcommands
                  subcommands=(

            """
        for command in cli.subcommands {
            text += "        \(quote("\(command.name):\(command.summary)"))\n"
        }
        text += """
                  )
                  _describe -t subcommands 'cmk subcommand' subcommands && ret=0
                  ;;
                argument)
                  curcontext="${curcontext%:*:*}:cmk-$words[1]:"
                  case $words[1] in

            """
        for command in cli.subcommands {
            text += "        \(command.name))\n          _arguments \\\n"
            if command.takesSubcommand {
                let names = cli.subcommands.filter { !$0.takesSubcommand }.map(\.name).joined(separator: " ")
                text += "            \(quote("1:subcommand:(\(names))")) && ret=0\n          ;;\n"
                continue
            }
            var specs = command.options.map { spec($0, exclusive: $0.name == "help" ? "(- *)" : "") }
            if command.takesProviderOptions {
                specs += cli.providerOptions.map { spec($0, exclusive: "") }
            }
            if !command.actions.isEmpty {
                let words = command.actions.map { action in
                    let summary = escape(firstSentence(action.summary)).replacing([" ": "\\ ", "(": "\\(", ")": "\\)"])
                    return "\(action.name)\\:\(summary)"
                }
                specs.append(quote("1:action:((\(words.joined(separator: " "))))"))
                if command.actions.contains(where: \.takesPath) { specs.append(quote("2:path:_files")) }
            }
            text += specs.map { "            \($0)" }.joined(separator: " \\\n") + " && ret=0\n          ;;\n"
        }
        text += """
                  esac
                  ;;
              esac
              return ret
            }

            if [[ "$funcstack[1]" == "_cmk" ]]; then
              _cmk "$@"
            else
              compdef _cmk cmk
            fi
            """
        return text
    }

    /// One `_arguments` spec: `--output=[text or json]:format:(text json)`.
    private static func spec(_ option: CLIDescription.Option, exclusive: String) -> String {
        let line = summaryLine(option)
        let summary = line.isEmpty ? "" : "[\(escape(line))]"
        var forms = "--\(option.name)"
        var value = ""
        if let valueName = option.valueName {
            forms += "="
            value =
                ":\(escape(valueName)):" + (option.values.isEmpty ? "" : "(\(option.values.joined(separator: " ")))")
        }
        if let short = option.short {
            return quote(exclusive) + "{-\(short),\(forms)}" + quote(summary + value)
        }
        return quote(exclusive + forms + summary + value)
    }

    private static func summaryLine(_ option: CLIDescription.Option) -> String {
        let summary = firstSentence(option.summary)
        return option.provider.map { "(\($0)) " + summary } ?? summary
    }

    /// What `[…]` and `:` mean to `_arguments`, escaped.
    private static func escape(_ text: String) -> String {
        text.replacing(["\\": "\\\\", "[": "\\[", "]": "\\]", ":": "\\:"])
    }

    private static func quote(_ text: String) -> String {
        text.isEmpty ? "" : "'" + text.replacing(["'": "'\\''"]) + "'"
    }
}

// MARK: - fish

enum FishCompletion {
    static func render(_ cli: CLIDescription) -> String {
        var lines = [
            "# fish completion for cmk \(cli.version): generated by `cmk __generate completions-fish` from",
            "# cmk's option tables and the providers installed with it. Do not edit; regenerate.",
            "",
            "complete -c cmk -f",
        ]
        let names = cli.subcommands.map(\.name).joined(separator: " ")
        for option in cli.global {
            lines.append("complete -c cmk -n \(quote("not __fish_seen_subcommand_from \(names)")) \(flag(option))")
        }
        for command in cli.subcommands {
            lines.append(
                "complete -c cmk -n __fish_use_subcommand -a \(command.name) -d \(quote(command.summary))"
            )
        }
        for command in cli.subcommands {
            let seen = quote("__fish_seen_subcommand_from \(command.name)")
            if command.takesSubcommand {
                let targets = cli.subcommands.filter { !$0.takesSubcommand }.map(\.name).joined(separator: " ")
                lines.append("complete -c cmk -n \(seen) -a \(quote(targets))")
                continue
            }
            for option in command.options { lines.append("complete -c cmk -n \(seen) \(flag(option))") }
            if command.takesProviderOptions {
                for option in cli.providerOptions { lines.append("complete -c cmk -n \(seen) \(flag(option))") }
            }
            let actions = command.actions.map(\.name).joined(separator: " ")
            for action in command.actions {
                let condition =
                    "__fish_seen_subcommand_from \(command.name); and not __fish_seen_subcommand_from \(actions)"
                lines.append(
                    "complete -c cmk -n \(quote(condition)) -a \(action.name) -d \(quote(firstSentence(action.summary)))"
                )
                if action.takesPath {
                    let chosen =
                        "__fish_seen_subcommand_from \(command.name); and __fish_seen_subcommand_from \(action.name)"
                    lines.append("complete -c cmk -n \(quote(chosen)) -F")
                }
            }
        }
        return lines.joined(separator: "\n")
    }

    private static func flag(_ option: CLIDescription.Option) -> String {
        var text = option.short.map { "-s \($0) " } ?? ""
        text += "-l \(option.name)"
        if option.valueName != nil {
            text += " -x"
            if !option.values.isEmpty { text += " -a \(quote(option.values.joined(separator: " ")))" }
        }
        let first = firstSentence(option.summary)
        let summary = option.provider.map { "(\($0)) \(first)" } ?? first
        if !summary.isEmpty { text += " -d \(quote(summary))" }
        return text
    }

    private static func quote(_ text: String) -> String { "'" + text.replacing(["\\": "\\\\", "'": "\\'"]) + "'" }
}

// MARK: - man

/// cmk.1 in the man macros: NAME, SYNOPSIS, DESCRIPTION, COMMANDS, OPTIONS, EXIT STATUS,
/// ENVIRONMENT, FILES, EXAMPLES, from the same help texts `cmk --help` and `cmk <command> --help` print.
enum ManPage {
    static func render(_ cli: CLIDescription) -> String {
        var page: [String] = [
            #".\" cmk.1: generated by `cmk __generate man` from cmk's help texts. Do not edit; regenerate."#,
            ".TH CMK 1 \"\" \(quoted("cmk \(cli.version)")) \"User Commands\"",
            ".nh",
            ".ad l",
            ".SH NAME",
            "cmk \\- "
                + escape(
                    lowercasedFirst(cli.main.overview.first.map(firstSentence) ?? "check customer-managed key setup")
                ),
            ".SH SYNOPSIS",
        ]
        page += synopses(cli.subcommands.flatMap(\.usage) + ["cmk --version"])
        page.append(".SH DESCRIPTION")
        for paragraph in cli.main.overview { page += [".PP", escape(paragraph)] }
        page += [
            ".PP",
            "Each subcommand takes \\fB\\-\\-help\\fR; \\fBcmk help\\fR \\fIsubcommand\\fR prints the same text.",
            ".SH COMMANDS",
        ]
        for command in cli.subcommands { page += commandSection(command, main: cli.main) }

        page.append(".SH OPTIONS")
        page += cli.global.flatMap { definition(term: optionTerm($0), text: $0.summary) }
        for provider in cli.providers where !provider.options.isEmpty {
            page += [
                ".SS Options of the \(escape(provider.name)) provider",
                "Given to \\fBcmk status\\fR and \\fBcmk ticket\\fR; each can also be set by its environment"
                    + " variable or under \\fB[\(escape(provider.name))]\\fR in the config file.",
            ]
            for option in provider.options {
                let environment = option.environment.map { " (\\fB\(escape($0))\\fR)" } ?? ""
                page += definition(term: optionTerm(option), text: nil, rawText: escape(option.summary) + environment)
            }
        }

        page.append(".SH EXIT STATUS")
        var exits = cli.main.definitions(in: "EXIT STATUS")
        if exits.isEmpty { exits = cli.subcommands.first?.help.definitions(in: "EXIT STATUS") ?? [] }
        page += exits.flatMap { definition(term: "\\fB\(escape($0.term))\\fR", text: $0.text) }

        page.append(".SH ENVIRONMENT")
        page += cli.main.definitions(in: "ENVIRONMENT").flatMap {
            definition(term: "\\fB\(escape($0.term))\\fR", text: $0.text)
        }
        for option in cli.providers.flatMap(\.options) {
            guard let variable = option.environment else { continue }
            page += definition(
                term: "\\fB\(escape(variable))\\fR",
                text: "like \\-\\-\(option.name) (the \(option.provider ?? "") provider)",
                escaped: true
            )
        }

        page += [".SH FILES"]
        let files: [(String, String)] = [
            (
                "~/.config/cmk/config",
                "The config file (\\fB$XDG_CONFIG_HOME/cmk/config\\fR when XDG_CONFIG_HOME is set): "
                    + "provider, output, isolate, plugin\\-path, ca\\-bundle, a section per provider, [pins]."
            ),
            (
                "\\fIprefix\\fR/lib/cmk/plugins/\(escape(PluginSearchPath.filePrefix))\\fIname\\fR.so",
                "The installed providers, found beside \\fIprefix\\fR/bin/cmk. Each file and directory above it must be"
                    + " owned by root or you and writable by nobody else."
            ),
            (
                "\\fIprefix\\fR/lib/cmk/libcmk\\-https.so",
                "The https transport, over the system's libcurl.so.4, loaded on the first https request."
            ),
            (
                "\\fIprefix\\fR/lib/cmk/swift/",
                "The Swift runtime libraries of a release: cmk needs no Swift toolchain."
            ),
            (
                "\\fIprefix\\fR/lib/cmk/install\\-manifest",
                "What install.sh installed, one path a line; \\fBinstall.sh \\-\\-uninstall\\fR removes exactly that."
            ),
        ]
        for (term, text) in files { page += [".TP", "\\fB\(term)\\fR", text] }

        page.append(".SH EXAMPLES")
        for command in cli.subcommands {
            let examples = command.help.section("EXAMPLES")?.lines.map(\.trimmed).filter { !$0.isEmpty } ?? []
            guard !examples.isEmpty else { continue }
            page += [".PP", ".RS 4", ".nf"] + examples.map(escape) + [".fi", ".RE"]
        }
        page += [
            ".SH SEE ALSO",
            "\\fBcmk help\\fR \\fIsubcommand\\fR; README.md and docs/ in the source for providers and their ABI.",
        ]
        return page.joined(separator: "\n")
    }

    private static func commandSection(_ command: CLIDescription.Subcommand, main: HelpText) -> [String] {
        var lines = [".SS \(quoted(command.name))"] + synopses(command.usage)
        let paragraphs = command.help.blocks(in: "OVERVIEW")
        if paragraphs.isEmpty { lines += [".PP", escape(command.summary) + "."] }
        lines += render(paragraphs)
        if !command.options.isEmpty {
            lines += [".PP", "Options:"]
            lines += command.options.flatMap { definition(term: optionTerm($0), text: $0.summary) }
            if command.takesProviderOptions {
                lines += definition(
                    term: "\\fB\\-\\-\\fR\\fIoption\\fR \\fIvalue\\fR",
                    text: "An option of the provider (see OPTIONS)."
                )
            }
        }
        for section in command.help.sections
        where !["OVERVIEW", "USAGE", "OPTIONS", "EXAMPLES"].contains(section.title) {
            // The exit statuses every command shares are said once, under EXIT STATUS.
            let trimmed = section.lines.map(\.trimmed).filter { !$0.isEmpty }
            if let shared = main.section(section.title), shared.lines.map(\.trimmed).filter({ !$0.isEmpty }) == trimmed
            {
                continue
            }
            let words = section.title.split(separator: " ").enumerated().map { index, word in
                word == "JSON"
                    ? String(word) : index == 0 ? word.prefix(1) + word.dropFirst().lowercased() : word.lowercased()
            }
            lines += [".PP", "\(escape(words.joined(separator: " "))):"]
            if section.title.contains("JSON") {
                lines +=
                    [".RS 4", ".nf"] + section.lines.map(\.trimmed).filter { !$0.isEmpty }.map(escape) + [".fi", ".RE"]
            } else {
                lines += render(HelpText.blocks(section.lines), indentParagraphs: true)
            }
        }
        return lines
    }

    private static func render(_ blocks: [HelpText.Block], indentParagraphs: Bool = false) -> [String] {
        var lines: [String] = []
        for block in blocks {
            switch block {
            case .paragraph(let text):
                lines += indentParagraphs ? [".RS 4", escape(text), ".RE"] : [".PP", escape(text)]
            case .item(let text):
                if let space = text.firstIndex(of: " "), text.first?.isNumber == true || text.hasPrefix("-") {
                    lines += [".IP \(quoted(String(text[..<space]))) 4", escape(text[space...].trimmed)]
                } else {
                    lines += [".RS 4", escape(text), ".RE"]
                }
            case .definitions(let list):
                lines += list.flatMap { definition(term: "\\fB\(escape($0.term))\\fR", text: $0.text) }
            }
        }
        return lines
    }

    private static func definition(term: String, text: String?, rawText: String? = nil, escaped: Bool = false)
        -> [String]
    {
        [".TP", term, rawText ?? (escaped ? text ?? "" : escape(text ?? ""))]
    }

    private static func optionTerm(_ option: CLIDescription.Option) -> String {
        var term = option.short.map { "\\fB\\-\($0)\\fR, " } ?? ""
        term += "\\fB\\-\\-\(escape(option.name))\\fR"
        if let value = option.valueName { term += " \\fI\(escape(value))\\fR" }
        return term
    }

    /// Usage lines, each one hanging: its continuation lines indented under the command.
    private static func synopses(_ usages: [String]) -> [String] {
        [".PP", ".in +4n"] + usages.flatMap { [".ti -4n", synopsis($0)] } + [".in -4n"]
    }

    /// A usage line: the command in bold, the rest in roman, spaces inside brackets unbreakable
    /// so that a line breaks between options, never inside one.
    private static func synopsis(_ usage: String) -> String {
        var words = usage.split(separator: " ").map(String.init)
        var head = ["cmk"]
        if words.first == "cmk" { words.removeFirst() }
        if let first = words.first, first.first?.isLetter == true { head.append(first); words.removeFirst() }
        var rest = ""
        var depth = 0
        for character in words.joined(separator: " ") {
            if character == "[" { depth += 1 }
            if character == "]" { depth -= 1 }
            rest += character == " " && depth > 0 ? "\\ " : escape(String(character))
        }
        return "\\fB\(head.joined(separator: " "))\\fR" + (rest.isEmpty ? "" : " " + rest)
    }

    /// Text for roff: backslashes and dashes escaped, nothing a request could be taken for.
    private static func escape(_ text: some StringProtocol) -> String {
        // `\:` after a slash: a long path or URL may break there.
        let escaped = String(text).replacing(["\\": "\\e", "-": "\\-", "/": "/\\:"])
        return escaped.hasPrefix(".") || escaped.hasPrefix("'") ? "\\&" + escaped : escaped
    }

    private static func quoted(_ text: String) -> String { "\"" + text.replacing(["\"": "\\(dq"]) + "\"" }

    private static func lowercasedFirst(_ text: String) -> String {
        guard let first = text.first, text.dropFirst().first?.isLowercase == true else { return text }
        return first.lowercased() + text.dropFirst()
    }
}
