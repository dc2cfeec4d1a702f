import CMKCore
import FoundationEssentials

/// Puts the report together: every check, in the procedure's order, from whatever was found.
enum StatusChecks {
    /// The checks that need a signed-in identity.
    static let live: [CheckID] = [
        .adminRole, .vaultDedicated, .vaultSoftDelete, .vaultPurgeProtection, .vaultNetwork, .keyType, .keyOperations,
        .keyEnabled, .keyExpiry, .keyRotation, .appConsent, .appKeyAccess,
    ]
    /// The live checks that also need the key identifier.
    static let needKey: [CheckID] = [
        .vaultDedicated, .vaultSoftDelete, .vaultPurgeProtection, .vaultNetwork, .keyType, .keyOperations, .keyEnabled,
        .keyExpiry, .keyRotation, .appKeyAccess,
    ]
    /// The checks whose evidence comes from the data plane, or from ARM when the data plane refuses cmk.
    static let dataPlane: [CheckID] = [.vaultDedicated, .keyType, .keyOperations, .keyEnabled, .keyExpiry]

    /// What a check needs when its call was refused (403): named in the check, so an admin knows what to grant.
    static func neededPermission(_ id: CheckID) -> String {
        switch id {
        case .adminRole: "RoleManagement.Read.Directory (Microsoft Graph) for an application; a person reads their own"
        case .appConsent: "Application.Read.All (Microsoft Graph) for an application identity"
        case .vaultDedicated, .keyType, .keyOperations, .keyEnabled, .keyExpiry:
            "Key Vault Reader or Key Vault Crypto User on the vault (data plane), or Reader on its subscription"
        default: "Reader on the vault's subscription"
        }
    }

    struct SignInHelp: Sendable {
        var summary: String
        var how: String
        /// Sign-in was turned off on purpose (`--credential none`).
        var off = false
    }

    static func assemble(
        context: CheckContext,
        findings: LiveStatus.Findings?,
        vaultTenant: String?,
        signIn: SignInHelp,
        outages: [OutageLog.Outage] = [],
        signInFailures: [CallFailure] = [],
        now: Date
    ) -> [Check] {
        var checks: [CheckID: Check] = [
            .entitlement: StaticChecks.entitlement(),
            .keyURI: StaticChecks.keyURI(context.key, configPath: context.configPath),
            .supportTicket: StaticChecks.supportTicket(context.key, command: context.command),
            .vendorConfirmation: StaticChecks.vendorConfirmation(),
        ]
        let cloudProblem = AppChecks.unavailableCloud(context)
        if let cloudProblem, let key = context.key {
            checks[.keyURI] = Check(
                id: CheckID.keyURI.rawValue,
                state: .actionRequired,
                summary: cloudProblem,
                remediation: "Create the vault and the key in the Azure public cloud (a vault under "
                    + "\(AzureCloud.publicCloud.vaultSuffix)) and give that key's identifier",
                evidence: ["\(key.uri) is in Azure \(key.cloud.displayName)"]
            )
        }
        let signedIn = findings?.tenant
        if findings != nil, let vaultTenant, let signedIn, vaultTenant.lowercased() != signedIn.lowercased() {
            let reason =
                "The vault belongs to tenant \(vaultTenant) but cmk signed in to tenant \(signedIn): nothing it "
                + "reads there says anything about this vault"
            let fix =
                "Sign in to the vault's tenant: az login --tenant \(vaultTenant), or set AZURE_TENANT_ID=\(vaultTenant)"
            let cause = CheckCause(id: "wrong-tenant", label: "wrong tenant", summary: reason, remediation: fix)
            for id in live { checks[id] = StaticChecks.unknown(id, "Not checked", cause: cause) }
        } else if let findings {
            live(findings, context: context, now: now, into: &checks)
        } else {
            let cause = CheckCause(
                id: signIn.off ? "sign-in-off" : "sign-in",
                label: signIn.off ? "sign-in off" : "needs sign-in",
                summary: signIn.summary,
                remediation: signIn.how
            )
            for id in live {
                let own = id == .appConsent && cloudProblem == nil ? "To consent now: \(context.consentURL)" : nil
                checks[id] = StaticChecks.unknown(id, "Not checked", remediation: own, cause: cause)
            }
        }
        if context.key == nil {
            let cause = CheckCause(
                id: "key-uri",
                label: "needs the key identifier",
                summary: "No key identifier was given, so the vault and the key cannot be checked",
                remediation: "Give it with --key-uri URI, CMK_AZURE_KEY_URI, or key-uri under [azure] in the config"
            )
            for id in needKey {
                checks[id] = StaticChecks.unknown(id, "Needs the key identifier (see key-uri)", cause: cause)
            }
        }
        for (id, check) in checks
        where check.state == .unknown && check.remediation == nil
            && check.summary.contains("answered 403")
        {
            checks[id]?.remediation = "Needs \(neededPermission(id))"
        }
        attachCauses(&checks, outages: outages, signInFailures: signInFailures)
        return CheckID.allCases.compactMap { checks[$0] }
    }

    /// One cause per endpoint out of reach and per failed sign-in, instead of the same reason in
    /// every check it kept from cmk; the checks keep what they were trying to read.
    private static func attachCauses(
        _ checks: inout [CheckID: Check],
        outages: [OutageLog.Outage],
        signInFailures: [CallFailure]
    ) {
        var causes: [(reason: String, cause: CheckCause)] = outages.map { outage in
            (
                outage.failure.reason,
                CheckCause(
                    id: "unreachable:\(outage.host)",
                    label: "\(outage.host) unreachable",
                    summary: outage.failure.reason,
                    remediation: "Check that this machine can reach \(outage.host) on port 443 (a firewall; a proxy "
                        + "set with HTTPS_PROXY and NO_PROXY), then check again"
                )
            )
        }
        causes += signInFailures.map { failure in
            (
                failure.reason,
                CheckCause(
                    id: "sign-in-failed" + (failure.status.map { ":\($0)" } ?? ""),
                    label: "sign-in failed",
                    summary: failure.reason,
                    remediation: signInFix(failure)
                )
            )
        }
        for (id, check) in checks where check.state == .unknown && check.cause == nil {
            guard let match = causes.first(where: { check.summary.contains($0.reason) }) else { continue }
            checks[id]?.cause = match.cause
            checks[id]?.summary = check.summary.replacing(": \(match.reason)", with: "")
                .replacing(" (\(match.reason))", with: "")
        }
    }

    /// What to do about a sign-in the identity platform refused.
    static func signInFix(_ failure: CallFailure) -> String {
        switch failure.status {
        case 400, 401:
            "The identity platform refused the credential: check AZURE_TENANT_ID and AZURE_CLIENT_ID, and that "
                + "AZURE_CLIENT_SECRET is the secret's value (not its id) and has not expired "
                + "(Entra admin center: App registrations, Certificates & secrets); or sign in with az login"
        case 403:
            "The identity may not sign in here (a Conditional Access policy or a disabled application): ask your "
                + "Entra administrator, or sign in with another identity (az login)"
        default:
            "Check the sign-in settings named above (AZURE_* variables, or az login) and run cmk status again"
        }
    }

    /// The live checks from what the calls found.
    private static func live(
        _ findings: LiveStatus.Findings,
        context: CheckContext,
        now: Date,
        into checks: inout [CheckID: Check]
    ) {
        checks[.appConsent] = AppChecks.consent(findings.servicePrincipal, context)
        var rbacVault = true
        var mayAssign: Result<[PermissionSet], CallFailure>?
        if let vault = findings.vault {
            let sources = VaultChecks.Sources(
                vault: vault.properties,
                recoveryLevel: (try? vault.key.get())?.attributes?.recoveryLevel
            )
            checks[.vaultSoftDelete] = VaultChecks.softDelete(sources, context)
            checks[.vaultPurgeProtection] = VaultChecks.purgeProtection(sources, context)
            checks[.vaultNetwork] = NetworkCheck.evaluate(
                vault.properties,
                dataPlaneFirewalled: vault.dataPlaneFirewalled,
                context
            )
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
            if vault.dataPlaneFirewalled {
                let note =
                    "the data plane answered cmk 403 ForbiddenByFirewall (cmk's own address is blocked, not the "
                    + "vendor's): read from the management plane"
                for id in dataPlane {
                    guard var check = checks[id] else { continue }
                    check.evidence = (check.evidence ?? []) + [note]
                    checks[id] = check
                }
            }
            checks[.appKeyAccess] = AppChecks.keyAccess(
                principal: findings.servicePrincipal,
                groups: findings.principalGroups,
                vault: vault.properties,
                rbac: vault.rbac,
                hsm: vault.hsmAccess,
                context: context
            )
            if let deleted = vault.deletedVault {
                for id in needKey { checks[id] = deletedVault(id, deleted, context) }
            }
            rbacVault = (try? vault.properties.get().properties.enableRbacAuthorization) ?? true
            mayAssign = vault.callerPermissions
        }
        let principal = try? findings.servicePrincipal.get()
        let access = checks[.appKeyAccess]?.state
        let setupDone =
            principal?.accountEnabled != false && checks[.appConsent]?.state == .ok
            && (access == .ok || access == .warning)
        checks[.adminRole] = AdminRoleCheck.evaluate(
            findings.admin,
            setupDone: setupDone,
            mayAssign: mayAssign,
            rbacVault: rbacVault,
            context: context
        )
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
