/// A small JSON writer for the messages on cmk's start path (detection).
///
/// JSONEncoder costs a fresh image (a provider links its own copy of CMKCore) a few hundred
/// microseconds of metadata and conformance lookups the first time; detection runs on every
/// `cmk` start, once per provider, so its two messages are written by hand. The output is
/// what JSONEncoder with sorted keys would write, and what JSONDecoder reads back (tested).
package struct CompactJSON {
    /// UTF-8, built byte by byte: String's scalar views and appends cost a fresh image more in
    /// first-use metadata than the whole message.
    package private(set) var bytes: [UInt8] = []

    package init() {}

    /// A literal written as is: `true`, `false`, `null`.
    package mutating func raw(_ text: StaticString) {
        bytes.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    package mutating func string(_ value: String) {
        bytes.append(UInt8(ascii: "\""))
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""): raw("\\\"")
            case UInt8(ascii: "\\"): raw("\\\\")
            case 0x0A: raw("\\n")
            case 0x0D: raw("\\r")
            case 0x09: raw("\\t")
            case 0..<0x20:
                let digits: StaticString = "0123456789abcdef"
                raw("\\u00")
                bytes.append(digits.utf8Start[Int(byte >> 4)])
                bytes.append(digits.utf8Start[Int(byte & 0xF)])
            default: bytes.append(byte)  // UTF-8 passes through: JSON text is UTF-8
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    package mutating func strings(_ values: [String]) {
        bytes.append(UInt8(ascii: "["))
        for (index, value) in values.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            string(value)
        }
        bytes.append(UInt8(ascii: "]"))
    }

    package mutating func dictionary(_ values: [String: String]) {
        bytes.append(UInt8(ascii: "{"))
        for (index, key) in values.keys.sorted().enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            string(key)
            bytes.append(UInt8(ascii: ":"))
            string(values[key]!)
        }
        bytes.append(UInt8(ascii: "}"))
    }

    /// Writes `{"key":…,…}` with the keys in the given (sorted) order.
    package mutating func object(_ members: [(String, (inout CompactJSON) -> Void)]) {
        bytes.append(UInt8(ascii: "{"))
        for (index, (key, write)) in members.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            string(key)
            bytes.append(UInt8(ascii: ":"))
            write(&self)
        }
        bytes.append(UInt8(ascii: "}"))
    }
}

extension DetectionRequest {
    /// `{"op":"detect","probe":…,"snapshot":{"environment":{…},"files":{…}}}`
    package func wireBytes() -> [UInt8] {
        var json = CompactJSON()
        json.object([
            ("op", { $0.string(WireOperation.detect.rawValue) }),
            ("probe", { probe ? $0.raw("true") : $0.raw("false") }),
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
            ("platform", { json in if let platform { json.string(platform) } else { json.raw("null") } }),
            ("rejected", { $0.strings(rejected) }),
            ("strength", { $0.string(strength.rawValue) }),
        ])
        return json.bytes
    }
}

/// The reading side, for the detection request every provider decodes on every `cmk` start.
///
/// Handles what JSON allows (escapes, surrogate pairs, whitespace, any key order) but builds
/// only strings, booleans, null, arrays and objects; a number or anything malformed makes it
/// give up (nil), and the caller falls back to JSONDecoder, which then reports the error.
package enum CompactJSONValue: Equatable, Sendable {
    case string(String)
    case bool(Bool)
    case null
    case array([CompactJSONValue])
    case object([String: CompactJSONValue])

    package static func parse(_ bytes: [UInt8]) -> CompactJSONValue? {
        var reader = Reader(bytes: bytes)
        guard let value = reader.value() else { return nil }
        reader.skipSpace()
        return reader.index == bytes.count ? value : nil
    }

    private struct Reader {
        let bytes: [UInt8]
        var index = 0

        mutating func skipSpace() {
            while index < bytes.count {
                switch bytes[index] {
                case 0x20, 0x09, 0x0A, 0x0D: index += 1
                default: return
                }
            }
        }

        mutating func value() -> CompactJSONValue? {
            skipSpace()
            guard index < bytes.count else { return nil }
            switch bytes[index] {
            case UInt8(ascii: "\""): return string().map(CompactJSONValue.string)
            case UInt8(ascii: "{"): return object()
            case UInt8(ascii: "["): return array()
            case UInt8(ascii: "t"): return literal("true", .bool(true))
            case UInt8(ascii: "f"): return literal("false", .bool(false))
            case UInt8(ascii: "n"): return literal("null", .null)
            default: return nil
            }
        }

        mutating func literal(_ word: String, _ result: CompactJSONValue) -> CompactJSONValue? {
            let expected = Array(word.utf8)
            guard bytes.count - index >= expected.count, Array(bytes[index..<(index + expected.count)]) == expected
            else {
                return nil
            }
            index += expected.count
            return result
        }

        mutating func object() -> CompactJSONValue? {
            index += 1
            var members: [String: CompactJSONValue] = [:]
            skipSpace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
                index += 1
                return .object(members)
            }
            while true {
                skipSpace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: "\""), let key = string() else { return nil }
                skipSpace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { return nil }
                index += 1
                // A repeated key: JSONDecoder keeps the first, so give up rather than read another value.
                guard let member = value(), members[key] == nil else { return nil }
                members[key] = member
                skipSpace()
                guard index < bytes.count else { return nil }
                if bytes[index] == UInt8(ascii: ",") {
                    index += 1
                } else if bytes[index] == UInt8(ascii: "}") {
                    index += 1
                    return .object(members)
                } else {
                    return nil
                }
            }
        }

        mutating func array() -> CompactJSONValue? {
            index += 1
            var elements: [CompactJSONValue] = []
            skipSpace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
                index += 1
                return .array(elements)
            }
            while true {
                guard let element = value() else { return nil }
                elements.append(element)
                skipSpace()
                guard index < bytes.count else { return nil }
                if bytes[index] == UInt8(ascii: ",") {
                    index += 1
                } else if bytes[index] == UInt8(ascii: "]") {
                    index += 1
                    return .array(elements)
                } else {
                    return nil
                }
            }
        }

        /// A string starting at the opening quote; nil when malformed, or not UTF-8 (JSONDecoder
        /// refuses that too). Built as bytes: no String scalar views on the start path.
        mutating func string() -> String? {
            index += 1
            var text: [UInt8] = []
            while index < bytes.count {
                let byte = bytes[index]
                index += 1
                if byte == UInt8(ascii: "\"") { return String(validating: text, as: UTF8.self) }
                if byte < 0x20 { return nil }
                guard byte == UInt8(ascii: "\\") else {
                    text.append(byte)
                    continue
                }
                guard index < bytes.count else { return nil }
                let escape = bytes[index]
                index += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): text.append(escape)
                case UInt8(ascii: "b"): text.append(0x08)
                case UInt8(ascii: "f"): text.append(0x0C)
                case UInt8(ascii: "n"): text.append(0x0A)
                case UInt8(ascii: "r"): text.append(0x0D)
                case UInt8(ascii: "t"): text.append(0x09)
                case UInt8(ascii: "u"):
                    guard var code = hex4() else { return nil }
                    if (0xDC00..<0xE000).contains(code) { return nil }  // a low surrogate alone
                    if (0xD800..<0xDC00).contains(code) {
                        // A high surrogate must be followed by an escaped low one.
                        guard bytes.count - index >= 6, bytes[index] == UInt8(ascii: "\\"),
                            bytes[index + 1] == UInt8(ascii: "u")
                        else { return nil }
                        index += 2
                        guard let low = hex4(), (0xDC00..<0xE000).contains(low) else { return nil }
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    }
                    appendUTF8(code, to: &text)
                default: return nil
                }
            }
            return nil
        }

        /// Four hex digits exactly (no sign, as UInt32(_:radix:) would also take), as a number.
        mutating func hex4() -> UInt32? {
            guard bytes.count - index >= 4 else { return nil }
            var value: UInt32 = 0
            for byte in bytes[index..<(index + 4)] {
                let digit: UInt8
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
                default: return nil
                }
                value = value << 4 | UInt32(digit)
            }
            index += 4
            return value
        }

        /// A scalar (never a surrogate here) as its UTF-8 bytes.
        func appendUTF8(_ code: UInt32, to text: inout [UInt8]) {
            switch code {
            case 0..<0x80:
                text.append(UInt8(code))
            case 0x80..<0x800:
                text += [UInt8(0xC0 | code >> 6), UInt8(0x80 | code & 0x3F)]
            case 0x800..<0x10000:
                text += [UInt8(0xE0 | code >> 12), UInt8(0x80 | code >> 6 & 0x3F), UInt8(0x80 | code & 0x3F)]
            default:
                text += [
                    UInt8(0xF0 | code >> 18), UInt8(0x80 | code >> 12 & 0x3F), UInt8(0x80 | code >> 6 & 0x3F),
                    UInt8(0x80 | code & 0x3F),
                ]
            }
        }
    }

    var stringValue: String? { if case .string(let value) = self { value } else { nil } }

    var stringArray: [String]? {
        guard case .array(let elements) = self else { return nil }
        var result: [String] = []
        for element in elements {
            guard let text = element.stringValue else { return nil }
            result.append(text)
        }
        return result
    }

    var stringDictionary: [String: String]? {
        guard case .object(let members) = self else { return nil }
        var result: [String: String] = [:]
        for (key, value) in members {
            guard let text = value.stringValue else { return nil }
            result[key] = text
        }
        return result
    }
}

extension DetectionRequest {
    /// Reads a `detect` request without JSONDecoder; nil when it is not exactly that shape.
    package init?(wireBytes bytes: [UInt8]) {
        guard case .object(let message)? = CompactJSONValue.parse(bytes),
            message["op"]?.stringValue == WireOperation.detect.rawValue,
            case .object(let snapshot)? = message["snapshot"],
            let environment = snapshot["environment"]?.stringDictionary,
            let files = snapshot["files"]?.stringDictionary
        else { return nil }
        var probe = false
        if let value = message["probe"] {
            guard case .bool(let flag) = value else { return nil }
            probe = flag
        }
        self.init(snapshot: PlatformSnapshot(environment: environment, files: files), probe: probe)
    }
}

extension Detection {
    /// Reads a `detect` reply without JSONDecoder; nil when it is not exactly that shape (an
    /// `{"error"}` reply among them), and the caller decodes it with JSONDecoder, which reports
    /// what is wrong. The host reads one per provider on every `cmk` start, just after loading
    /// them, when each first use of a Codable type costs a scan of every conformance record.
    package init?(wireBytes bytes: [UInt8]) {
        guard case .object(let reply)? = CompactJSONValue.parse(bytes), reply["error"] == nil,
            let strength = reply["strength"]?.stringValue.flatMap(Strength.init(rawValue:)),
            let evidence = reply["evidence"]?.stringArray,
            let rejected = reply["rejected"]?.stringArray,
            let details = reply["details"]?.stringDictionary
        else { return nil }
        var platform: String?
        switch reply["platform"] {
        case nil, .null?: platform = nil
        case .string(let name)?: platform = name
        default: return nil
        }
        self.init(strength: strength, platform: platform, evidence: evidence, rejected: rejected, details: details)
    }
}

