import CMKCore
import FoundationEssentials

/// The error code of an Azure error body, for messages: `{"error":{"code":"X"}}` (ARM, Graph,
/// Key Vault) or `{"error":"invalid_client","error_codes":[7000215]}` (Entra token endpoints).
enum AzureErrorCode {
    static func extract(_ body: [UInt8]) -> String? {
        guard JSONNesting.isShallow(body) else { return nil }
        if let nested = try? JSONDecoder().decode(Nested.self, from: Data(body)), let code = nested.error.code,
            isCode(code)
        {
            // Key Vault puts the telling code inside: `Forbidden` / `ForbiddenByFirewall`.
            if let inner = nested.error.innererror?.code, isCode(inner), inner != code { return "\(code), \(inner)" }
            return code
        }
        if let flat = try? JSONDecoder().decode(Flat.self, from: Data(body)), isCode(flat.error) {
            let codes = (flat.error_codes ?? []).map { "AADSTS\($0)" }
            return ([flat.error] + codes).joined(separator: ", ")
        }
        return nil
    }

    /// Only identifier-like codes are repeated: a service could put anything in the field.
    private static func isCode(_ text: String) -> Bool {
        (1...80).contains(text.count)
            && text.allSatisfy { $0.isASCIIAlphanumeric || $0 == "_" || $0 == "." || $0 == "-" }
    }

    private struct Nested: Decodable {
        struct Inner: Decodable { var code: String? }
        struct Body: Decodable {
            var code: String?
            var innererror: Inner?
        }
        var error: Body
    }

    private struct Flat: Decodable {
        var error: String
        var error_codes: [Int]?
    }
}
