/// `Microsoft.Authorization` shapes (api-version 2022-04-01): role definitions, deny assignments,
/// the caller's own permissions. Decoded as sent; ``AccessEngine`` decides what they mean.

/// One block of a role definition's, a deny assignment's or the caller's permissions.
///
/// A missing list is empty: Azure omits `notDataActions` and the like when there are none.
struct PermissionSet: Decodable, Sendable, Equatable {
    var actions: [String]
    var notActions: [String]
    var dataActions: [String]
    var notDataActions: [String]

    init(actions: [String] = [], notActions: [String] = [], dataActions: [String] = [], notDataActions: [String] = []) {
        self.actions = actions
        self.notActions = notActions
        self.dataActions = dataActions
        self.notDataActions = notDataActions
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        actions = try container.decodeIfPresent([String].self, forKey: .actions) ?? []
        notActions = try container.decodeIfPresent([String].self, forKey: .notActions) ?? []
        dataActions = try container.decodeIfPresent([String].self, forKey: .dataActions) ?? []
        notDataActions = try container.decodeIfPresent([String].self, forKey: .notDataActions) ?? []
    }

    enum CodingKeys: String, CodingKey { case actions, notActions, dataActions, notDataActions }
}

/// `…/providers/Microsoft.Authorization/roleDefinitions/{id}`: built-in and custom alike.
struct RoleDefinition: Decodable, Sendable {
    struct Properties: Decodable, Sendable {
        var roleName: String?
        /// `BuiltInRole` or `CustomRole`.
        var type: String?
        var permissions: [PermissionSet]
    }

    /// The definition's GUID.
    var name: String
    var properties: Properties

    var roleName: String { properties.roleName ?? name }
}

/// `…/providers/Microsoft.Authorization/denyAssignments`: wins over every role assignment.
struct DenyAssignment: Decodable, Sendable {
    struct Principal: Decodable, Sendable {
        var id: String
        var type: String?
    }

    struct Properties: Decodable, Sendable {
        var denyAssignmentName: String?
        var permissions: [PermissionSet]
        var scope: String
        var principals: [Principal]?
        var excludePrincipals: [Principal]?
        var doNotApplyToChildScopes: Bool?
    }

    var name: String?
    var properties: Properties

    var displayName: String { properties.denyAssignmentName ?? name ?? "unnamed deny assignment" }
}
