/// A Key Vault or Managed HSM key identifier, parsed strictly.
///
/// The identifier is what the vendor's support ticket needs and what names the vault, the key and
/// the cloud, so a typo is reported at once, naming the wrong part, instead of as a failed call.
///
/// ```swift
/// let key = try KeyIdentifier(parsing: "https://contoso-cmk.vault.azure.net/keys/cmk-key")
/// key.vaultName  // "contoso-cmk"
/// ```
struct KeyIdentifier: Sendable, Equatable {
    static let example = "https://contoso-cmk.vault.azure.net/keys/cmk-key/0123456789abcdef0123456789abcdef"

    enum Store: Sendable, Equatable {
        case vault
        case managedHSM
    }

    let cloud: AzureCloud
    let store: Store
    /// Lowercased, as vault names are case-insensitive.
    let vaultName: String
    let keyName: String
    /// Nil for a versionless identifier (the latest version; automatic rotation).
    let version: String?

    /// `contoso-cmk.vault.azure.net`
    var host: String { "\(vaultName).\(store == .vault ? cloud.vaultSuffix : cloud.managedHSMSuffix)" }
    var vaultURL: String { "https://\(host)" }
    /// The canonical form: lowercase host, no port, no trailing slash.
    var uri: String { "\(vaultURL)/keys/\(keyName)" + (version.map { "/\($0)" } ?? "") }
    /// The ARM resource type that holds this key's store.
    var resourceType: String { store == .vault ? "Microsoft.KeyVault/vaults" : "Microsoft.KeyVault/managedHSMs" }

    init(parsing text: String) throws(KeyURIError) {
        let trimmed = text.trimmingWhitespace()
        guard !trimmed.isEmpty else { throw KeyURIError(.empty, "the key identifier is empty") }
        guard let schemeEnd = trimmed.firstRange(of: "://") else {
            throw KeyURIError(.scheme, "'\(trimmed)' is not a URL")
        }
        guard trimmed[..<schemeEnd.lowerBound].lowercased() == "https" else {
            throw KeyURIError(.scheme, "the scheme must be https, not '\(trimmed[..<schemeEnd.lowerBound])'")
        }
        let rest = trimmed[schemeEnd.upperBound...]
        if rest.contains("?") || rest.contains("#") {
            throw KeyURIError(.path, "a key identifier has no query or fragment")
        }
        let authorityEnd = rest.firstIndex(of: "/") ?? rest.endIndex
        // Before lowercasing: Unicode case mapping turns look-alikes (the Kelvin sign) into ASCII letters.
        guard rest[..<authorityEnd].unicodeScalars.allSatisfy(\.isASCII) else {
            throw KeyURIError(.host, "host '\(rest[..<authorityEnd])' is not ASCII; Key Vault host names are")
        }
        var authority = rest[..<authorityEnd].lowercased()
        if authority.contains("@") { throw KeyURIError(.host, "a key identifier has no user name") }
        if let colon = authority.lastIndex(of: ":") {
            // The management plane writes identifiers with an explicit :443; any other port is not Key Vault.
            guard authority[authority.index(after: colon)...] == "443" else {
                throw KeyURIError(
                    .port,
                    "port '\(authority[authority.index(after: colon)...])' is not Key Vault's (443)"
                )
            }
            authority = String(authority[..<colon])
        }
        let (cloud, store, vaultName) = try Self.parseHost(authority)
        var segments = rest[authorityEnd...].split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        if segments.count > 1, segments.last == "" { segments = segments.dropLast() }  // one trailing slash
        guard segments.first == "keys" else {
            let found = segments.first.map { "'\($0)'" } ?? "nothing"
            throw KeyURIError(
                .objectType,
                "the path must start with /keys/ (found \(found)); secrets and certificates are not keys"
            )
        }
        guard segments.count == 2 || segments.count == 3 else {
            throw KeyURIError(.path, "the path must be /keys/<name> or /keys/<name>/<version>")
        }
        let name = String(segments[segments.startIndex + 1])
        guard (1...127).contains(name.count), name.allSatisfy({ $0.isASCIIAlphanumeric || $0 == "-" }) else {
            throw KeyURIError(.keyName, "key name '\(name)' must be 1-127 letters, digits or hyphens")
        }
        var version: String?
        if segments.count == 3 {
            let candidate = String(segments[segments.startIndex + 2])
            guard candidate.count == 32, candidate.allSatisfy({ $0.isASCII && $0.isHexDigit }) else {
                throw KeyURIError(.version, "version '\(candidate)' must be 32 hexadecimal characters")
            }
            version = candidate.lowercased()
        }
        self.cloud = cloud
        self.store = store
        self.vaultName = vaultName
        self.keyName = name
        self.version = version
    }

    private static func parseHost(_ host: String) throws(KeyURIError) -> (AzureCloud, Store, String) {
        for cloud in AzureCloud.all {
            for (suffix, store) in [(cloud.vaultSuffix, Store.vault), (cloud.managedHSMSuffix, .managedHSM)]
            where host.hasSuffix("." + suffix) {
                let name = String(host.dropLast(suffix.count + 1))
                try validateStoreName(name, store: store)
                return (cloud, store, name)
            }
        }
        let suffixes = AzureCloud.all.flatMap { [$0.vaultSuffix, $0.managedHSMSuffix] }.joined(separator: ", ")
        throw KeyURIError(.host, "host '\(host)' is not a Key Vault or Managed HSM host (\(suffixes))")
    }

    /// Key Vault's naming rules; Managed HSM names follow the same ones.
    private static func validateStoreName(_ name: String, store: Store) throws(KeyURIError) {
        let kind = store == .vault ? "vault" : "Managed HSM"
        guard (3...24).contains(name.count) else {
            throw KeyURIError(.vaultName, "\(kind) name '\(name)' must be 3-24 characters")
        }
        guard name.allSatisfy({ $0.isASCIIAlphanumeric || $0 == "-" }) else {
            throw KeyURIError(.vaultName, "\(kind) name '\(name)' may hold only letters, digits and hyphens")
        }
        guard name.first!.isASCIILetter else {
            throw KeyURIError(.vaultName, "\(kind) name '\(name)' must start with a letter")
        }
        guard name.last!.isASCIIAlphanumeric else {
            throw KeyURIError(.vaultName, "\(kind) name '\(name)' must end with a letter or digit")
        }
        guard !name.contains("--") else {
            throw KeyURIError(.vaultName, "\(kind) name '\(name)' must not contain '--'")
        }
    }
}

/// Why a key identifier was refused. Equality by code; the reason names the wrong part.
struct KeyURIError: Error, Sendable, Equatable, CustomStringConvertible {
    struct Code: Hashable, Sendable {
        fileprivate let name: String
        static let empty = Code(name: "empty")
        static let scheme = Code(name: "scheme")
        static let host = Code(name: "host")
        static let port = Code(name: "port")
        static let vaultName = Code(name: "vault-name")
        static let objectType = Code(name: "object-type")
        static let keyName = Code(name: "key-name")
        static let version = Code(name: "version")
        static let path = Code(name: "path")
    }

    let code: Code
    let reason: String

    init(_ code: Code, _ reason: String) {
        self.code = code
        self.reason = reason
    }

    var description: String { "invalid key identifier: \(reason); expected e.g. \(KeyIdentifier.example)" }
    static func == (lhs: KeyURIError, rhs: KeyURIError) -> Bool { lhs.code == rhs.code }
}

extension Character {
    var isASCIILetter: Bool { isASCII && isLetter }
    var isASCIIAlphanumeric: Bool { isASCII && (isLetter || isNumber) }
}
