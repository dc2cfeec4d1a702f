import CMKCore

/// admin-role: the person doing the setup holds an Entra role that may consent for the tenant.
enum AdminRoleCheck {
    static let roles: [String: String] = [
        "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3": "Application Administrator",
        "158c047a-c907-4556-b7ef-446551a6b5f7": "Cloud Application Administrator",
        "62e90394-69f5-4237-9190-012177145e10": "Global Administrator",
    ]

    /// Who signed in: only a person's directory roles can be read.
    enum Identity: Sendable {
        case application
        case user(roles: [DirectoryObject])
    }

    static func evaluate(_ identity: Result<Identity, CallFailure>) -> Check {
        let id = CheckID.adminRole.rawValue
        let names = roles.values.sorted().joined(separator: ", ")
        switch identity {
        case .failure(let failure):
            return StaticChecks.unknown(.adminRole, "Cannot read the signed-in user's roles: \(failure.reason)")
        case .success(.application):
            return Check(
                id: id,
                state: .manual,
                summary: "Signed in as an application, which cannot tell whether the admin holds an Entra role",
                remediation: "Check that the person doing the setup holds one of \(names) (Entra admin center, Roles "
                    + "and administrators), or run cmk status after az login as that person"
            )
        case .success(.user(let memberships)):
            let held = memberships.compactMap { $0.roleTemplateId.flatMap { roles[$0.lowercased()] } }
            guard let first = held.sorted().first else {
                return Check(
                    id: id,
                    state: .actionRequired,
                    summary: "The signed-in user holds none of \(names) (active assignments)",
                    remediation: "Ask a Privileged Role Administrator to assign Cloud Application Administrator, or "
                        + "activate an eligible assignment in Privileged Identity Management"
                )
            }
            return Check(id: id, state: .ok, summary: "The signed-in user holds \(first)")
        }
    }
}
