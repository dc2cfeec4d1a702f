import CMKCore
import CMKHost
import FoundationEssentials

/// `--output junit`: JUnit XML, as Jenkins, GitLab and Azure Pipelines read test reports.
///
/// One `<testsuite>` per target (the key for a plain `cmk status`), one `<testcase>` per check:
/// `action-required` is a `<failure>`, `unknown` an `<error>`, `manual` and `not-applicable`
/// are `<skipped>`, `warning` passes with a `<system-out>` note, `ok` passes. A target whose
/// provider gave no report is one `<error>` test case named `status`.
enum JUnitOutput {
    static func render(_ outcomes: [TargetOutcome]) -> String {
        struct Counts {
            var tests = 0
            var failures = 0
            var errors = 0
            var skipped = 0
            var time = 0.0
        }
        var total = Counts()
        var suites: [String] = []
        for outcome in outcomes {
            var counts = Counts()
            var cases: [String] = []
            let className = "cmk.\(outcome.provider)" + (outcome.target.map { ".\($0)" } ?? "")
            if let failure = outcome.failure {
                counts.tests = 1
                counts.errors = 1
                cases.append(
                    "    <testcase name=\"status\" classname=\"\(escape(className))\" time=\"0\">\n"
                        + "      <error message=\"\(escape(failure))\" type=\"provider-failed\">\(escape(failure))</error>\n"
                        + "    </testcase>"
                )
            }
            for check in outcome.checks {
                counts.tests += 1
                let open = "    <testcase name=\"\(escape(check.id))\" classname=\"\(escape(className))\" time=\"0\""
                let body = details(check)
                switch check.state {
                case .ok:
                    cases.append(open + "/>")
                case .actionRequired:
                    counts.failures += 1
                    cases.append(
                        open + ">\n      <failure message=\"\(escape(check.summary))\" type=\"action-required\">"
                            + "\(escape(body))</failure>\n    </testcase>"
                    )
                case .unknown:
                    counts.errors += 1
                    cases.append(
                        open + ">\n      <error message=\"\(escape(check.summary))\" type=\"unknown\">"
                            + "\(escape(body))</error>\n    </testcase>"
                    )
                case .manual, .notApplicable:
                    counts.skipped += 1
                    cases.append(
                        open + ">\n      <skipped message=\"\(escape("\(check.state.rawValue): \(check.summary)"))\"/>"
                            + "\n    </testcase>"
                    )
                case .warning:
                    cases.append(
                        open + ">\n      <system-out>\(escape("warning: " + body))</system-out>\n    </testcase>"
                    )
                }
            }
            counts.time = outcome.duration
            var properties = ["provider": outcome.provider]
            if let key = outcome.document?.key { properties["key"] = key }
            if let target = outcome.target { properties["target"] = target }
            let propertyLines = properties.sorted { $0.key < $1.key }.map {
                "      <property name=\"\(escape($0.key))\" value=\"\(escape($0.value))\"/>"
            }
            suites.append(
                "  <testsuite name=\"\(escape(outcome.label))\" tests=\"\(counts.tests)\" failures=\"\(counts.failures)\" "
                    + "errors=\"\(counts.errors)\" skipped=\"\(counts.skipped)\" time=\"\(seconds(counts.time))\" "
                    + "timestamp=\"\(timestamp(outcome.startedAt))\">\n"
                    + "    <properties>\n\(propertyLines.joined(separator: "\n"))\n    </properties>\n"
                    + cases.map { $0 + "\n" }.joined()
                    + "  </testsuite>"
            )
            total.tests += counts.tests
            total.failures += counts.failures
            total.errors += counts.errors
            total.skipped += counts.skipped
            total.time += counts.time
        }
        return """
            <?xml version="1.0" encoding="UTF-8"?>
            <testsuites name="cmk status" tests="\(total.tests)" failures="\(total.failures)" \
            errors="\(total.errors)" skipped="\(total.skipped)" time="\(seconds(total.time))">
            \(suites.joined(separator: "\n"))
            </testsuites>
            """
    }

    /// The summary, the fix and the evidence, one per line.
    static func details(_ check: Check) -> String {
        var lines = [check.summary]
        if let remediation = check.remediation { lines.append("→ \(remediation)") }
        for line in check.evidence ?? [] { lines.append("evidence: \(line)") }
        return lines.joined(separator: "\n")
    }

    static func seconds(_ value: Double) -> String {
        let milliseconds = Int((max(0, value) * 1000).rounded())
        let fraction = String(milliseconds % 1000)
        return "\(milliseconds / 1000).\(String(repeating: "0", count: 3 - fraction.count))\(fraction)"
    }

    /// ISO 8601 without a zone designator, as the JUnit schema's `timestamp` (UTC).
    static func timestamp(_ since1970: Double) -> String {
        String(Date(timeIntervalSince1970: since1970.rounded(.down)).formatted(.iso8601).dropLast())
    }

    /// Text for an attribute or element: the five XML entities, and characters XML 1.0 does not
    /// allow (control characters other than tab, line feed and carriage return) dropped.
    static func escape(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\t", "\n", "\r": out.unicodeScalars.append(scalar)
            default:
                let value = scalar.value
                if value < 0x20 || value == 0xFFFE || value == 0xFFFF { continue }
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
