import CMKCore

/// vault-soft-delete, vault-purge-protection, vault-dedicated: the vault as the procedure wants it.
///
/// The ARM vault's flags decide when present; a missing flag is not "false" (the REST examples
/// omit them), so the key's `recoveryLevel` decides next: `Recoverable…` means soft delete, and
/// `…Purgeable` means purge protection is off.
enum VaultChecks {
    /// Where the vault's settings come from: the ARM vault (or why not) and the key's recovery level.
    struct Sources: Sendable {
        var vault: Result<ARMVault, CallFailure>
        var recoveryLevel: String?
    }

    static func softDelete(_ sources: Sources, _ context: CheckContext) -> Check {
        let fix =
            "az keyvault update --name \(context.vaultName) --resource-group \(context.resourceGroup) "
            + "--enable-soft-delete true"
        if let flag = try? sources.vault.get().properties.enableSoftDelete {
            return verdict(
                .vaultSoftDelete,
                "Soft delete",
                on: flag,
                fix: fix,
                evidence: "vault: enableSoftDelete \(flag)"
            )
        }
        if let level = sources.recoveryLevel {
            let on = level.contains("Recoverable")
            return verdict(.vaultSoftDelete, "Soft delete", on: on, fix: fix, evidence: "key recoveryLevel \(level)")
        }
        return StaticChecks.unknown(.vaultSoftDelete, "Cannot tell whether soft delete is on: \(reason(sources))")
    }

    static func purgeProtection(_ sources: Sources, _ context: CheckContext) -> Check {
        let fix =
            "az keyvault update --name \(context.vaultName) --resource-group \(context.resourceGroup) "
            + "--enable-purge-protection true"
        if let flag = try? sources.vault.get().properties.enablePurgeProtection {
            let evidence = "vault: enablePurgeProtection \(flag)"
            return verdict(.vaultPurgeProtection, "Purge protection", on: flag, fix: fix, evidence: evidence)
        }
        if let level = sources.recoveryLevel {
            let on = level.contains("Recoverable") && !level.contains("Purgeable")
            let evidence = "key recoveryLevel \(level)"
            return verdict(.vaultPurgeProtection, "Purge protection", on: on, fix: fix, evidence: evidence)
        }
        return StaticChecks.unknown(
            .vaultPurgeProtection,
            "Cannot tell whether purge protection is on: \(reason(sources))"
        )
    }

    /// "<setting> is on" (ok) or "<setting> is off" (action required, with the fix).
    private static func verdict(_ id: CheckID, _ setting: String, on: Bool, fix: String, evidence: String) -> Check {
        on
            ? Check(id: id.rawValue, state: .ok, summary: "\(setting) is on", evidence: [evidence])
            : Check(
                id: id.rawValue,
                state: .actionRequired,
                summary: "\(setting) is off",
                remediation: fix,
                evidence: [evidence]
            )
    }

    static func dedicated(_ listing: Result<[String], CallFailure>, _ context: CheckContext) -> Check {
        let id = CheckID.vaultDedicated.rawValue
        let names: [String]
        switch listing {
        case .success(let value): names = value
        case .failure(let failure):
            return StaticChecks.unknown(.vaultDedicated, "Cannot list the vault's keys: \(failure.reason)")
        }
        let others = names.filter { $0.lowercased() != context.keyName.lowercased() }.sorted()
        guard !others.isEmpty else {
            return Check(id: id, state: .ok, summary: "\(context.vaultName) holds only \(context.keyName)")
        }
        let shown = others.prefix(5).joined(separator: ", ") + (others.count > 5 ? ", …" : "")
        return Check(
            id: id,
            state: .actionRequired,
            summary:
                "\(context.vaultName) also holds \(others.count) other key\(others.count == 1 ? "" : "s"): \(shown)",
            remediation: "Use a vault only for this key: move the other keys, or create one: az keyvault create "
                + "--name <new-vault> --resource-group \(context.resourceGroup) --enable-purge-protection true "
                + "--enable-rbac-authorization true, then az keyvault key create --vault-name <new-vault> "
                + "--name \(context.keyName) --kty RSA --size 3072"
        )
    }

    private static func reason(_ sources: Sources) -> String {
        switch sources.vault {
        case .failure(let failure): failure.reason
        case .success: "the vault does not state it and the key's recovery level is unknown"
        }
    }
}
