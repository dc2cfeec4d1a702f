import CMKCore
import FoundationEssentials

/// Puts the report together: every check, in the procedure's order, from whatever was found.
enum StatusChecks {
    /// The checks that need a signed-in identity.
    static let live: [CheckID] = [
        .adminRole, .vaultDedicated, .vaultSoftDelete, .vaultPurgeProtection, .keyType, .keyOperations, .keyEnabled,
        .keyExpiry, .keyRotation, .appConsent, .appKeyAccess,
    ]
    /// The live checks that also need the key identifier.
    static let needKey: [CheckID] = [
        .vaultDedicated, .vaultSoftDelete, .vaultPurgeProtection, .keyType, .keyOperations, .keyEnabled, .keyExpiry,
        .keyRotation, .appKeyAccess,
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
                checks[.vaultDedicated] = VaultChecks.dedicated(vault.contents, context)
                for check in KeyChecks.evaluate(vault.key, deleted: vault.deletedKey, context, now: now) {
                    CheckID(rawValue: check.id).map { checks[$0] = check }
                }
                checks[.keyRotation] = RotationCheck.evaluate(
                    key: vault.key,
                    current: vault.current,
                    policy: vault.rotation,
                    context,
                    now: now
                )
                checks[.appKeyAccess] = AppChecks.keyAccess(
                    principal: findings.servicePrincipal,
                    vault: vault.properties,
                    roles: vault.roles,
                    hsm: vault.hsmAccess,
                    context: context
                )
                if let deleted = vault.deletedVault {
                    for id in needKey { checks[id] = deletedVault(id, deleted, context) }
                }
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

    /// A vault or Managed HSM kept by soft delete: every check that needs it says so, with the one fix.
    static func deletedVault(_ id: CheckID, _ deleted: ARMDeletedVault, _ context: CheckContext) -> Check {
        let on = deleted.properties.deletionDate.map { " on \($0.prefix(10))" } ?? ""
        let until = deleted.properties.scheduledPurgeDate.map { "recoverable until the purge date \($0.prefix(10))" }
        return Check(
            id: id.rawValue,
            state: .actionRequired,
            summary: "The \(context.isHSM ? "Managed HSM" : "vault") \(context.vaultName) was deleted\(on); "
                + (until ?? "recoverable"),
            remediation:
                "Recover it: az keyvault recover \(context.isHSM ? "--hsm-name" : "--name") \(context.vaultName)",
            evidence: [
                "found among the deleted \(context.isHSM ? "Managed HSMs" : "vaults") of its subscription "
                    + "(\(deleted.properties.vaultId ?? deleted.properties.mhsmId ?? "no id"))"
            ]
        )
    }
}
