/// The Azure checks, in the order of the vendor's procedure; the raw values are stable ids.
enum CheckID: String, CaseIterable, Sendable {
    case entitlement
    case adminRole = "admin-role"
    case keyURI = "key-uri"
    case vaultDedicated = "vault-dedicated"
    case vaultSoftDelete = "vault-soft-delete"
    case vaultPurgeProtection = "vault-purge-protection"
    case vaultNetwork = "vault-network"
    case keyType = "key-type"
    case keyOperations = "key-operations"
    case keyEnabled = "key-enabled"
    case keyExpiry = "key-expiry"
    case keyRotation = "key-rotation"
    case appConsent = "app-consent"
    case appKeyAccess = "app-key-access"
    case supportTicket = "support-ticket"
    case vendorConfirmation = "vendor-confirmation"
}
