import CMKCore

/// app-consent and app-key-access: the vendor's application in the tenant, and its grant on the key.
///
/// What counts as access is decided by ``AccessEngine``; this file only words its answers.
enum AppChecks {
    static func consent(_ principal: Result<ServicePrincipal?, CallFailure>, _ context: CheckContext) -> Check {
        let id = CheckID.appConsent.rawValue
        if let check = unavailableCloudCheck(id, context) { return check }
        switch principal {
        case .success(let principal?):
            let evidence = [
                "service principal object id \(principal.id)",
                "appOwnerOrganizationId \(principal.appOwnerOrganizationId ?? "not stated")",
            ]
            if principal.accountEnabled == false {
                return Check(
                    id: id,
                    state: .actionRequired,
                    summary: "The vendor's service principal is disabled (accountEnabled false): it cannot sign in to "
                        + "use the key",
                    remediation: "az ad sp update --id \(principal.id) --set accountEnabled=true",
                    evidence: evidence
                )
            }
            return Check(
                id: id,
                state: .ok,
                summary: "The vendor's application has a service principal in the tenant (object id \(principal.id))",
                evidence: evidence
            )
        case .success(nil):
            return Check(
                id: id,
                state: .actionRequired,
                summary: "The vendor's application (\(VendorApp.applicationID)) has no service principal in the "
                    + "tenant: consent was not given",
                remediation: "An administrator opens \(context.consentURL) and accepts, or runs: "
                    + "az ad sp create --id \(VendorApp.applicationID)"
            )
        case .failure(let failure):
            return StaticChecks.unknown(
                .appConsent,
                "Cannot look up the vendor's application: \(failure.reason)",
                remediation: (failure.status == 403
                    ? "An application identity needs Application.Read.All (Microsoft Graph) to read it. " : "")
                    + "Consent with \(context.consentURL)"
            )
        }
    }

    /// The vendor's application exists only in the public cloud: a national cloud's key cannot be granted to it.
    /// The check's answer in a national cloud, where the vendor's application does not exist.
    private static func unavailableCloudCheck(_ id: String, _ context: CheckContext) -> Check? {
        unavailableCloud(context).map {
            Check(id: id, state: .actionRequired, summary: $0, remediation: "Use a key in the Azure public cloud (see key-uri)")
        }
    }

    static func unavailableCloud(_ context: CheckContext) -> String? {
        guard context.cloud != .publicCloud else { return nil }
        return "The vendor's application is not available in Azure \(context.cloud.displayName): the key must be in "
            + "the public cloud"
    }

    static func keyAccess(
        principal: Result<ServicePrincipal?, CallFailure>,
        groups: Result<Set<String>, CallFailure>,
        vault: Result<ARMVault, CallFailure>,
        rbac: Result<LiveStatus.RBACFacts, CallFailure>,
        hsm: Result<HSMKeyAccess.Grants, CallFailure>? = nil,
        context: CheckContext
    ) -> Check {
        let id = CheckID.appKeyAccess.rawValue
        if let check = unavailableCloudCheck(id, context) { return check }
        let objectID: String
        switch principal {
        case .success(let principal?): objectID = principal.id
        case .success(nil):
            return Check(
                id: id,
                state: .actionRequired,
                summary: "The vendor's application has no service principal yet, so it has no access to the key",
                remediation: "Give consent first (see app-consent), then: "
                    + (context.isHSM
                        ? HSMKeyAccess.command(context, "<its object id>") : roleCommand(context, "<its object id>"))
            )
        case .failure(let failure):
            return StaticChecks.unknown(.appKeyAccess, "Needs the application's service principal: \(failure.reason)")
        }
        if context.isHSM, let hsm {
            return HSMKeyAccess.evaluate(hsm, objectID: objectID, context: context)
        }
        let properties: ARMVault.Properties
        switch vault {
        case .success(let value): properties = value.properties
        case .failure(let failure):
            return StaticChecks.unknown(.appKeyAccess, "Cannot read the vault's permission model: \(failure.reason)")
        }
        // ARM 2026-02-01: a vault that does not state its permission model uses RBAC.
        if properties.enableRbacAuthorization != false {
            return rbacAccess(rbac, groups: groups, objectID: objectID, context: context)
        }
        guard let policies = properties.accessPolicies else {
            return StaticChecks.unknown(.appKeyAccess, "The vault states neither RBAC nor access policies")
        }
        return accessPolicies(policies, groups: groups, objectID: objectID, context: context)
    }

    private static func rbacAccess(
        _ facts: Result<LiveStatus.RBACFacts, CallFailure>,
        groups: Result<Set<String>, CallFailure>,
        objectID: String,
        context: CheckContext
    ) -> Check {
        let id = CheckID.appKeyAccess.rawValue
        let rbac: LiveStatus.RBACFacts
        switch facts {
        case .success(let value): rbac = value
        case .failure(let failure):
            return StaticChecks.unknown(.appKeyAccess, "Cannot read the role assignments: \(failure.reason)")
        }
        guard let vaultID = context.vaultID else {
            return StaticChecks.unknown(.appKeyAccess, "The vault's resource id is not known")
        }
        var evidence: [String] = []
        if case .failure(let failure) = rbac.denyAssignments {
            evidence.append("deny assignments not read: \(failure.reason)")
        }
        if case .failure(let failure) = groups {
            evidence.append("groups of the service principal not read: \(failure.reason)")
        }
        evidence += rbac.definitionFailures.map { "role definition not read: \($0.reason)" }
        let verdict = AccessEngine.rbac(
            principal: objectID,
            groups: (try? groups.get()) ?? [],
            assignments: rbac.assignments,
            definitions: rbac.definitions,
            denyAssignments: (try? rbac.denyAssignments.get()) ?? [],
            target: AccessEngine.Target(vault: vaultID, keyName: context.keyName)
        )
        evidence += verdict.grants.map { "grant: \($0.described) gives \(short($0.actions))" }
        evidence += verdict.denials.map { "deny: \($0.name) at \($0.scope) removes \(short($0.actions))" }
        if let denial = verdict.denials.first {
            return Check(
                id: id,
                state: .actionRequired,
                summary: "Deny assignment '\(denial.name)' at \(denial.scope) removes \(short(denial.actions)) from "
                    + "the vendor's application, whatever its roles grant",
                remediation: "Deny assignments are set by Azure Blueprints, managed applications or deployment stacks: "
                    + "exclude the vendor's service principal (\(objectID)) from '\(denial.name)' where it was created",
                evidence: evidence
            )
        }
        guard verdict.granted else {
            if !verdict.unreadRoles.isEmpty {
                return Check(
                    id: id,
                    state: .unknown,
                    summary: "Cannot tell what role \(verdict.unreadRoles.joined(separator: ", ")) grants: its "
                        + "definition could not be read",
                    remediation: "Reading role definitions needs Reader on the vault's subscription",
                    evidence: evidence
                )
            }
            let partial = verdict.grants.isEmpty ? "" : " (what it holds misses \(short(verdict.missing)))"
            return Check(
                id: id,
                state: .actionRequired,
                summary: "The vendor's application (object id \(objectID)) holds no role that lets it read, wrap and "
                    + "unwrap the key at the key, the vault or above\(partial)",
                remediation: roleCommand(context, objectID),
                evidence: evidence.isEmpty ? nil : evidence
            )
        }
        let through = verdict.grants.map(\.described).joined(separator: "; ")
        if let wide = verdict.wider.first {
            return Check(
                id: id,
                state: .warning,
                summary: "The vendor's application holds \(wide.described), which is wider than needed: "
                    + wide.wider.joined(separator: "; "),
                remediation: "Least privilege: " + roleCommand(context, objectID) + ", then remove the wider grant: "
                    + "az role assignment delete --assignee \(objectID) --role \"\(wide.roleName)\" --scope \(wide.scope)",
                evidence: evidence
            )
        }
        return Check(id: id, state: .ok, summary: "The vendor's application holds \(through)", evidence: evidence)
    }

    private static func accessPolicies(
        _ policies: [AccessPolicy],
        groups: Result<Set<String>, CallFailure>,
        objectID: String,
        context: CheckContext
    ) -> Check {
        let id = CheckID.appKeyAccess.rawValue
        let verdict = AccessEngine.accessPolicies(policies, principal: objectID, groups: (try? groups.get()) ?? [])
        var evidence: [String] = []
        if verdict.compoundIgnored {
            evidence.append(
                "an entry for its object id names an applicationId (a compound identity): it grants only when that "
                    + "application acts on its behalf, so it does not count"
            )
        }
        guard verdict.granted else {
            if case .failure(let failure) = groups,
                policies.contains(where: { $0.objectId.lowercased() != objectID.lowercased() })
            {
                return StaticChecks.unknown(
                    .appKeyAccess,
                    "Cannot tell whether a group's access policy covers the vendor's application: \(failure.reason)",
                    remediation: "Reading its groups needs GroupMember.Read.All or Directory.Read.All (Microsoft Graph)"
                )
            }
            return Check(
                id: id,
                state: .actionRequired,
                summary: "The vault uses access policies and none gives the vendor's application (object id "
                    + "\(objectID)) " + verdict.missing.joined(separator: ", "),
                remediation: "az keyvault set-policy --name \(context.vaultName) --resource-group "
                    + "\(context.resourceGroup) --object-id \(objectID) --key-permissions get wrapKey unwrapKey",
                evidence: evidence.isEmpty ? nil : evidence
            )
        }
        evidence.append("access policy: \(verdict.through.joined(separator: ", "))")
        return Check(
            id: id,
            state: .warning,
            summary: "An access policy gives the vendor's application get, wrapKey and unwrapKey on keys; the vendor's "
                + "guide asks for Azure RBAC",
            remediation: "Grant the role first, so that access does not lapse: " + roleCommand(context, objectID)
                + "; then: az keyvault update --name \(context.vaultName) --resource-group \(context.resourceGroup) "
                + "--enable-rbac-authorization true",
            evidence: evidence
        )
    }

    /// `read, wrap, unwrap`, for messages.
    private static func short(_ actions: [String]) -> String {
        actions.map { action in
            switch action {
            case AccessEngine.keyRead: "keys/read"
            case AccessEngine.keyWrap: "keys/wrap"
            case AccessEngine.keyUnwrap: "keys/unwrap"
            default: action
            }
        }
        .joined(separator: ", ")
    }

    private static func roleCommand(_ context: CheckContext, _ objectID: String) -> String {
        "az role assignment create --role \"Key Vault Crypto Service Encryption User\" --scope \(context.vaultScope) "
            + "--assignee-object-id \(objectID) --assignee-principal-type ServicePrincipal"
    }
}
