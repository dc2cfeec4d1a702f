import CMKCore

/// admin-role: the person doing the setup holds an Entra role that may consent for the tenant,
/// and may create the vault's role assignment of step 4.
///
/// Roles count whether held directly or through a role-assignable group; a role that is only
/// eligible in Privileged Identity Management must be activated first. Once the vendor's service
/// principal exists and holds key access, no admin role is needed any more: the check no longer
/// decides readiness.
enum AdminRoleCheck {
    static let roles: [String: String] = [
        "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3": "Application Administrator",
        "158c047a-c907-4556-b7ef-446551a6b5f7": "Cloud Application Administrator",
        "62e90394-69f5-4237-9190-012177145e10": "Global Administrator",
    ]
    static let assignAction = "Microsoft.Authorization/roleAssignments/write"
    static let assigners = "Owner, User Access Administrator or Key Vault Data Access Administrator"

    /// A person's directory roles, active (own or group-held) and eligible.
    struct UserRoles: Sendable {
        var objectID: String
        var active: [DirectoryRoleGrant]
        var eligible: Result<[DirectoryRoleGrant], CallFailure>
    }

    /// Who signed in: only a person's directory roles can be read.
    enum Identity: Sendable {
        case application
        case user(UserRoles)
    }

    static func evaluate(
        _ identity: Result<Identity, CallFailure>,
        setupDone: Bool,
        mayAssign: Result<[PermissionSet], CallFailure>?,
        rbacVault: Bool,
        context: CheckContext
    ) -> Check {
        let id = CheckID.adminRole.rawValue
        if setupDone {
            return Check(
                id: id,
                state: .notApplicable,
                summary: "Setup is done; no admin role is needed to keep it",
                evidence: ["the vendor's service principal exists and holds access to the key (app-key-access)"]
            )
        }
        let names = roles.values.sorted().joined(separator: ", ")
        switch identity {
        case .failure(let failure):
            return StaticChecks.unknown(
                .adminRole,
                "Cannot read the signed-in user's roles: \(failure.reason)",
                remediation: failure.status == 403
                    ? "Reading directory roles needs RoleManagement.Read.Directory (Microsoft Graph)" : nil
            )
        case .success(.application):
            return Check(
                id: id,
                state: .manual,
                summary: "Signed in as an application, which cannot tell whether the admin holds an Entra role",
                remediation: "Check that the person doing the setup holds one of \(names) (Entra admin center, Roles "
                    + "and administrators), or check again signed in as that person (az login)"
            )
        case .success(.user(let user)):
            return person(user, mayAssign: rbacVault ? mayAssign : nil, names: names, context: context)
        }
    }

    private static func person(
        _ user: UserRoles,
        mayAssign: Result<[PermissionSet], CallFailure>?,
        names: String,
        context: CheckContext
    ) -> Check {
        let id = CheckID.adminRole.rawValue
        let held = user.active.compactMap { grant -> (String, String?)? in
            guard let name = roles[grant.roleDefinitionId.lowercased()] else { return nil }
            let group = grant.principalId.flatMap { $0.lowercased() == user.objectID.lowercased() ? nil : $0 }
            return (name, group)
        }
        .sorted { $0.0 < $1.0 }
        guard let (role, group) = held.first else {
            let eligible = ((try? user.eligible.get()) ?? []).compactMap { roles[$0.roleDefinitionId.lowercased()] }
            if let first = eligible.sorted().first {
                return Check(
                    id: id,
                    state: .actionRequired,
                    summary: "The signed-in user is eligible for \(first): activate it in Privileged Identity "
                        + "Management",
                    remediation: "Entra admin center > Identity Governance > Privileged Identity Management > My "
                        + "roles > Eligible assignments > \(first) > Activate, then run cmk status again"
                )
            }
            var evidence = ["active roles read from transitiveRoleAssignments (direct and through groups)"]
            if case .failure(let failure) = user.eligible {
                evidence.append("eligible roles not read: \(failure.reason)")
            }
            return Check(
                id: id,
                state: .actionRequired,
                summary: "The signed-in user holds none of \(names) (active or eligible)",
                remediation: "Ask a Privileged Role Administrator to assign Cloud Application Administrator",
                evidence: evidence
            )
        }
        let how = "The signed-in user holds \(role)" + (group.map { " (through group \($0))" } ?? "")
        switch mayAssign {
        case .success(let permissions)? where !ActionPattern.allowsControl(permissions, assignAction):
            return Check(
                id: id,
                state: .actionRequired,
                summary: "\(how), but may not create role assignments on the vault (\(assignAction))",
                remediation: "Ask someone with \(assigners) on \(context.vaultScope) to grant the vendor's "
                    + "application access (see app-key-access), or to give you User Access Administrator there",
                evidence: ["ARM permissions API at the vault"]
            )
        case .failure(let failure)?:
            return Check(
                id: id,
                state: .ok,
                summary: how,
                evidence: ["could not read whether you may create role assignments: \(failure.reason)"]
            )
        default:
            return Check(id: id, state: .ok, summary: how)
        }
    }
}
