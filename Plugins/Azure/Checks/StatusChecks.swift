import CMKCore
import FoundationEssentials

/// Puts the report together: every check, in the procedure's order, from whatever was found.
enum StatusChecks {
    /// The checks that need a signed-in identity.
    static let live: [CheckID] = [
        .adminRole, .vaultDedicated, .vaultSoftDelete, .vaultPurgeProtection, .keyType, .keyOperations, .keyEnabled,
        .keyExpiry, .appConsent, .appKeyAccess,
    ]
    /// The live checks that also need the key identifier.
    static let needKey: [CheckID] = [
        .vaultDedicated, .vaultSoftDelete, .vaultPurgeProtection, .keyType, .keyOperations, .keyEnabled, .keyExpiry,
        .appKeyAccess,
    ]

    struct SignInHelp: Sendable {
        var summary: String
        var how: String
    }

    static func assemble(
        context: CheckContext,
        findings: LiveStatus.Findings?,
        signIn: SignInHelp,
        now: Date
    ) -> [Check] {
        var checks: [CheckID: Check] = [
            .entitlement: StaticChecks.entitlement(),
            .keyURI: StaticChecks.keyURI(context.key),
            .supportTicket: StaticChecks.supportTicket(
                context.key.map { TicketText.make(key: $0, tenant: context.tenant) }
            ),
            .vendorConfirmation: StaticChecks.vendorConfirmation(),
        ]
        if let findings {
            checks[.adminRole] = AdminRoleCheck.evaluate(findings.admin)
            checks[.appConsent] = AppChecks.consent(findings.servicePrincipal, context)
            if let vault = findings.vault {
                let sources = VaultChecks.Sources(
                    vault: vault.properties,
                    recoveryLevel: (try? vault.key.get())?.attributes?.recoveryLevel
                )
                checks[.vaultSoftDelete] = VaultChecks.softDelete(sources, context)
                checks[.vaultPurgeProtection] = VaultChecks.purgeProtection(sources, context)
                checks[.vaultDedicated] = VaultChecks.dedicated(vault.keyNames, context)
                for check in KeyChecks.evaluate(vault.key, context, now: now) {
                    CheckID(rawValue: check.id).map { checks[$0] = check }
                }
                checks[.appKeyAccess] = AppChecks.keyAccess(
                    principal: findings.servicePrincipal,
                    vault: vault.properties,
                    roles: vault.roles,
                    context: context
                )
            }
        } else {
            for id in live {
                let how = id == .appConsent ? "\(signIn.how). To consent now: \(context.consentURL)" : signIn.how
                checks[id] = StaticChecks.unknown(id, signIn.summary, remediation: how)
            }
        }
        if context.key == nil {
            for id in needKey { checks[id] = StaticChecks.unknown(id, "Needs the key identifier (see key-uri)") }
        }
        return CheckID.allCases.compactMap { checks[$0] }
    }
}
