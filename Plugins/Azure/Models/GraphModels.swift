/// Microsoft Graph shapes (v1.0).
struct GraphList<Item: Decodable & Sendable>: Decodable, Sendable {
    var value: [Item]
    var nextLink: String?

    enum CodingKeys: String, CodingKey {
        case value
        case nextLink = "@odata.nextLink"
    }
}

/// The vendor application's service principal in this tenant: `id` is its object id here.
struct ServicePrincipal: Decodable, Sendable {
    var id: String
    /// False when an admin disabled it: Entra then issues it no token, so it cannot reach the key.
    var accountEnabled: Bool?
    /// The tenant that registered the application (the vendor's).
    var appOwnerOrganizationId: String?
}

/// An entry of `/roleManagement/directory/transitiveRoleAssignments` or
/// `…/roleEligibilityScheduleInstances`: for built-in roles `roleDefinitionId` is the template id.
struct DirectoryRoleGrant: Decodable, Sendable {
    var roleDefinitionId: String
    /// The user, or the role-assignable group that holds the role.
    var principalId: String?
}

/// An entry of `/me/memberOf`: groups, administrative units and directory roles.
struct DirectoryObject: Decodable, Sendable {
    var type: String?
    var roleTemplateId: String?

    enum CodingKeys: String, CodingKey {
        case type = "@odata.type"
        case roleTemplateId
    }
}
