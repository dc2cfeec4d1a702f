import LoopbackServer

/// Microsoft Graph: the vendor app's service principal and the signed-in user's directory roles.
extension AzureEmulator {
    static let roleNames = [
        "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3": "Application Administrator",
        "158c047a-c907-4556-b7ef-446551a6b5f7": "Cloud Application Administrator",
        "62e90394-69f5-4237-9190-012177145e10": "Global Administrator",
    ]

    /// The emulator's stand-in for the vendor's home tenant (`appOwnerOrganizationId`).
    static let vendorTenantID = "fa7b1b5a-7b34-4387-94ae-d2c178decee1"

    private func principal(_ request: ServerRequest) -> String? {
        Self.quoted(after: "principalId eq ", in: request.query["$filter"] ?? "")?.lowercased()
    }

    private static func roleGrant(_ grant: (principal: String, role: String)) -> JSONValue {
        .object([
            "id": .string("\(grant.role)-\(grant.principal)"), "principalId": .string(grant.principal),
            "roleDefinitionId": .string(grant.role), "directoryScopeId": .string("/"),
        ])
    }

    func graph(_ route: Route, host: String, _ request: ServerRequest) -> ServerResponse {
        guard let caller = tokens.validate(request.headers["authorization"], audience: "https://\(host)") else {
            return Self.error(401, "InvalidAuthenticationToken", "Access token is empty or invalid.")
        }
        switch route {
        case .servicePrincipal(let appID):
            guard let principal = scenario.servicePrincipal,
                (principal.appId ?? Self.vendorApplicationID).lowercased() == appID.lowercased()
            else {
                return Self.error(404, "Request_ResourceNotFound", "Resource '\(appID)' does not exist.")
            }
            return .json(
                JSONValue.object([
                    "@odata.context": .string("https://\(host)/v1.0/$metadata#servicePrincipals/$entity"),
                    "id": .string(principal.objectId), "appId": .string(appID),
                    "displayName": .string("Adobe Experience Platform"), "servicePrincipalType": .string("Application"),
                    "accountEnabled": .bool(principal.accountEnabled ?? true),
                    "appOwnerOrganizationId": .string(principal.appOwnerOrganizationId ?? Self.vendorTenantID),
                ]).text
            )
        case .memberOf:
            guard caller.isUser else {
                return Self.error(400, "BadRequest", "/me request is only valid with delegated authentication flow.")
            }
            let roles = (scenario.user?.directoryRoles ?? []).enumerated().map { index, template in
                JSONValue.object([
                    "@odata.type": .string("#microsoft.graph.directoryRole"), "id": .string("role-\(index)"),
                    "roleTemplateId": .string(template),
                    "displayName": .string(Self.roleNames[template] ?? "Directory role"),
                ])
            }
            let group = JSONValue.object([
                "@odata.type": .string("#microsoft.graph.group"), "id": .string("group-0"),
                "displayName": .string("Finance"),
            ])
            return .json(JSONValue.object(["value": .array([group] + roles)]).text)
        case .servicePrincipalGroups(let objectID):
            let value = groups(of: objectID).map { group in
                JSONValue.object(["@odata.type": .string("#microsoft.graph.group"), "id": .string(group.id)])
            }
            return .json(JSONValue.object(["value": .array(value)]).text)
        case .transitiveRoleAssignments:
            guard request.headers["consistencylevel"]?.lowercased() == "eventual" else {
                return Self.error(400, "Request_UnsupportedQuery", "The request needs 'ConsistencyLevel: eventual'.")
            }
            guard let user = scenario.user, principal(request) == user.objectId.lowercased() else {
                return .json(JSONValue.object(["value": .array([])]).text)
            }
            let direct = (user.directoryRoles ?? []).map { (user.objectId, $0) }
            let viaGroups = (user.groupRoles ?? []).map { ($0.groupId, $0.roleTemplateId) }
            return .json(JSONValue.object(["value": .array((direct + viaGroups).map(Self.roleGrant))]).text)
        case .roleEligibility:
            guard let user = scenario.user, principal(request) == user.objectId.lowercased() else {
                return .json(JSONValue.object(["value": .array([])]).text)
            }
            let value = (user.eligibleRoles ?? []).map { Self.roleGrant((user.objectId, $0)) }
            return .json(JSONValue.object(["value": .array(value)]).text)
        default:
            return Self.error(404, "NotFound", "no Graph route")
        }
    }
}
