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
