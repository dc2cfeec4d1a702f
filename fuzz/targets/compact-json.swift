// Fuzz target: Sources/CMKCore/Export/CompactJSON.swift, the hand-written JSON on cmk's start path,
// against Foundation's JSONDecoder and JSONSerialization.
//
// Invariants:
// - reader agrees with Foundation: when CompactJSONValue.parse accepts valid UTF-8, JSONSerialization
//   accepts it too and JSONDecoder decodes the same value; when JSONDecoder decodes a document of
//   strings, booleans, nulls, arrays and objects (UTF-8, no byte-order mark or NUL), CompactJSONValue
//   reads it, to the same value, or gives up (nil: the caller then uses JSONDecoder) on a
//   repeated key, which JSONDecoder resolves by keeping the first, or on a trailing comma, which
//   JSONDecoder allows and JSON does not;
// - the detect request's fast path never disagrees with the slow one: DetectionRequest(wireBytes:)
//   non-nil on valid UTF-8 means JSONDecoder decodes the same request (or, the one accepted
//   leniency, the request has no "probe" member, read as false);
// - known and accepted: on invalid UTF-8 inside a string the compact reader substitutes U+FFFD
//   where Foundation refuses the document; the host writes these messages from Swift strings, so
//   they are always valid UTF-8 (fuzz/README.md);
// - writer round-trips: a Detection and a DetectionRequest built from the input's strings, written
//   with wireBytes(), are valid JSON (JSONSerialization) and decode with JSONDecoder, and with the
//   compact reader, to the same value.
import Foundation

/// The value model of CompactJSONValue, decoded by JSONDecoder (which tells a Bool from a number).
enum Mirror: Decodable, Equatable {
    case string(String)
    case bool(Bool)
    case null
    case array([Mirror])
    case object([String: Mirror])

    init(from decoder: any Decoder) throws {
        if var array = try? decoder.unkeyedContainer() {
            var elements: [Mirror] = []
            while !array.isAtEnd { elements.append(try array.decode(Mirror.self)) }
            self = .array(elements)
            return
        }
        if let object = try? decoder.container(keyedBy: AnyKey.self) {
            var members: [String: Mirror] = [:]
            for key in object.allKeys { members[key.stringValue] = try object.decode(Mirror.self, forKey: key) }
            self = .object(members)
            return
        }
        let single = try decoder.singleValueContainer()
        if single.decodeNil() { self = .null; return }
        if let flag = try? single.decode(Bool.self) { self = .bool(flag); return }
        self = .string(try single.decode(String.self))
    }

    init(_ value: CompactJSONValue) {
        switch value {
        case .string(let text): self = .string(text)
        case .bool(let flag): self = .bool(flag)
        case .null: self = .null
        case .array(let elements): self = .array(elements.map(Mirror.init))
        case .object(let members): self = .object(members.mapValues(Mirror.init))
        }
    }
}

struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

/// Outside strings: the number of ':' (in valid JSON, one per object member) and whether a ','
/// comes right before a '}' or ']' (a trailing comma, which JSONDecoder allows and JSON does not).
func scan(_ bytes: [UInt8]) -> (colons: Int, trailingComma: Bool) {
    var colons = 0
    var trailingComma = false
    var inString = false
    var escaped = false
    var afterComma = false
    for byte in bytes {
        if inString {
            if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true } else if byte == UInt8(ascii: "\"") { inString = false }
            continue
        }
        if [0x20, 0x09, 0x0A, 0x0D].contains(byte) { continue }
        if afterComma && (byte == UInt8(ascii: "}") || byte == UInt8(ascii: "]")) { trailingComma = true }
        afterComma = byte == UInt8(ascii: ",")
        if byte == UInt8(ascii: "\"") { inString = true }
        if byte == UInt8(ascii: ":") { colons += 1 }
    }
    return (colons, trailingComma)
}

/// The deepest nesting of '[' and '{' outside strings.
func nesting(_ bytes: [UInt8]) -> Int {
    var depth = 0
    var deepest = 0
    var inString = false
    var escaped = false
    for byte in bytes {
        if inString {
            if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true } else if byte == UInt8(ascii: "\"") { inString = false }
        } else if byte == UInt8(ascii: "\"") {
            inString = true
        } else if byte == UInt8(ascii: "[") || byte == UInt8(ascii: "{") {
            depth += 1
            deepest = max(deepest, depth)
        } else if byte == UInt8(ascii: "]") || byte == UInt8(ascii: "}") {
            depth -= 1
        }
    }
    return deepest
}

/// The number of object members in a value, nested ones included.
func members(_ value: Mirror) -> Int {
    switch value {
    case .array(let elements): elements.reduce(0) { $0 + members($1) }
    case .object(let fields): fields.count + fields.values.reduce(0) { $0 + members($1) }
    default: 0
    }
}

func text(_ bytes: [UInt8]) -> String { shown(String(decoding: bytes, as: UTF8.self)) }

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCompactJSON(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = fuzzBytes(data, size)
    let validUTF8 = String(validating: bytes, as: UTF8.self) != nil
    // Foundation guesses UTF-16 or UTF-32 from NUL bytes, and skips a byte-order mark.
    let plain = validUTF8 && !bytes.starts(with: [0xEF, 0xBB, 0xBF]) && !bytes.contains(0)

    // Reader against Foundation, which traps on some documents nested deeper than its limit of
    // 512 ("[" × 513): those are not compared (fuzz/corpus/compact-json/foundation-depth-trap).
    guard nesting(bytes) <= 256 else { return 0 }
    let compact = CompactJSONValue.parse(bytes)
    let decoded = try? JSONDecoder().decode(Mirror.self, from: Data(bytes))
    if let compact, validUTF8 {
        let serialization = try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
        check(serialization != nil, "compact accepts \(text(bytes)), JSONSerialization refuses it")
        check(decoded == Mirror(compact), "compact reads \(Mirror(compact)), JSONDecoder \(String(describing: decoded)) from \(text(bytes))")
    }
    if let decoded, plain, compact.map(Mirror.init) != decoded {
        // The one document that the compact reader may leave to JSONDecoder: one with a repeated key.
        let (colons, trailingComma) = scan(bytes)
        check(compact == nil && (colons > members(decoded) || trailingComma), "JSONDecoder reads \(decoded), compact \(String(describing: compact)) from \(text(bytes))")
    }
    if validUTF8, let request = DetectionRequest(wireBytes: bytes) {
        let slow = try? JSONDecoder().decode(DetectionRequest.self, from: Data(bytes))
        // Accepted leniency: without a "probe" member the fast path reads probe = false, where the
        // synthesized Decodable wants the member (cmk always writes it).
        if slow == nil, case .object(let message)? = compact, message["probe"] == nil, !request.probe { return 0 }
        check(slow == request, "fast path \(request), JSONDecoder \(String(describing: slow)) for \(text(bytes))")
    }

    // Writer: values from the input's pieces.
    let strings = pieces(bytes, separator: 0, limit: 12).map { String(decoding: $0, as: UTF8.self) }
    func pairs(_ from: ArraySlice<String>) -> [String: String] {
        var result: [String: String] = [:]
        var iterator = from.makeIterator()
        while let key = iterator.next() { result[key] = iterator.next() ?? "" }
        return result
    }
    let flags = bytes.first ?? 0
    let detection = Detection(
        strength: [.none, .weak, .strong][Int(flags % 3)],
        platform: flags & 4 == 0 ? strings.first : nil,
        evidence: Array(strings.prefix(3)),
        rejected: Array(strings.dropFirst(3).prefix(2)),
        details: pairs(strings.dropFirst(5))
    )
    let written = detection.wireBytes()
    check((try? JSONSerialization.jsonObject(with: Data(written))) != nil, "not JSON: \(text(written))")
    let back = try? JSONDecoder().decode(Detection.self, from: Data(written))
    check(back == detection, "Detection does not round-trip: \(text(written))")
    check(CompactJSONValue.parse(written) != nil, "compact cannot read its own \(text(written))")

    let request = DetectionRequest(
        snapshot: PlatformSnapshot(environment: pairs(strings[...]), files: pairs(strings.dropFirst(1))),
        probe: flags & 8 != 0
    )
    let wire = request.wireBytes()
    check(DetectionRequest(wireBytes: wire) == request, "compact request does not round-trip: \(text(wire))")
    check((try? JSONDecoder().decode(DetectionRequest.self, from: Data(wire))) == request, "JSONDecoder reads another request from \(text(wire))")
    return 0
}
