import CMKCore

/// app-consent and app-key-access: the vendor's application in the tenant, and its grant on the key.
enum AppChecks {
    /// Roles that let a principal read the key and wrap and unwrap with it.
    static let grantingRoles: [String: String] = [
        "e147488a-f6f5-4113-8e2d-b22465e65bf6": "Key Vault Crypto Service Encryption User",
        "12338af0-0e69-4776-bea7-57ae8d297424": "Key Vault Crypto User",
        "14b46e9e-c2b7-41b4-b07b-48a6ebf60603": "Key Vault Crypto Officer",
        "00482a5a-887f-4fb3-b363-3b7fe8e74483": "Key Vault Administrator",
    ]
    static let requiredPermissions = ["get", "wrapKey", "unwrapKey"]

    static func consent(_ principal: Result<ServicePrincipal?, CallFailure>, _ context: CheckContext) -> Check {
        let id = CheckID.appConsent.rawValue
        switch principal {
        case .success(let principal?):
            return Check(
                id: id,
                state: .ok,
                summary: "The vendor's application has a service principal in the tenant (object id \(principal.id))"
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
                remediation: "Consent with \(context.consentURL)"
            )
        }
    }

    static func keyAccess(
        principal: Result<ServicePrincipal?, CallFailure>,
        vault: Result<ARMVault, CallFailure>,
        roles: Result<[RoleAssignment], CallFailure>,
        hsm: Result<HSMKeyAccess.Grants, CallFailure>? = nil,
        context: CheckContext
    ) -> Check {
        let id = CheckID.appKeyAccess.rawValue
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
            return rbac(roles, objectID: objectID, context: context)
        }
        guard let policies = properties.accessPolicies else {
            return StaticChecks.unknown(.appKeyAccess, "The vault states neither RBAC nor access policies")
        }
        return accessPolicies(policies, objectID: objectID, context: context)
    }

    private static func rbac(
        _ roles: Result<[RoleAssignment], CallFailure>,
        objectID: String,
        context: CheckContext
    )
        -> Check
    {
        let id = CheckID.appKeyAccess.rawValue
        let assignments: [RoleAssignment]
        switch roles {
        case .success(let value): assignments = value
        case .failure(let failure):
            return StaticChecks.unknown(.appKeyAccess, "Cannot read the role assignments: \(failure.reason)")
        }
        let vaultPath = context.vaultScope.lowercased()
        let keyPath = "\(vaultPath)/keys/\(context.keyName.lowercased())"
        let granting = assignments.first { assignment in
            let scope = assignment.properties.scope.lowercased()
            let covers = scope == vaultPath || scope == keyPath || scope == "/" || vaultPath.hasPrefix(scope + "/")
            return covers && assignment.properties.principalId.lowercased() == objectID.lowercased()
                && grantingRoles[assignment.roleID] != nil
        }
        guard let granting else {
            return Check(
                id: id,
                state: .actionRequired,
                summary: "The vendor's application (object id \(objectID)) holds no Key Vault crypto role on the key, "
                    + "the vault or above",
                remediation: roleCommand(context, objectID)
            )
        }
        return Check(
            id: id,
            state: .ok,
            summary: "The vendor's application holds \(grantingRoles[granting.roleID]!) at \(granting.properties.scope)"
        )
    }

    private static func accessPolicies(_ policies: [AccessPolicy], objectID: String, context: CheckContext) -> Check {
        let id = CheckID.appKeyAccess.rawValue
        let granted = policies.filter { $0.objectId.lowercased() == objectID.lowercased() }
            .flatMap { $0.permissions.keys ?? [] }.map { $0.lowercased() }
        let missing = requiredPermissions.filter { !granted.contains($0.lowercased()) }
        guard !missing.isEmpty else {
            return Check(
                id: id,
                state: .ok,
                summary: "An access policy gives the vendor's application get, wrapKey and unwrapKey on keys"
            )
        }
        return Check(
            id: id,
            state: .actionRequired,
            summary: "The vault uses access policies and none gives the vendor's application (object id \(objectID)) "
                + missing.joined(separator: ", "),
            remediation: "az keyvault set-policy --name \(context.vaultName) --resource-group \(context.resourceGroup) "
                + "--object-id \(objectID) --key-permissions get wrapKey unwrapKey"
        )
    }

    private static func roleCommand(_ context: CheckContext, _ objectID: String) -> String {
        "az role assignment create --role \"Key Vault Crypto Service Encryption User\" --scope \(context.vaultScope) "
            + "--assignee-object-id \(objectID) --assignee-principal-type ServicePrincipal"
    }
}
