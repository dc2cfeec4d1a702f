import Foundation
import Testing

/// `--output openmetrics` (issue 11, item 4), read back by a parser of the OpenMetrics text
/// format written here (https://github.com/prometheus/OpenMetrics/blob/main/specification/OpenMetrics.md).
@Suite("OpenMetrics output")
struct MetricsTests {
    static func metrics(_ emulator: AzureEmulatorProcess, _ extra: [String] = []) async throws -> (
        CMKResult, [OpenMetrics.Family]
    ) {
        let result = try await runCMK(
            ["status", "--provider", "azure", "--key-uri", AzureEmulatorProcess.keyURI, "--output", "openmetrics"]
                + extra,
            environment: emulator.signedIn
        )
        return (result, try OpenMetrics.parse(result.stdout))
    }

    @Test("the parser refuses what the format forbids (so that a parse means something)")
    func parserRejects() {
        let good = "# TYPE a gauge\na{x=\"1\"} 1\n# EOF\n"
        #expect((try? OpenMetrics.parse(good)) != nil)
        let broken = [
            "# TYPE a gauge\na 1\n",  // no # EOF
            "# TYPE a gauge\na 1\n# EOF\nb 1\n",  // after # EOF
            "# TYPE a gauge\na{x=\"1\"} one\n# EOF\n",  // value
            "# TYPE a gauge\na{x=1} 1\n# EOF\n",  // unquoted label value
            "# TYPE a gauge\na{x=\"\\q\"} 1\n# EOF\n",  // escape
            "# TYPE a gauge\na{x=\"1\",x=\"2\"} 1\n# EOF\n",  // duplicate label
            "# TYPE a gauge\na{x=\"1\"} 1\na{x=\"1\"} 2\n# EOF\n",  // duplicate series
            "# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\n# TYPE a gauge\n# EOF\n",  // interleaved family
            "# TYPE a_seconds gauge\n# UNIT a_seconds bytes\na_seconds 1\n# EOF\n",  // unit not the suffix
            "# TYPE a gauge\nb 1\n# EOF\n",  // sample of another family
            "# TYPE 9a gauge\n# EOF\n",  // name
            "# TYPE a gauge\n\na 1\n# EOF\n",  // empty line
            "# TYPE a wobble\n# EOF\n",  // type
        ]
        for text in broken { #expect((try? OpenMetrics.parse(text)) == nil, "\(text.debugDescription)") }
    }

    @Test("cmk_ready, cmk_check_state (1 for the current state), the key's expiry, last run and duration; # EOF")
    func families() async throws {
        let emulator = try await AzureEmulatorProcess("ready") { OpsScenarios.expiringKey(&$0) }
        let json = try await AzureStatus.run(environment: emulator.signedIn)
        let before = Date().timeIntervalSince1970
        let (result, families) = try await Self.metrics(emulator)
        #expect(result.status == json.result.status)
        #expect(result.stdout.hasSuffix("# EOF\n"))
        let byName = Dictionary(uniqueKeysWithValues: families.map { ($0.name, $0) })
        #expect(
            Set(byName.keys) == [
                "cmk_ready", "cmk_check_state", "cmk_key_expiry_timestamp_seconds", "cmk_last_run_timestamp_seconds",
                "cmk_run_duration_seconds",
            ]
        )
        for family in families { #expect(family.type == "gauge", "\(family.name)") }
        let labels = ["provider": "azure", "target": AzureEmulatorProcess.keyURI]

        let ready = try #require(byName["cmk_ready"]?.samples.first)
        #expect(ready.labels == labels)
        #expect(ready.value == 1)

        let states = try #require(byName["cmk_check_state"]).samples
        for check in json.checks {
            let id = check["id"] as! String
            let series = states.filter { $0.labels["check"] == id }
            #expect(series.count == 6, "every state of \(id)")
            #expect(series.filter { $0.value == 1 }.map { $0.labels["state"] } == [check["state"] as? String], "\(id)")
            #expect(series.allSatisfy { $0.value == 0 || $0.value == 1 })
            #expect(series.allSatisfy { $0.labels["provider"] == "azure" && $0.labels["target"] == labels["target"] })
        }
        #expect(states.count == 6 * json.checks.count)

        let expiry = try #require(byName["cmk_key_expiry_timestamp_seconds"])
        #expect(expiry.unit == "seconds")
        #expect(expiry.samples.map(\.value) == [Double(OpsScenarios.expiry)])
        #expect(expiry.samples.first?.labels["check"] == "key-expiry")
        #expect(json.check("key-expiry")["expires"] as? Int == OpsScenarios.expiry, "the JSON carries it too")

        let lastRun = try #require(byName["cmk_last_run_timestamp_seconds"]?.samples.first)
        #expect(abs(lastRun.value - before) < 120, "\(lastRun.value) vs \(before)")
        #expect(byName["cmk_last_run_timestamp_seconds"]?.unit == "seconds")
        let duration = try #require(byName["cmk_run_duration_seconds"]?.samples.first)
        #expect(duration.value > 0 && duration.value < 60)
    }

    @Test("a report that needs action: cmk_ready 0, and the failing check's state series says so")
    func notReady() async throws {
        let emulator = try await AzureEmulatorProcess("ready") { OpsScenarios.disabledKey(&$0) }
        let (result, families) = try await Self.metrics(emulator, ["--fail-on", "never"])
        #expect(result.status == 0, "--fail-on never: the textfile collector job does not fail")
        #expect(families.first { $0.name == "cmk_ready" }?.samples.first?.value == 0)
        let keyEnabled = families.first { $0.name == "cmk_check_state" }?.samples.filter {
            $0.labels["check"] == "key-enabled" && $0.value == 1
        }
        #expect(keyEnabled?.map { $0.labels["state"] } == ["action-required"])
        #expect(families.first { $0.name == "cmk_key_expiry_timestamp_seconds" }?.samples.isEmpty == true, "no expiry")
    }

    @Test("no expiry is made up: a key without one has no expiry sample, and the family stays well-formed")
    func noExpiry() async throws {
        let emulator = try await AzureEmulatorProcess("ready")
        let (_, families) = try await Self.metrics(emulator)
        let expiry = try #require(families.first { $0.name == "cmk_key_expiry_timestamp_seconds" })
        #expect(expiry.samples.isEmpty)
    }
}

/// A parser of the OpenMetrics text format, as far as these tests need: metric families with
/// TYPE, UNIT and HELP, samples with labels, escaping, no interleaving, no duplicate series,
/// nothing after `# EOF`. Throws on anything the specification does not allow.
enum OpenMetrics {
    struct Sample: Equatable {
        var name: String
        var labels: [String: String]
        var value: Double
    }

    struct Family {
        var name: String
        var type = "unknown"
        var unit: String?
        var help: String?
        var samples: [Sample] = []
    }

    static let types: Set<String> = [
        "counter", "gauge", "stateset", "info", "histogram", "gaugehistogram", "summary",
        "unknown",
    ]

    static func isMetricName(_ name: Substring) -> Bool {
        guard let first = name.first, first.isASCII, first.isLetter || first == "_" || first == ":" else {
            return false
        }
        return name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == ":") }
    }

    static func isLabelName(_ name: Substring) -> Bool {
        guard let first = name.first, first.isASCII, first.isLetter || first == "_" else { return false }
        return name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
    }

    static func parse(_ text: String) throws -> [Family] {
        guard text.hasSuffix("# EOF\n") || text.hasSuffix("# EOF") else { throw TestFailure("no # EOF at the end") }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        guard lines.last == "# EOF" else { throw TestFailure("# EOF is not the last line") }
        lines.removeLast()
        var families: [Family] = []
        var closed: Set<String> = []
        for line in lines {
            guard !line.isEmpty else { throw TestFailure("an empty line") }
            if line.hasPrefix("#") {
                let parts = line.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: false)
                guard parts.count >= 3, parts[0] == "#", ["TYPE", "UNIT", "HELP"].contains(parts[1]),
                    isMetricName(parts[2])
                else { throw TestFailure("a comment or bad metadata line: \(line)") }
                let name = String(parts[2])
                let value = parts.count == 4 ? String(parts[3]) : ""
                if families.last?.name != name {
                    guard !closed.contains(name), !families.contains(where: { $0.name == name }) else {
                        throw TestFailure("family \(name) is interleaved")
                    }
                    if let last = families.last { closed.insert(last.name) }
                    families.append(Family(name: name))
                }
                let index = families.count - 1
                guard families[index].samples.isEmpty else { throw TestFailure("metadata after samples: \(line)") }
                switch parts[1] {
                case "TYPE":
                    guard types.contains(value) else { throw TestFailure("type \(value)") }
                    families[index].type = value
                case "UNIT":
                    guard name.hasSuffix("_\(value)") else {
                        throw TestFailure("unit \(value) is not \(name)'s suffix")
                    }
                    families[index].unit = value
                default:
                    families[index].help = try unescape(value, quote: true)
                }
                continue
            }
            let sample = try parseSample(line)
            guard let index = families.indices.last,
                families[index].name == sample.name
                    || (families[index].type != "gauge" && sample.name.hasPrefix(families[index].name))
            else { throw TestFailure("sample \(sample.name) outside its family") }
            guard !families[index].samples.contains(where: { $0.name == sample.name && $0.labels == sample.labels })
            else { throw TestFailure("duplicate series: \(line)") }
            families[index].samples.append(sample)
        }
        return families
    }

    static func parseSample(_ line: String) throws -> Sample {
        var rest = Substring(line)
        let name = rest.prefix { $0 != "{" && $0 != " " }
        guard isMetricName(name) else { throw TestFailure("metric name in \(line)") }
        rest = rest.dropFirst(name.count)
        var labels: [String: String] = [:]
        if rest.first == "{" {
            rest = rest.dropFirst()
            while rest.first != "}" {
                let labelName = rest.prefix { $0 != "=" }
                guard isLabelName(labelName) else { throw TestFailure("label name in \(line)") }
                rest = rest.dropFirst(labelName.count)
                guard rest.hasPrefix("=\"") else { throw TestFailure("label value not quoted in \(line)") }
                rest = rest.dropFirst(2)
                var raw = ""
                var escaped = false
                while let character = rest.first {
                    rest = rest.dropFirst()
                    if escaped {
                        raw.append("\\")
                        raw.append(character)
                        escaped = false
                    } else if character == "\\" {
                        escaped = true
                    } else if character == "\"" {
                        break
                    } else {
                        raw.append(character)
                    }
                }
                guard labels[String(labelName)] == nil else { throw TestFailure("duplicate label in \(line)") }
                labels[String(labelName)] = try unescape(raw, quote: true)
                if rest.first == "," {
                    rest = rest.dropFirst()
                } else if rest.first != "}" {
                    throw TestFailure("labels in \(line)")
                }
            }
            rest = rest.dropFirst()
        }
        guard rest.first == " " else { throw TestFailure("no space before the value in \(line)") }
        let fields = rest.dropFirst().split(separator: " ", omittingEmptySubsequences: false)
        guard (1...2).contains(fields.count), let value = number(fields[0]) else {
            throw TestFailure("value in \(line)")
        }
        if fields.count == 2, number(fields[1]) == nil { throw TestFailure("timestamp in \(line)") }
        return Sample(name: String(name), labels: labels, value: value)
    }

    static func number(_ text: Substring) -> Double? {
        switch text {
        case "NaN": return .nan
        case "+Inf": return .infinity
        case "-Inf": return -.infinity
        default:
            guard !text.isEmpty, text.allSatisfy({ $0.isNumber || "+-.eE".contains($0) }) else { return nil }
            return Double(text)
        }
    }

    /// `\\`, `\n` and (in label values) `\"` are the only escapes.
    static func unescape(_ text: String, quote: Bool) throws -> String {
        var out = ""
        var iterator = text.makeIterator()
        while let character = iterator.next() {
            guard character == "\\" else {
                out.append(character)
                continue
            }
            switch iterator.next() {
            case "\\": out.append("\\")
            case "n": out.append("\n")
            case "\"" where quote: out.append("\"")
            default: throw TestFailure("a bad escape in \(text)")
            }
        }
        return out
    }
}
