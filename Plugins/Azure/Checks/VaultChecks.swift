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

    /// What a vault or HSM holds besides the key: keys, secrets and certificates.
    struct Contents: Sendable {
        var keys: Result<[String], CallFailure>
        var secrets: Result<[String], CallFailure>
        var certificates: Result<[String], CallFailure>
    }

    static func softDelete(_ sources: Sources, _ context: CheckContext) -> Check {
        // Soft delete is forced on for every vault since February 2025 and cannot be switched on
        // for an old one (`az keyvault update` lost --enable-soft-delete): the vault is replaced.
        let fix =
            "Soft delete cannot be turned on for an existing vault: create a new one (soft delete is on for every "
            + "new vault): az keyvault create --name <new-vault> --resource-group \(context.resourceGroup) "
            + "--enable-purge-protection true, then az keyvault key create --vault-name <new-vault> "
            + "--name \(context.keyName) --kty RSA --size 3072, grant the vendor's application access to it and give "
            + "the vendor its identifier in a new ticket"
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
            context.isHSM
            ? "az keyvault update-hsm --hsm-name \(context.vaultName) --resource-group \(context.resourceGroup) "
                + "--enable-purge-protection true"
            : "az keyvault update --name \(context.vaultName) --resource-group \(context.resourceGroup) "
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

    /// The store holds only this key: no other key, no secret, no certificate (a certificate's
    /// own key and secret are counted once, as the certificate).
    static func dedicated(_ contents: Contents, _ context: CheckContext) -> Check {
        let id = CheckID.vaultDedicated.rawValue
        let kinds: [(singular: String, listing: Result<[String], CallFailure>)] = [
            ("key", contents.keys.map { $0.filter { $0.lowercased() != context.keyName.lowercased() } }),
            ("secret", contents.secrets), ("certificate", contents.certificates),
        ]
        var found: [String] = []
        var failures: [String] = []
        for kind in kinds {
            switch kind.listing {
            case .success(let names) where !names.isEmpty:
                let sorted = names.sorted()
                let shown = sorted.prefix(5).joined(separator: ", ") + (sorted.count > 5 ? ", …" : "")
                found.append("\(sorted.count) other \(kind.singular)\(sorted.count == 1 ? "" : "s"): \(shown)")
            case .success: break
            case .failure(let failure): failures.append("\(kind.singular)s (\(failure.reason))")
            }
        }
        guard !found.isEmpty else {
            if !failures.isEmpty {
                return StaticChecks.unknown(
                    .vaultDedicated,
                    "Cannot list the \(context.isHSM ? "Managed HSM" : "vault")'s "
                        + failures.joined(separator: ", ")
                )
            }
            return Check(id: id, state: .ok, summary: "\(context.vaultName) holds only \(context.keyName)")
        }
        // A Managed HSM is too costly to suggest one per key: the fix is to move the other keys.
        let remediation =
            context.isHSM
            ? "Keep the Managed HSM for this key only: move the other keys elsewhere"
            : "Use a vault only for this key: move the other objects, or create one: az keyvault create "
                + "--name <new-vault> --resource-group \(context.resourceGroup) --enable-purge-protection true "
                + "--enable-rbac-authorization true, then az keyvault key create --vault-name <new-vault> "
                + "--name \(context.keyName) --kty RSA --size 3072"
        return Check(
            id: id,
            state: .actionRequired,
            summary: "\(context.vaultName) also holds " + found.joined(separator: ", "),
            remediation: remediation,
            evidence: failures.isEmpty ? nil : ["not listed: " + failures.joined(separator: ", ")]
        )
    }

    private static func reason(_ sources: Sources) -> String {
        switch sources.vault {
        case .failure(let failure): failure.reason
        case .success: "the vault does not state it and the key's recovery level is unknown"
        }
    }
}
