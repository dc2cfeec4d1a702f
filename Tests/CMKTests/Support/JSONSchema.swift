import Foundation
import Testing

/// A small JSON Schema (2020-12) validator for the keywords cmk's schemas use: `type`, `const`,
/// `enum`, `properties`, `required`, `additionalProperties: false`, `items`, `maxItems`,
/// `oneOf`, and `$ref` to `#/$defs/…` or `other.schema.json#/$defs/…` beside it.
///
/// Written for the tests (no dependencies); each failure names the JSON path that broke the rule.
struct JSONSchema {
    let root: [String: Any]
    let directory: String

    init(file: String) throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: file))
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw TestFailure("\(file) is not a JSON object")
        }
        root = object
        directory = (file as NSString).deletingLastPathComponent
    }

    static func named(_ name: String) throws -> JSONSchema {
        try JSONSchema(file: "\(TestPaths.repository)/docs/schema/\(name).schema.json")
    }

    /// Every violation of the schema by `value`; empty when it conforms.
    func violations(of value: Any) -> [String] {
        var problems: [String] = []
        check(value, against: root, in: self, path: "$", problems: &problems)
        return problems
    }

    private func resolve(_ reference: String) -> (schema: [String: Any], document: JSONSchema)? {
        let parts = reference.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        var document = self
        if !parts[0].isEmpty {
            guard let other = try? JSONSchema(file: "\(directory)/\(parts[0])") else { return nil }
            document = other
        }
        var node: Any = document.root
        for component in (parts.count > 1 ? parts[1] : "").split(separator: "/") {
            guard let object = node as? [String: Any], let next = object[String(component)] else { return nil }
            node = next
        }
        return (node as? [String: Any]).map { ($0, document) }
    }

    private func check(
        _ value: Any,
        against schema: [String: Any],
        in document: JSONSchema,
        path: String,
        problems: inout [String]
    ) {
        if let reference = schema["$ref"] as? String {
            guard let (target, owner) = document.resolve(reference) else {
                problems.append("\(path): cannot resolve $ref \(reference)")
                return
            }
            owner.check(value, against: target, in: owner, path: path, problems: &problems)
        }
        if let options = schema["oneOf"] as? [[String: Any]] {
            let passing = options.filter { option in
                var scratch: [String] = []
                document.check(value, against: option, in: document, path: path, problems: &scratch)
                return scratch.isEmpty
            }
            if passing.count != 1 { problems.append("\(path): matches \(passing.count) of oneOf's schemas, not 1") }
        }
        if let types = schema["type"] {
            let allowed = (types as? [String]) ?? [types as? String ?? ""]
            if !allowed.contains(where: { Self.isOfType(value, $0) }) {
                problems.append("\(path): \(Self.describe(value)) is not of type \(allowed.joined(separator: " or "))")
                return
            }
        }
        if let constant = schema["const"], !Self.equal(value, constant) {
            problems.append("\(path): \(Self.describe(value)) is not \(constant)")
        }
        if let choices = schema["enum"] as? [Any], !choices.contains(where: { Self.equal(value, $0) }) {
            problems.append("\(path): \(Self.describe(value)) is not one of \(choices)")
        }
        if let object = value as? [String: Any] {
            let properties = schema["properties"] as? [String: [String: Any]] ?? [:]
            for key in schema["required"] as? [String] ?? [] where object[key] == nil {
                problems.append("\(path): missing key '\(key)'")
            }
            if schema["additionalProperties"] as? Bool == false {
                for key in object.keys where properties[key] == nil { problems.append("\(path): unexpected key '\(key)'") }
            }
            for (key, property) in properties {
                if let child = object[key] {
                    check(child, against: property, in: document, path: "\(path).\(key)", problems: &problems)
                }
            }
        }
        if let array = value as? [Any], !(value is [String: Any]) {
            if let limit = schema["maxItems"] as? Int, array.count > limit {
                problems.append("\(path): \(array.count) items, at most \(limit) allowed")
            }
            if let items = schema["items"] as? [String: Any] {
                for (index, element) in array.enumerated() {
                    check(element, against: items, in: document, path: "\(path)[\(index)]", problems: &problems)
                }
            }
        }
    }

    private static func isBool(_ value: Any) -> Bool {
        guard let number = value as? NSNumber else { return false }
        return String(cString: number.objCType) == "c"
    }

    private static func isOfType(_ value: Any, _ type: String) -> Bool {
        switch type {
        case "null": return value is NSNull
        case "boolean": return isBool(value)
        case "string": return value is String
        case "integer": return !isBool(value) && (value as? NSNumber).map { $0.doubleValue == $0.doubleValue.rounded() } == true
        case "number": return !isBool(value) && value is NSNumber
        case "array": return value is [Any]
        case "object": return value is [String: Any]
        default: return false
        }
    }

    private static func equal(_ a: Any, _ b: Any) -> Bool {
        if isBool(a) != isBool(b) { return false }
        switch (a, b) {
        case let (x as String, y as String): return x == y
        case let (x as NSNumber, y as NSNumber): return x == y
        case (is NSNull, is NSNull): return true
        default: return false
        }
    }

    private static func describe(_ value: Any) -> String {
        if value is NSNull { return "null" }
        if let string = value as? String { return "'\(string.prefix(60))'" }
        return String(describing: value).prefix(60).description
    }
}

/// Validates a cmk JSON output against its schema in docs/schema/.
func expectConforms(_ result: CMKResult, to schemaName: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let schema = try JSONSchema.named(schemaName)
    let value = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8), options: [.fragmentsAllowed])
    let problems = schema.violations(of: value)
    #expect(problems.isEmpty, "\(schemaName): \(problems.joined(separator: "; "))", sourceLocation: sourceLocation)
}
