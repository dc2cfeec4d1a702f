import CMKCore
import FoundationEssentials

/// key-type, key-operations, key-enabled, key-expiry: the key as storage-style CMK needs it.
enum KeyChecks {
    static let sizes: Set<Int> = [2048, 3072, 4096]
    static let warningDays = 30

    /// The key checks of the version in use; a key that answered 404 is looked for among deleted keys.
    static func evaluate(
        _ facts: Result<KeyFacts, CallFailure>,
        deleted: DeletedKey?,
        _ context: CheckContext,
        now: Date
    ) -> [Check] {
        let ids: [CheckID] = [.keyType, .keyOperations, .keyEnabled, .keyExpiry]
        switch facts {
        case .failure(let failure) where failure.status == 404:
            if let deleted {
                let check = deletedKey(deleted, context, evidence: failure.reason)
                return ids.map {
                    Check(
                        id: $0.rawValue,
                        state: check.state,
                        summary: check.summary,
                        remediation: check.remediation,
                        evidence: check.evidence
                    )
                }
            }
            return ids.map {
                Check(
                    id: $0.rawValue,
                    state: .actionRequired,
                    summary: "\(context.vaultName) has no key \(context.keyName)"
                        + (context.key?.version.map { " with version \($0)" } ?? ""),
                    remediation: "Create it: \(context.createKey(context.keyName))",
                    evidence: [failure.reason]
                )
            }
        case .failure(let failure):
            return ids.map { StaticChecks.unknown($0, "Cannot read the key: \(failure.reason)") }
        case .success(let facts):
            return [
                type(facts, context), operations(facts, context), enabled(facts, context), expiry(facts, context, now),
            ]
        }
    }

    /// A soft-deleted key: recoverable, with every version, until its purge date.
    static func deletedKey(_ deleted: DeletedKey, _ context: CheckContext, evidence: String) -> Check {
        let on = deleted.deletedDate.map { " on \(day($0))" } ?? ""
        let until = deleted.scheduledPurgeDate.map { "recoverable until the purge date \(day($0))" } ?? "recoverable"
        return Check(
            id: CheckID.keyEnabled.rawValue,
            state: .actionRequired,
            summary: "The key \(context.keyName) was deleted\(on); \(until)",
            remediation: "Recover it: az keyvault key recover \(context.storeFlag) --name \(context.keyName)",
            evidence: [evidence, "found among the vault's deleted keys"]
        )
    }

    private static func type(_ facts: KeyFacts, _ context: CheckContext) -> Check {
        let id = CheckID.keyType.rawValue
        let evidence = [
            "\(facts.source): kty \(facts.kty ?? "absent"), \(facts.bits.map { "\($0) bits" } ?? "size absent")"
        ]
        guard let kty = facts.kty else {
            return Check(id: id, state: .unknown, summary: "The key type is not reported")
        }
        let isRSA = kty == "RSA" || kty == "RSA-HSM"
        if isRSA, facts.bits == 2048 {
            return Check(
                id: id,
                state: .warning,
                summary: "\(kty) 2048 bits: accepted, but the vendor's guide for the same application asks for at "
                    + "least 3072 bits",
                remediation: "For a stronger key, create one and give the vendor its identifier: "
                    + context.createKey("<new-key>"),
                evidence: evidence
            )
        }
        if isRSA, let bits = facts.bits, sizes.contains(bits) {
            return Check(id: id, state: .ok, summary: "\(kty) \(bits) bits", evidence: evidence)
        }
        if isRSA, facts.bits == nil {
            return Check(id: id, state: .unknown, summary: "\(kty) key of unreported size", evidence: evidence)
        }
        return Check(
            id: id,
            state: .actionRequired,
            summary:
                "\(kty)\(facts.bits.map { " \($0) bits" } ?? ""): CMK needs RSA or RSA-HSM of 2048, 3072 or 4096 bits",
            remediation: "Create a suitable key and use its identifier: " + context.createKey("<new-key>"),
            evidence: evidence
        )
    }

    private static func operations(_ facts: KeyFacts, _ context: CheckContext) -> Check {
        let id = CheckID.keyOperations.rawValue
        guard let operations = facts.operations else {
            return Check(id: id, state: .unknown, summary: "The key's permitted operations are not reported")
        }
        let missing = ["wrapKey", "unwrapKey"].filter { !operations.contains($0) }
        let evidence = ["\(facts.source): key_ops \(operations.joined(separator: " "))"]
        guard !missing.isEmpty else {
            return Check(id: id, state: .ok, summary: "The key permits wrapKey and unwrapKey", evidence: evidence)
        }
        return Check(
            id: id,
            state: .actionRequired,
            summary: "The key does not permit \(missing.joined(separator: " and "))",
            remediation: "az keyvault key set-attributes \(context.storeFlag) --name \(context.keyName)"
                + "\(context.versionFlag) --ops " + (operations + missing).joined(separator: " "),
            evidence: evidence
        )
    }

    private static func enabled(_ facts: KeyFacts, _ context: CheckContext) -> Check {
        let id = CheckID.keyEnabled.rawValue
        switch facts.attributes?.enabled {
        case true?:
            return Check(id: id, state: .ok, summary: "The key is enabled")
        case false?:
            return Check(
                id: id,
                state: .actionRequired,
                summary: "The key is disabled: a disabled key revokes the vendor's access",
                remediation: "az keyvault key set-attributes \(context.storeFlag) --name \(context.keyName)"
                    + "\(context.versionFlag) --enabled true"
            )
        case nil:
            return Check(id: id, state: .unknown, summary: "The key does not say whether it is enabled")
        }
    }

    private static func expiry(_ facts: KeyFacts, _ context: CheckContext, _ now: Date) -> Check {
        let id = CheckID.keyExpiry.rawValue
        let seconds = Int(now.timeIntervalSince1970)
        let setExpiry =
            "az keyvault key set-attributes \(context.storeFlag) --name \(context.keyName)\(context.versionFlag) "
            + "--expires <date>"
        let rotate = "az keyvault key rotate \(context.storeFlag) --name \(context.keyName)"
        // A rotation makes a new version: a vendor pinned to this one would not follow it.
        let extend =
            context.key?.version == nil
            ? "Rotate or extend it: \(rotate), or \(setExpiry)"
            : "Extend the version the vendor uses: \(setExpiry); or rotate (\(rotate)) and give the vendor the "
                + "versionless identifier in a new ticket"
        if let notBefore = facts.attributes?.nbf, notBefore > seconds {
            return Check(
                id: id,
                state: .actionRequired,
                summary: "The key is not valid before \(day(notBefore))",
                remediation: "Wait until then, or: az keyvault key set-attributes \(context.storeFlag) "
                    + "--name \(context.keyName)\(context.versionFlag) --not-before <date>"
            )
        }
        guard let expires = facts.attributes?.exp else {
            return Check(id: id, state: .ok, summary: "The key has no expiry date")
        }
        if expires <= seconds {
            return Check(
                id: id,
                state: .actionRequired,
                summary: "The key expired on \(day(expires))",
                remediation: extend,
                expires: expires
            )
        }
        let days = (expires - seconds) / 86_400
        if days < warningDays {
            return Check(
                id: id,
                state: .actionRequired,
                summary: "The key expires on \(day(expires)), in \(days) day\(days == 1 ? "" : "s")",
                remediation: extend,
                expires: expires
            )
        }
        return Check(id: id, state: .ok, summary: "The key expires on \(day(expires))", expires: expires)
    }

    static func day(_ seconds: Int) -> String {
        Date(timeIntervalSince1970: Double(seconds)).formatted(.iso8601.year().month().day())
    }
}
