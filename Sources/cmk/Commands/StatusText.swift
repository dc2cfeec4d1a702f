import CMKCore
import CMKHost

/// `cmk status` as text: one line per check (marker, state, id, summary), its next step in an
/// indented block below, causes shared by several checks said once above them, and a verdict.
///
/// ```
/// Provider: azure (chosen by --provider)
/// Platform: not detected on this machine
///
/// Needs sign-in: No Azure sign-in is set up
///     → Set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET, or run az login.
///     Affects 12 checks below, marked "needs sign-in".
///
///   ✓ ok               key-uri: https://contoso-cmk.vault.azure.net/keys/cmk-key: vault …
///   ? unknown          app-consent: Not checked (needs sign-in)
///       → To consent now: https://login.microsoftonline.com/…
/// ```
struct StatusText {
    var terminal: Terminal

    /// Where a check's summary continues and its remediation starts.
    static let blockIndent = 6
    static let stateWidth = CheckState.allCases.map(\.rawValue.count).max() ?? 15

    func print(_ document: StatusDocument, exit: ExitStatus) {
        let source = document.selection.kind == .detection ? "detected" : "chosen by \(document.selection.detail)"
        terminal.out(terminal.paint("Provider: \(document.provider)", .bold) + " (\(source))")
        if let platform = document.platform {
            emit("Platform: \(platform.name)", indent: 4)
            for line in platform.evidence { emit("evidence: \(line)", lead: "  ", indent: 6, style: .dim) }
        } else {
            terminal.out("Platform: not detected on this machine")
        }
        if let credential = document.credential { emit("Signed in with: \(credential)", indent: 4) }
        terminal.out()
        for cause in document.causes { printCause(cause, in: document) }
        // Warnings do not block readiness: they come after the steps, so the steps read in order.
        let warnings = document.checks.filter { $0.state == .warning }
        for check in document.checks.filter({ $0.state != .warning }) + warnings { printCheck(check) }
        terminal.out()
        printVerdict(document, exit: exit)
    }

    private func printCause(_ cause: CheckCause, in document: StatusDocument) {
        let affected = document.checks.filter { $0.cause?.id == cause.id }
        let title = cause.label
        let lines = TextLayout.wrap(cause.summary, width: terminal.width, firstColumn: title.count + 2, indent: 4)
        terminal.out(terminal.paint(title + ":", .bold) + " " + lines[0])
        for line in lines.dropFirst() { terminal.out(line) }
        if let remediation = cause.remediation { printRemediation(remediation, indent: 4) }
        let count = affected.count == 1 ? "1 check" : "\(affected.count) checks"
        emit("Affects \(count) below, marked \"\(cause.label)\".", lead: "    ", indent: 4)
        terminal.out()
    }

    private func printCheck(_ check: Check) {
        let label = Self.label(check.state)
        let marker = terminal.unicode ? label.unicode : label.ascii
        let state = check.state.rawValue.padding(Self.stateWidth)
        let summary = check.cause.map { cause in "\(check.summary) (\(cause.label))" } ?? check.summary
        let lead = "  \(marker) \(state)  "
        let lines = TextLayout.wrap(
            "\(check.id): \(summary)",
            width: terminal.width,
            firstColumn: lead.count,
            indent: Self.blockIndent
        )
        terminal.out("  " + terminal.paint("\(marker) \(state)", label.style) + "  " + lines[0])
        for line in lines.dropFirst() { terminal.out(line) }
        if let remediation = check.remediation {
            printRemediation(remediation, indent: Self.blockIndent)
        } else if check.state == .unknown && check.cause == nil {
            // An unknown must always say what would settle it.
            printRemediation(
                "Fix what the line above names, then run '\(terminal.command) status' again",
                indent: Self.blockIndent
            )
        }
    }

    /// `→ text`, `indent` columns in, continued two further in; shell commands on lines of their own.
    private func printRemediation(_ text: String, indent: Int) {
        let arrow = terminal.arrow + " "
        let pad = String(repeating: " ", count: indent)
        let lines = TextLayout.block(text, width: terminal.width, firstColumn: indent + 2, indent: indent + 2)
        for (index, line) in lines.enumerated() {
            terminal.out(index == 0 ? pad + arrow + line : line)
        }
    }

    private func printVerdict(_ document: StatusDocument, exit: ExitStatus) {
        let checks = document.checks
        func list(_ state: CheckState) -> [String] { checks.filter { $0.state == state }.map(\.id) }
        func count(_ ids: [String], _ one: String, _ many: String) -> String {
            ids.count == 1 ? "1 \(one)" : "\(ids.count) \(many)"
        }
        let warnings = list(.warning)
        let text: String
        let style: Terminal.Style
        switch exit {
        case .ready:
            let manual = document.manualSteps
            let withWarnings = warnings.isEmpty ? "" : ", with \(count(warnings, "warning", "warnings")) (see above)"
            if manual.isEmpty {
                text = "Ready\(withWarnings): customer-managed keys are set up."
            } else {
                text = "Ready on your side\(withWarnings): \(count(manual, "manual step remains", "manual steps remain")) "
                    + "(\(manual.joined(separator: ", ")))."
            }
            style = .green
        case .actionRequired:
            let ids = list(.actionRequired)
            text = "Not ready: \(count(ids, "check needs", "checks need")) action (\(ids.joined(separator: ", ")))."
            style = .yellow
        default:
            let ids = checks.filter { $0.state == .unknown && $0.state.affectsReadiness }.map(\.id)
            text = "Incomplete: \(count(ids, "check", "checks")) could not be determined"
                + (ids.isEmpty ? "." : " (\(ids.joined(separator: ", "))).")
            style = .yellow
        }
        let lines = TextLayout.wrap(text + " (exit \(exit.rawValue))", width: terminal.width, firstColumn: 0, indent: 2)
        for line in lines { terminal.out(terminal.paint(line, style)) }
    }

    /// Wrapped text, `lead` before its first line, later lines `indent` in.
    private func emit(_ text: String, lead: String = "", indent: Int, style: Terminal.Style? = nil) {
        let lines = TextLayout.wrap(text, width: terminal.width, firstColumn: lead.count, indent: indent)
        for (index, line) in lines.enumerated() {
            let full = index == 0 ? lead + line : line
            terminal.out(style.map { terminal.paint(full, $0) } ?? full)
        }
    }

    static func label(_ state: CheckState) -> (unicode: String, ascii: String, style: Terminal.Style) {
        switch state {
        case .ok: ("✓", "+", .green)
        case .actionRequired: ("✗", "x", .red)
        case .warning: ("!", "!", .yellow)
        case .manual: ("•", "*", .cyan)
        case .unknown: ("?", "?", .yellow)
        case .notApplicable: ("–", "-", .dim)
        }
    }
}

extension String {
    func padding(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
}
