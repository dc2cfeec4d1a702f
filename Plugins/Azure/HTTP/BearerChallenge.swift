import CMKCore

/// Key Vault's 401 challenge: `Bearer authorization="https://login…/{tenant}", resource="https://vault.azure.net"`.
struct BearerChallenge: Sendable, Equatable {
    var authorization: String?
    var resource: String?

    /// The tenant: the last path segment of the authorization URL (never its host: a URL without
    /// a path names no tenant).
    var tenant: String? {
        guard let authorization, let schemeEnd = authorization.firstRange(of: "://") else { return nil }
        let rest = authorization[schemeEnd.upperBound...]
        guard let path = rest.firstIndex(of: "/"), let last = rest[path...].split(separator: "/").last else {
            return nil
        }
        return String(last)
    }

    /// Parses `WWW-Authenticate`; nil when it is not a Bearer challenge.
    init?(header: String) {
        let trimmed = header.trimmingWhitespace()
        guard trimmed.lowercased().hasPrefix("bearer ") else { return nil }
        var parameters: [String: String] = [:]
        for piece in trimmed.dropFirst(7).split(separator: ",") {
            guard let equals = piece.firstIndex(of: "=") else { continue }
            let name = String(piece[..<equals]).trimmingWhitespace().lowercased()
            var value = String(piece[piece.index(after: equals)...]).trimmingWhitespace()
            if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 {
                value = String(value.dropFirst().dropLast())
            }
            parameters[name] = value
        }
        authorization = parameters["authorization"] ?? parameters["authorization_uri"]
        // Newer services send `scope=https://vault.azure.net/.default` instead of `resource`.
        resource =
            parameters["resource"]
            ?? parameters["scope"].map { scope in
                scope.hasSuffix("/.default") ? String(scope.dropLast("/.default".count)) : scope
            }
    }
}
