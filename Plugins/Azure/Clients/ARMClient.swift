/// Azure Resource Manager reads: locate the vault, read it, its key, its keys, who may use it.
struct ARMClient: Sendable {
    /// Every `Microsoft.KeyVault` management call's api-version, in one place.
    ///
    /// Every version before 2026-02-01 retires on 2027-02-27. In this one a vault without
    /// `enableRbacAuthorization` uses RBAC, which `AppChecks` follows.
    static let keyVaultAPIVersion = "2026-02-01"
    static let authorizationAPIVersion = "2022-04-01"

    let api: AuthorizedJSON
    var cloud: AzureCloud { api.cloud }
    private var base: String { "https://\(cloud.managementHost)" }

    private func list<Item: Decodable & Sendable>(_ type: Item.Type, _ url: String) async -> Result<[Item], CallFailure>
    {
        await api.all(url, resource: cloud.managementResource, audience: .management) { [api, cloud] url in
            await api.get(ARMList<Item>.self, url, resource: cloud.managementResource, audience: .management)
                .map { (items: $0.value, next: $0.nextLink) }
        }
    }

    /// Subscription searches in flight at once when Resource Graph is unavailable: enough to
    /// hide latency, few enough not to be throttled in a tenant of thousands of subscriptions.
    static let walkConcurrency = 16

    /// Finds the vault named in the key identifier in every subscription the identity can read.
    ///
    /// Resource Graph answers for every readable subscription in one call; only where it is not
    /// available (refused, not registered, failing) does cmk walk the subscriptions itself.
    /// Nil when no subscription has the vault.
    func locate(_ key: KeyIdentifier) async -> Result<VaultResourceID?, CallFailure> {
        switch await resourceGraph(key) {
        case .success(let found): return .success(found)
        case .failure(let failure)
        where failure.code == .refused || failure.code == .unavailable
            || failure.code == .signIn:
            return .failure(failure)
        case .failure: return await walk(key)
        }
    }

    /// One Resource Graph query by type and name (KQL `=~` is case-insensitive, as vault names are).
    func resourceGraph(_ key: KeyIdentifier) async -> Result<VaultResourceID?, CallFailure> {
        let query =
            "resources | where type =~ '\(key.resourceType.lowercased())' and name =~ '\(key.vaultName)' "
            + "| project id, name, type"
        let body = Array("{\"query\":\"\(query)\"}".utf8)
        return await api.get(
            ResourceGraphAnswer.self,
            "\(base)/providers/Microsoft.ResourceGraph/resources?api-version=2022-10-01",
            resource: cloud.managementResource,
            audience: .management,
            body: body
        )
        .map { answer in
            answer.data.lazy.compactMap { VaultResourceID($0.id) }.first { $0.name.lowercased() == key.vaultName }
        }
    }

    /// Lists the subscriptions, then searches each, at most ``walkConcurrency`` at a time.
    func walk(_ key: KeyIdentifier) async -> Result<VaultResourceID?, CallFailure> {
        let subscriptions: [ARMSubscription]
        switch await list(ARMSubscription.self, "\(base)/subscriptions?api-version=2022-12-01") {
        case .success(let value): subscriptions = value
        case .failure(let failure): return .failure(failure)
        }
        let filter = PercentEncoding.encode("resourceType eq '\(key.resourceType)' and name eq '\(key.vaultName)'")
        let urls = subscriptions.map { subscription in
            "\(base)/subscriptions/\(PercentEncoding.encode(subscription.subscriptionId))/resources"
                + "?$filter=\(filter)&api-version=2021-04-01"
        }
        return await withTaskGroup(of: Result<[ARMResource], CallFailure>.self) { group in
            var pending = urls.makeIterator()
            for _ in 0..<Self.walkConcurrency {
                guard let url = pending.next() else { break }
                group.addTask { await list(ARMResource.self, url) }
            }
            var failures: [CallFailure] = []
            while let result = await group.next() {
                switch result {
                case .success(let resources):
                    if let found = resources.lazy.compactMap({ VaultResourceID($0.id) }).first(where: {
                        $0.name.lowercased() == key.vaultName
                    }) {
                        group.cancelAll()
                        return .success(found)
                    }
                case .failure(let failure):
                    failures.append(failure)
                }
                if let url = pending.next() { group.addTask { await list(ARMResource.self, url) } }
            }
            // Not found anywhere readable; a subscription that failed might have held it.
            if let failure = failures.first { return .failure(failure) }
            return .success(nil)
        }
    }

    func vault(_ id: VaultResourceID) async -> Result<ARMVault, CallFailure> {
        await api.get(
            ARMVault.self,
            "\(base)\(id.path)?api-version=\(Self.keyVaultAPIVersion)",
            resource: cloud.managementResource,
            audience: .management
        )
    }

    /// The key's current version, or `version` when given (`…/keys/{name}/versions/{version}`).
    func key(_ id: VaultResourceID, name: String, version: String? = nil) async -> Result<ARMKey, CallFailure> {
        await api.get(
            ARMKey.self,
            "\(base)\(id.path)/keys/\(name)\(version.map { "/versions/\($0)" } ?? "")"
                + "?api-version=\(Self.keyVaultAPIVersion)",
            resource: cloud.managementResource,
            audience: .management
        )
    }

    func keyNames(_ id: VaultResourceID) async -> Result<[String], CallFailure> {
        await list(ARMKey.self, "\(base)\(id.path)/keys?api-version=\(Self.keyVaultAPIVersion)").map { $0.map(\.name) }
    }

    func secretNames(_ id: VaultResourceID) async -> Result<[String], CallFailure> {
        await list(ARMNamed.self, "\(base)\(id.path)/secrets?api-version=\(Self.keyVaultAPIVersion)").map {
            $0.map(\.name)
        }
    }

    /// The soft-deleted vault (or Managed HSM) named in `key`, searched in every readable
    /// subscription; nil when none.
    ///
    /// Asked only when the vault was not found: a deleted vault is not among the resources.
    func deletedVault(_ key: KeyIdentifier) async -> Result<ARMDeletedVault?, CallFailure> {
        let subscriptions: [ARMSubscription]
        switch await list(ARMSubscription.self, "\(base)/subscriptions?api-version=2022-12-01") {
        case .success(let value): subscriptions = value
        case .failure(let failure): return .failure(failure)
        }
        let collection = key.store == .vault ? "deletedVaults" : "deletedManagedHSMs"
        return await withTaskGroup(of: Result<[ARMDeletedVault], CallFailure>.self) { group in
            for subscription in subscriptions {
                let url =
                    "\(base)/subscriptions/\(PercentEncoding.encode(subscription.subscriptionId))"
                    + "/providers/Microsoft.KeyVault/\(collection)?api-version=\(Self.keyVaultAPIVersion)"
                group.addTask { await list(ARMDeletedVault.self, url) }
            }
            var failure: CallFailure?
            for await result in group {
                switch result {
                case .success(let vaults):
                    if let found = vaults.first(where: { $0.name.lowercased() == key.vaultName }) {
                        group.cancelAll()
                        return .success(found)
                    }
                case .failure(let value):
                    failure = failure ?? value
                }
            }
            return failure.map { .failure($0) } ?? .success(nil)
        }
    }

    /// Assignments that apply to `principalID` at the vault, above it and below it (its keys),
    /// including those held by its groups (`assignedTo`, unlike `principalId eq`), all pages.
    func roleAssignments(_ id: VaultResourceID, principalID: String) async -> Result<[RoleAssignment], CallFailure> {
        let filter = PercentEncoding.encode("assignedTo('\(principalID)')")
        return await list(
            RoleAssignment.self,
            "\(base)\(id.path)/providers/Microsoft.Authorization/roleAssignments"
                + "?api-version=\(Self.authorizationAPIVersion)&$filter=\(filter)"
        )
    }

    /// A role definition by the id an assignment names (`/subscriptions/…/roleDefinitions/{guid}`).
    func roleDefinition(_ definitionID: String) async -> Result<RoleDefinition, CallFailure> {
        let path =
            definitionID.hasPrefix("/")
            ? definitionID : "/providers/Microsoft.Authorization/roleDefinitions/\(definitionID)"
        return await api.get(
            RoleDefinition.self,
            "\(base)\(path)?api-version=\(Self.authorizationAPIVersion)",
            resource: cloud.managementResource,
            audience: .management
        )
    }

    /// Deny assignments at the vault's scope (ARM includes those inherited from above).
    func denyAssignments(_ id: VaultResourceID) async -> Result<[DenyAssignment], CallFailure> {
        await list(
            DenyAssignment.self,
            "\(base)\(id.path)/providers/Microsoft.Authorization/denyAssignments"
                + "?api-version=\(Self.authorizationAPIVersion)"
        )
    }

    /// What the signed-in identity itself may do at the vault.
    func callerPermissions(_ id: VaultResourceID) async -> Result<[PermissionSet], CallFailure> {
        await list(
            PermissionSet.self,
            "\(base)\(id.path)/providers/Microsoft.Authorization/permissions"
                + "?api-version=\(Self.authorizationAPIVersion)"
        )
    }
}
