import CMKCore
import CMKHost
import FoundationEssentials

/// `--output openmetrics`: the OpenMetrics text format (https://openmetrics.io), for a
/// node_exporter textfile collector or a push to a Pushgateway.
///
/// ```
/// # TYPE cmk_ready gauge
/// cmk_ready{provider="azure",target="prod-eu"} 0
/// # TYPE cmk_check_state gauge
/// cmk_check_state{provider="azure",target="prod-eu",check="key-enabled",state="ok"} 0
/// cmk_check_state{provider="azure",target="prod-eu",check="key-enabled",state="action-required"} 1
/// …
/// # EOF
/// ```
///
/// Only gauges, so the Prometheus text parser (node_exporter's) reads it too: it takes `# UNIT`
/// and `# EOF` for comments. `target` is the target's name with `--targets`, else the key.
enum OpenMetricsOutput {
    static func render(_ outcomes: [TargetOutcome]) -> String {
        var lines: [String] = []
        func family(_ name: String, unit: String? = nil, help: String, samples: [String]) {
            lines.append("# TYPE \(name) gauge")
            if let unit { lines.append("# UNIT \(name) \(unit)") }
            lines.append("# HELP \(name) \(escapeHelp(help))")
            lines.append(contentsOf: samples)
        }
        func base(_ outcome: TargetOutcome) -> [(String, String)] {
            [("provider", outcome.provider), ("target", outcome.label)]
        }

        family(
            "cmk_ready",
            help: "1 when every check that decides readiness is ok, 0 otherwise (or when the run failed).",
            samples: outcomes.map { outcome in
                sample("cmk_ready", base(outcome), outcome.document?.ready == true ? "1" : "0")
            }
        )
        family(
            "cmk_check_state",
            help: "The state of each check: 1 for its current state, 0 for the others.",
            samples: outcomes.flatMap { outcome in
                outcome.checks.flatMap { check in
                    CheckState.allCases.map { state in
                        sample(
                            "cmk_check_state",
                            base(outcome) + [("check", check.id), ("state", state.rawValue)],
                            check.state == state ? "1" : "0"
                        )
                    }
                }
            }
        )
        family(
            "cmk_key_expiry_timestamp_seconds",
            unit: "seconds",
            help: "When the key expires (the check's expires field), in seconds since 1970; absent when it never does.",
            samples: outcomes.flatMap { outcome in
                outcome.checks.compactMap { check in
                    check.expires.map {
                        sample("cmk_key_expiry_timestamp_seconds", base(outcome) + [("check", check.id)], String($0))
                    }
                }
            }
        )
        family(
            "cmk_last_run_timestamp_seconds",
            unit: "seconds",
            help: "When this status run started, in seconds since 1970.",
            samples: outcomes.map {
                sample("cmk_last_run_timestamp_seconds", base($0), number($0.startedAt))
            }
        )
        family(
            "cmk_run_duration_seconds",
            unit: "seconds",
            help: "How long this status run took.",
            samples: outcomes.map { sample("cmk_run_duration_seconds", base($0), number($0.duration)) }
        )
        lines.append("# EOF")
        return lines.joined(separator: "\n")
    }

    static func sample(_ name: String, _ labels: [(String, String)], _ value: String) -> String {
        let text = labels.map { "\($0.0)=\"\(escapeLabel($0.1))\"" }.joined(separator: ",")
        return "\(name){\(text)} \(value)"
    }

    /// Milliseconds are enough: `1764772272.123`, `0.231`.
    static func number(_ value: Double) -> String {
        guard value.isFinite else { return "NaN" }
        let rounded = (value * 1000).rounded() / 1000
        return rounded == rounded.rounded() && abs(rounded) < 1e15 ? String(Int64(rounded)) : String(rounded)
    }

    /// A label value: `\`, `"` and line feeds escaped.
    static func escapeLabel(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(character)
            }
        }
        return out
    }

    /// HELP text: `\` and line feeds escaped.
    static func escapeHelp(_ text: String) -> String {
        text.replacing("\\", with: "\\\\").replacing("\n", with: "\\n")
    }
}
