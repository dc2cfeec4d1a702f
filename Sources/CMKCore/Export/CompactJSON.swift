/// A small JSON writer for the messages on cmk's start path (detection).
///
/// JSONEncoder costs a fresh image (a provider links its own copy of CMKCore) a few hundred
/// microseconds of metadata and conformance lookups the first time; detection runs on every
/// `cmk` start, once per provider, so its two messages are written by hand. The output is
/// what JSONEncoder with sorted keys would write, and what JSONDecoder reads back (tested).
package struct CompactJSON {
    package var text = ""

    package init() {}

    package mutating func string(_ value: String) {
        text.append("\"")
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": text.append("\\\"")
            case "\\": text.append("\\\\")
            case "\n": text.append("\\n")
            case "\r": text.append("\\r")
            case "\t": text.append("\\t")
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                text.append("\\u" + String(repeating: "0", count: 4 - hex.count) + hex)
            default: text.unicodeScalars.append(scalar)
            }
        }
        text.append("\"")
    }

    package mutating func strings(_ values: [String]) {
        text.append("[")
        for (index, value) in values.enumerated() {
            if index > 0 { text.append(",") }
            string(value)
        }
        text.append("]")
    }

    package mutating func dictionary(_ values: [String: String]) {
        text.append("{")
        for (index, key) in values.keys.sorted().enumerated() {
            if index > 0 { text.append(",") }
            string(key)
            text.append(":")
            string(values[key]!)
        }
        text.append("}")
    }

    /// Writes `{"key":…,…}` with the keys in the given (sorted) order.
    package mutating func object(_ members: [(String, (inout CompactJSON) -> Void)]) {
        text.append("{")
        for (index, (key, write)) in members.enumerated() {
            if index > 0 { text.append(",") }
            string(key)
            text.append(":")
            write(&self)
        }
        text.append("}")
    }

    package var bytes: [UInt8] { Array(text.utf8) }
}

extension DetectionRequest {
    /// `{"op":"detect","probe":…,"snapshot":{"environment":{…},"files":{…}}}`
    package func wireBytes() -> [UInt8] {
        var json = CompactJSON()
        json.object([
            ("op", { $0.string(WireOperation.detect.rawValue) }),
            ("probe", { $0.text.append(probe ? "true" : "false") }),
            (
                "snapshot",
                { json in
                    json.object([
                        ("environment", { $0.dictionary(snapshot.environment) }),
                        ("files", { $0.dictionary(snapshot.files) }),
                    ])
                }
            ),
        ])
        return json.bytes
    }
}

extension Detection {
    /// The reply to `detect`, as JSONEncoder with sorted keys would write it.
    package func wireBytes() -> [UInt8] {
        var json = CompactJSON()
        json.object([
            ("details", { $0.dictionary(details) }),
            ("evidence", { $0.strings(evidence) }),
            ("platform", { json in if let platform { json.string(platform) } else { json.text.append("null") } }),
            ("rejected", { $0.strings(rejected) }),
            ("strength", { $0.string(strength.rawValue) }),
        ])
        return json.bytes
    }
}
