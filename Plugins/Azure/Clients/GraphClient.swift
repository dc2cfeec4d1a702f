/// Microsoft Graph reads: the vendor app's service principal, the signed-in person's roles.
struct GraphClient: Sendable {
    let api: AuthorizedJSON
    var cloud: AzureCloud { api.cloud }

    /// The service principal of `appID` in this tenant, or nil when there is none (404: no consent yet).
    func servicePrincipal(appID: String) async -> Result<ServicePrincipal?, CallFailure> {
        let result = await api.get(
            ServicePrincipal.self,
            "https://\(cloud.graphHost)/v1.0/servicePrincipals(appId='\(appID)')",
            resource: cloud.graphResource,
            audience: .graph
        )
        if case .failure(let failure) = result, failure.status == 404 { return .success(nil) }
        return result.map { $0 }
    }

    /// The directory roles the signed-in person holds (active assignments), by template id.
    func myDirectoryRoles() async -> Result<[DirectoryObject], CallFailure> {
        let all = await api.all(
            "https://\(cloud.graphHost)/v1.0/me/memberOf",
            resource: cloud.graphResource,
            audience: .graph
        ) { [api, cloud] url in
            await api.get(GraphList<DirectoryObject>.self, url, resource: cloud.graphResource, audience: .graph)
                .map { (items: $0.value, next: $0.nextLink) }
        }
        return all.map { $0.filter { $0.type == "#microsoft.graph.directoryRole" } }
    }
}
