/// Microsoft Graph reads: the vendor app's service principal and its groups, the signed-in person's roles.
struct GraphClient: Sendable {
    let api: AuthorizedJSON
    var cloud: AzureCloud { api.cloud }
    private var base: String { "https://\(cloud.graphHost)/v1.0" }

    /// The service principal of `appID` in this tenant, or nil when there is none (404: no consent yet).
    func servicePrincipal(appID: String) async -> Result<ServicePrincipal?, CallFailure> {
        let result = await api.get(
            ServicePrincipal.self,
            "\(base)/servicePrincipals(appId='\(appID)')",
            resource: cloud.graphResource,
            audience: .graph
        )
        if case .failure(let failure) = result, failure.status == 404 { return .success(nil) }
        return result.map { $0 }
    }

    /// The ids of the groups `objectID` belongs to, directly or through other groups.
    ///
    /// Access policies and deny assignments may name a group rather than the principal itself.
    func groups(of objectID: String) async -> Result<Set<String>, CallFailure> {
        await list(
            DirectoryObjectID.self,
            "\(base)/servicePrincipals/\(PercentEncoding.encode(objectID))/transitiveMemberOf"
        )
        .map { Set($0.filter { $0.type == "#microsoft.graph.group" }.map(\.id)) }
    }

    /// Active directory roles of `principalID`, its own and those of role-assignable groups it is in.
    ///
    /// `/me/memberOf` is not transitive; this listing is, and needs `ConsistencyLevel: eventual`.
    func activeRoles(of principalID: String) async -> Result<[DirectoryRoleGrant], CallFailure> {
        await list(
            DirectoryRoleGrant.self,
            "\(base)/roleManagement/directory/transitiveRoleAssignments?$filter=" + filter(principalID),
            headers: ["ConsistencyLevel": "eventual"]
        )
    }

    /// Roles `principalID` may activate in Privileged Identity Management (not active yet).
    func eligibleRoles(of principalID: String) async -> Result<[DirectoryRoleGrant], CallFailure> {
        await list(
            DirectoryRoleGrant.self,
            "\(base)/roleManagement/directory/roleEligibilityScheduleInstances?$filter=" + filter(principalID)
        )
    }

    private func filter(_ principalID: String) -> String {
        PercentEncoding.encode("principalId eq '\(principalID)'")
    }

    private func list<Item: Decodable & Sendable>(
        _ type: Item.Type,
        _ url: String,
        headers: [String: String] = [:]
    ) async -> Result<[Item], CallFailure> {
        await api.all(url, resource: cloud.graphResource, audience: .graph) { [api, cloud] url in
            await api.get(GraphList<Item>.self, url, resource: cloud.graphResource, audience: .graph, headers: headers)
                .map { (items: $0.value, next: $0.nextLink) }
        }
    }
}

/// A directory object's type and id, from a membership listing.
struct DirectoryObjectID: Decodable, Sendable {
    var type: String?
    var id: String

    enum CodingKeys: String, CodingKey {
        case type = "@odata.type"
        case id
    }
}
