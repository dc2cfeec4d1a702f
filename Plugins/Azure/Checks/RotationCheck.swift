import CMKCore
import FoundationEssentials

/// key-rotation: whether the vendor keeps a usable key through rotations and expiry.
///
/// A key that expires with nothing to rotate it stops wrapping on that day (an expired key still
/// unwraps, but cannot wrap); a vendor given a versioned identifier stays on that version when
/// the key rotates. Both work today, so both are warnings; `key-expiry` keeps the 30-day alarm.
enum RotationCheck {
    /// What `az keyvault key rotation-policy update --value @policy.json` is given: rotate 30 days
    /// before expiry, each new version valid for a year.
    static let policyFile =
        #"{"lifetimeActions":[{"trigger":{"timeBeforeExpiry":"P30D"},"action":{"type":"Rotate"}}],"#
        + #""attributes":{"expiryTime":"P1Y"}}"#

    static func evaluate(
        key: Result<KeyFacts, CallFailure>,
        current: Result<KeyFacts, CallFailure>?,
        policy: Result<RotationPolicy?, CallFailure>,
        _ context: CheckContext,
        now: Date
    ) -> Check {
        let id = CheckID.keyRotation.rawValue
        let facts: KeyFacts
        switch key {
        case .success(let value): facts = value
        case .failure(let failure):
            return StaticChecks.unknown(.keyRotation, "Needs the key (see key-enabled): \(failure.reason)")
        }
        var warnings: [(summary: String, remediation: String)] = []
        let versionless = "\(context.key?.vaultURL ?? "https://<vault>")/keys/\(context.keyName)"
        let newTicket =
            "Give the vendor the versionless identifier \(versionless) in a new ticket "
            + "(cmk ticket --provider azure --key-uri \(versionless))"
        let pinned = context.key?.version
        if let pinned, let newer = (try? current?.get())?.version, newer != pinned {
            warnings.append(
                (
                    "The vendor uses version \(pinned); version \(newer) is newer; after a rotation give the vendor "
                        + "the versionless identifier or a new ticket",
                    newTicket
                )
            )
        }
        var rotations: [RotationPolicy.LifetimeAction] = []
        var policyKnown = true
        switch policy {
        case .success(let value):
            rotations = (value?.lifetimeActions ?? []).filter { $0.action?.type?.lowercased() == "rotate" }
        case .failure(let failure) where warnings.isEmpty:
            guard facts.attributes?.exp == nil else {
                return StaticChecks.unknown(.keyRotation, "Cannot read the rotation policy: \(failure.reason)")
            }
            return Check(id: id, state: .ok, summary: "The key has no expiry date, so no rotation is needed to keep it")
        case .failure:
            policyKnown = false
        }
        if let pinned, !rotations.isEmpty, warnings.isEmpty {
            warnings.append(
                (
                    "Rotation is on, but the vendor was given version \(pinned): after the next rotation it stays on "
                        + "the old version",
                    newTicket
                )
            )
        }
        let expires = facts.attributes?.exp
        let rotatesInTime = rotations.contains { fires($0, created: facts.attributes?.created, expires: expires) }
        // An expiry already past is key-expiry's; a pinned vendor gains nothing from a rotation.
        if let expires, expires > Int(now.timeIntervalSince1970), pinned == nil, policyKnown, !rotatesInTime {
            warnings.append(
                (
                    "The key expires on \(KeyChecks.day(expires)) and nothing rotates it",
                    "Rotate it before it expires: az keyvault key rotation-policy update \(context.storeFlag) "
                        + "--name \(context.keyName) --value @policy.json, with policy.json: \(policyFile)"
                )
            )
        }
        guard warnings.isEmpty else {
            return Check(
                id: id,
                state: .warning,
                summary: warnings.map(\.summary).joined(separator: "; "),
                remediation: warnings.map(\.remediation).joined(separator: "; then: "),
                evidence: [evidence(rotations, expires: expires)]
            )
        }
        let summary =
            expires == nil
            ? "The key has no expiry date" + (rotations.isEmpty ? "" : " and a rotation policy rotates it")
            : "A rotation policy rotates the key before it expires on \(KeyChecks.day(expires!))"
        return Check(id: id, state: .ok, summary: summary, evidence: [evidence(rotations, expires: expires)])
    }

    /// Whether a Rotate action fires before the expiry: any `timeBeforeExpiry` does; a
    /// `timeAfterCreate` does when creation plus it comes first (assumed, when creation is unknown).
    static func fires(_ action: RotationPolicy.LifetimeAction, created: Int?, expires: Int?) -> Bool {
        if let before = action.trigger?.timeBeforeExpiry, (seconds(before) ?? 0) > 0 { return true }
        guard let after = action.trigger?.timeAfterCreate, let delay = seconds(after) else { return false }
        guard let expires, let created else { return true }
        return created + delay < expires
    }

    /// An ISO 8601 duration in seconds, years as 365 days and months as 30 (Key Vault's own
    /// policies use whole days, months and years); nil when it is not one.
    static func seconds(_ duration: String) -> Int? {
        var text = Substring(duration.uppercased())
        guard text.first == "P" else { return nil }
        text = text.dropFirst()
        var total = 0
        var number = ""
        var inTime = false
        for character in text {
            if character.isNumber {
                number.append(character)
                continue
            }
            if character == "T" {
                inTime = true
                continue
            }
            guard let value = Int(number) else { return nil }
            number = ""
            switch (character, inTime) {
            case ("Y", false): total += value * 365 * 86_400
            case ("M", false): total += value * 30 * 86_400
            case ("W", false): total += value * 7 * 86_400
            case ("D", false): total += value * 86_400
            case ("H", true): total += value * 3600
            case ("M", true): total += value * 60
            case ("S", true): total += value
            default: return nil
            }
        }
        return number.isEmpty && total >= 0 ? total : nil
    }

    private static func evidence(_ rotations: [RotationPolicy.LifetimeAction], expires: Int?) -> String {
        let triggers = rotations.map { action in
            action.trigger?.timeBeforeExpiry.map { "rotate \($0) before expiry" }
                ?? action.trigger?.timeAfterCreate.map { "rotate \($0) after creation" } ?? "rotate"
        }
        return "rotation policy: " + (triggers.isEmpty ? "no Rotate action" : triggers.joined(separator: ", "))
            + "; expiry: " + (expires.map { KeyChecks.day($0) } ?? "none")
    }
}
