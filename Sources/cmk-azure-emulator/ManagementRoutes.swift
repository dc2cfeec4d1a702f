import LoopbackServer

/// Azure Resource Manager: subscriptions, the resource search, vaults, keys, role assignments.
extension AzureEmulator {
    /// The `Microsoft.KeyVault` api-versions served. Older ones retire on 2027-02-27, so they are
    /// refused here as ARM refuses an unknown version: a provider that slips back to one shows.
    static let keyVaultAPIVersions: Set<String> = ["2026-02-01"]

    func management(_ route: Route, host: String, _ request: ServerRequest) -> ServerResponse {
        guard let caller = tokens.validate(request.headers["authorization"], audience: "https://\(host)") else {
            return Self.error(
                401,
                "AuthenticationFailed",
                "Authentication failed. The 'Authorization' header is missing or invalid.",
                headers: [
                    "WWW-Authenticate":
                        "Bearer authorization_uri=\"https://\(CloudHosts.of(host).login)/\(scenario.tenantId)\""
                ]
            )
        }
        let subscriptions = scenario.subscriptions ?? []
        switch route {
        case .vault, .armKey, .armKeyVersion, .armKeys, .armSecrets, .deletedVaults:
            let version = request.query["api-version"] ?? ""
            guard Self.keyVaultAPIVersions.contains(version) else {
                return Self.error(
                    400,
                    "InvalidApiVersionParameter",
                    "The api-version '\(version)' is invalid. The supported versions are "
                        + "'\(Self.keyVaultAPIVersions.sorted().joined(separator: ","))'."
                )
            }
        default: break
        }
        switch route {
        case .subscriptions:
            let value = subscriptions.enumerated().map { index, id in
                JSONValue.object([
                    "id": .string("/subscriptions/\(id)"), "authorizationSource": .string("RoleBased"),
                    "subscriptionId": .string(id), "tenantId": .string(scenario.tenantId),
                    "displayName": .string("Subscription \(index + 1)"), "state": .string("Enabled"),
                ])
            }
            return .json(
                JSONValue.object([
                    "value": .array(value),
                    "count": .object(["type": .string("Total"), "value": .number(Double(value.count))]),
                ]).text
            )
        case .resources(let subscription):
            guard subscriptions.contains(where: { $0.lowercased() == subscription.lowercased() }) else {
                return Self.error(404, "SubscriptionNotFound", "The subscription '\(subscription)' could not be found.")
            }
            let filter = request.query["$filter"] ?? ""
            let name = Self.quoted(after: "name eq ", in: filter)?.lowercased()
            let type = Self.quoted(after: "resourceType eq ", in: filter)?.lowercased()
            let value = (scenario.vaults ?? []).filter { vault in
                vault.subscriptionId.lowercased() == subscription.lowercased()
                    && (name == nil || vault.name.lowercased() == name)
                    && (type == nil || type == "microsoft.keyvault/\(vault.armKind.lowercased())")
            }.map { vault in
                JSONValue.object([
                    "id": .string(Self.vaultID(vault)), "name": .string(vault.name),
                    "type": .string("Microsoft.KeyVault/\(vault.armKind)"),
                    "location": .string(vault.location ?? "westus"),
                ])
            }
            return .json(JSONValue.object(["value": .array(value)]).text)
        case .vault(let path):
            guard let vault = vault(path) else { return vaultNotFound(path) }
            return .json(vaultBody(vault, host: host).text)
        case .armKeys(let path):
            guard let vault = vault(path) else { return vaultNotFound(path) }
            let value = (vault.keys ?? []).map { armKeyBody($0, vault: vault, host: host) }
            return .json(JSONValue.object(["value": .array(value)]).text)
        case .armKey(let path, let name):
            guard let vault = vault(path) else { return vaultNotFound(path) }
            guard let key = vault.keys?.first(where: { $0.name.lowercased() == name.lowercased() }) else {
                return Self.error(404, "ResourceNotFound", "The key '\(name)' was not found.")
            }
            return .json(armKeyBody(key, vault: vault, host: host).text)
        case .armKeyVersion(let path, let name, let version):
            guard let vault = vault(path),
                let key = vault.keys?.first(where: { $0.name.lowercased() == name.lowercased() })
            else { return Self.error(404, "ResourceNotFound", "The key '\(name)' was not found.") }
            if version.lowercased() == (key.version ?? Self.defaultVersion) {
                return .json(armKeyBody(key, vault: vault, host: host).text)
            }
            guard let older = key.olderVersions?.first(where: { $0.version.lowercased() == version.lowercased() })
            else { return Self.error(404, "ResourceNotFound", "The key version '\(version)' was not found.") }
            var pinned = key
            pinned.version = older.version
            pinned.attributes = older.attributes
            pinned.rotationPolicy = nil
            return .json(armKeyBody(pinned, vault: vault, host: host).text)
        case .armSecrets(let path):
            guard let vault = vault(path) else { return vaultNotFound(path) }
            let value = ((vault.secrets ?? []) + (vault.certificates ?? [])).map { name in
                JSONValue.object([
                    "id": .string("\(Self.vaultID(vault))/secrets/\(name)"), "name": .string(name),
                    "type": .string("Microsoft.KeyVault/vaults/secrets"), "properties": .object([:]),
                ])
            }
            return .json(JSONValue.object(["value": .array(value)]).text)
        case .deletedVaults(let subscription, let hsm):
            let value = (scenario.deletedVaults ?? []).filter {
                $0.subscriptionId.lowercased() == subscription.lowercased()
                    && ($0.kind?.lowercased() == "managedhsm") == hsm
            }
            .map { deleted in
                let location = deleted.location ?? "westus"
                let collection = hsm ? "deletedManagedHSMs" : "deletedVaults"
                return JSONValue.object([
                    "id": .string(
                        "/subscriptions/\(deleted.subscriptionId)/providers/Microsoft.KeyVault/locations/\(location)"
                            + "/\(collection)/\(deleted.name)"
                    ),
                    "name": .string(deleted.name), "type": .string("Microsoft.KeyVault/\(collection)"),
                    "properties": .object([
                        (hsm ? "mhsmId" : "vaultId"): .string(
                            "/subscriptions/\(deleted.subscriptionId)/resourceGroups/\(deleted.resourceGroup)"
                                + "/providers/Microsoft.KeyVault/\(hsm ? "managedHSMs" : "vaults")/\(deleted.name)"
                        ),
                        "location": .string(location), "deletionDate": .string(deleted.deletionDate),
                        "scheduledPurgeDate": .string(deleted.scheduledPurgeDate),
                        "purgeProtectionEnabled": .bool(true),
                    ]),
                ])
            }
            return .json(JSONValue.object(["value": .array(value)]).text)
        case .roleAssignments(let path):
            guard let vault = vault(path) else { return vaultNotFound(path) }
            return roleAssignments(vault, host: host, request)
        case .denyAssignments(let path):
            guard let vault = vault(path) else { return vaultNotFound(path) }
            return denyAssignments(vault)
        case .permissions(let path):
            guard vault(path) != nil else { return vaultNotFound(path) }
            let actions = caller.isUser ? scenario.user?.armActions ?? ["*/read"] : ["*/read"]
            let block = JSONValue.object([
                "actions": .array(actions.map(JSONValue.string)), "notActions": .array([]),
                "dataActions": .array([]), "notDataActions": .array([]),
            ])
            return .json(JSONValue.object(["value": .array([block])]).text)
        case .roleDefinition(let id):
            return roleDefinition(id)
        case .resourceGraph:
            return resourceGraph(request)
        default:
            return Self.error(404, "NotFound", "no ARM route")
        }
    }

    private func vault(_ path: Route.VaultPath) -> Scenario.Vault? {
        scenario.vaults?.first { vault in
            vault.subscriptionId.lowercased() == path.subscription.lowercased()
                && vault.armKind.lowercased() == path.kind
                && vault.resourceGroup.lowercased() == path.resourceGroup.lowercased()
                && vault.name.lowercased() == path.name.lowercased()
        }
    }

    private func vaultNotFound(_ path: Route.VaultPath) -> ServerResponse {
        Self.error(
            404,
            "ResourceNotFound",
            "The Resource 'Microsoft.KeyVault/vaults/\(path.name)' under resource group '\(path.resourceGroup)' "
                + "was not found."
        )
    }

    static func vaultID(_ vault: Scenario.Vault) -> String {
        "/subscriptions/\(vault.subscriptionId)/resourceGroups/\(vault.resourceGroup)"
            + "/providers/Microsoft.KeyVault/\(vault.armKind)/\(vault.name)"
    }

    private func vaultBody(_ vault: Scenario.Vault, host: String) -> JSONValue {
        let cloud = CloudHosts.all.first { $0.management == host } ?? CloudHosts.all[0]
        // A Managed HSM gets the vault example's shape too, with its own type: the checks read
        // only the flags both share (soft delete, purge protection).
        var body = templates.vault.merging(
            .object([
                "id": .string(Self.vaultID(vault)), "name": .string(vault.name),
                "type": .string("Microsoft.KeyVault/\(vault.armKind)"),
                "location": .string(vault.location ?? "westus"),
                "properties": .object([
                    "tenantId": .string(scenario.tenantId),
                    "vaultUri": .string("https://\(vault.name).\(cloud.vaultSuffix)/"),
                ]),
            ])
        )
        if let patch = vault.properties { body["properties"] = body["properties"]?.merging(patch) }
        return body
    }

    private func armKeyBody(_ key: Scenario.Key, vault: Scenario.Vault, host: String) -> JSONValue {
        let cloud = CloudHosts.all.first { $0.management == host } ?? CloudHosts.all[0]
        let uri =
            "https://\(vault.name).\(vault.isHSM ? cloud.managedHSMSuffix : cloud.vaultSuffix):443/keys/\(key.name)"
        var properties: [String: JSONValue] = [
            "keyUri": .string(uri), "keyUriWithVersion": .string("\(uri)/\(key.version ?? Self.defaultVersion)"),
        ]
        if let kty = key.kty { properties["kty"] = .string(kty) }
        if let size = key.keySize { properties["keySize"] = .number(Double(size)) }
        if let operations = key.keyOps { properties["keyOps"] = .array(operations.map(JSONValue.string)) }
        if let attributes = key.attributes { properties["attributes"] = attributes }
        if let policy = key.rotationPolicy { properties["rotationPolicy"] = policy }
        return templates.armKey.merging(
            .object([
                "id": .string("\(Self.vaultID(vault))/keys/\(key.name)"), "name": .string(key.name),
                "properties": .object(properties),
            ])
        )
    }

    /// A built-in or the scenario's custom role definition, by GUID.
    private func roleDefinition(_ id: String) -> ServerResponse {
        let custom = (scenario.roleDefinitions ?? []).first { definition in
            if case .string(let name)? = definition["name"] { return name.lowercased() == id.lowercased() }
            return false
        }
        guard let definition = custom ?? templates.builtInRoles[id.lowercased()] else {
            return Self.error(
                404,
                "RoleDefinitionDoesNotExist",
                "The specified role definition with ID '\(id)' does not exist."
            )
        }
        return .json(definition.text)
    }

    /// Resource Graph: the vaults named by `name =~ 'x'`, across every subscription of the scenario.
    private func resourceGraph(_ request: ServerRequest) -> ServerResponse {
        guard request.method == "POST", let body = try? JSONValue.parse(request.body),
            case .string(let query)? = body["query"]
        else {
            return Self.error(400, "BadRequest", "Please provide a query.")
        }
        let name = Self.quoted(after: "name =~ ", in: query)?.lowercased()
        let subscriptions = Set((scenario.subscriptions ?? []).map { $0.lowercased() })
        let rows = (scenario.vaults ?? []).filter { vault in
            subscriptions.contains(vault.subscriptionId.lowercased())
                && (name == nil || vault.name.lowercased() == name)
        }.map { vault in
            JSONValue.object([
                "id": .string(Self.vaultID(vault)), "name": .string(vault.name),
                "type": .string("microsoft.keyvault/vaults"),
            ])
        }
        return .json(
            JSONValue.object([
                "totalRecords": .number(Double(rows.count)), "count": .number(Double(rows.count)),
                "data": .array(rows), "facets": .array([]), "resultTruncated": .string("false"),
            ]).text
        )
    }

    /// A scenario scope shorthand made absolute.
    private func scope(_ shorthand: String?, _ vault: Scenario.Vault) -> String {
        let vaultID = Self.vaultID(vault)
        return switch shorthand ?? "vault" {
        case "vault": vaultID
        case "subscription": "/subscriptions/\(vault.subscriptionId)"
        case "resourceGroup": "/subscriptions/\(vault.subscriptionId)/resourceGroups/\(vault.resourceGroup)"
        case let other where other.hasPrefix("key:"): "\(vaultID)/keys/\(other.dropFirst(4))"
        case let other: other
        }
    }

    /// The groups that hold `objectID` as a member.
    func groups(of objectID: String) -> [Scenario.Group] {
        (scenario.groups ?? []).filter { group in group.members.contains { $0.lowercased() == objectID.lowercased() } }
    }

    private func denyAssignments(_ vault: Scenario.Vault) -> ServerResponse {
        let value = (vault.denyAssignments ?? []).enumerated().map { index, deny -> JSONValue in
            let scope = scope(deny.scope, vault)
            let name = "d0e1a2b3-c4d5-4e6f-8a9b-\(format12(index))"
            func principals(_ ids: [String]) -> JSONValue {
                .array(
                    ids.map { id in
                        .object([
                            "id": .string(id),
                            "type": .string(
                                id == "00000000-0000-0000-0000-000000000000"
                                    ? "SystemDefined"
                                    : groupIDs.contains(id.lowercased()) ? "Group" : "ServicePrincipal"
                            ),
                        ])
                    }
                )
            }
            return .object([
                "id": .string("\(scope)/providers/Microsoft.Authorization/denyAssignments/\(name)"),
                "name": .string(name), "type": .string("Microsoft.Authorization/denyAssignments"),
                "properties": .object([
                    "denyAssignmentName": .string(deny.name), "description": .string("emulator deny assignment"),
                    "permissions": .array([
                        .object([
                            "actions": .array([]), "notActions": .array([]),
                            "dataActions": .array(deny.dataActions.map(JSONValue.string)),
                            "notDataActions": .array((deny.notDataActions ?? []).map(JSONValue.string)),
                        ])
                    ]),
                    "scope": .string(scope), "doNotApplyToChildScopes": .bool(deny.doNotApplyToChildScopes ?? false),
                    "principals": principals(deny.principals),
                    "excludePrincipals": principals(deny.excludePrincipals ?? []), "isSystemProtected": .bool(true),
                ]),
            ])
        }
        return .json(JSONValue.object(["value": .array(value)]).text)
    }

    private var groupIDs: Set<String> { Set((scenario.groups ?? []).map { $0.id.lowercased() }) }

    /// The principal's assignments at the vault, above it and below it, paged by `rolePageSize`.
    ///
    /// `assignedTo('x')` also returns those held by the groups x is in; `principalId eq 'x'` does not.
    private func roleAssignments(_ vault: Scenario.Vault, host: String, _ request: ServerRequest) -> ServerResponse {
        let filter = request.query["$filter"] ?? ""
        var principals: Set<String>?
        if let principal = Self.quoted(after: "principalId eq ", in: filter)?.lowercased() {
            principals = [principal]
        } else if let start = filter.firstRange(of: "assignedTo('") {
            let rest = filter[start.upperBound...]
            let principal = String(rest.prefix { $0 != "'" }).lowercased()
            principals = Set([principal] + groups(of: principal).map { $0.id.lowercased() })
        }
        let vaultID = Self.vaultID(vault)
        let all = (vault.roleAssignments ?? []).enumerated().filter {
            principals == nil || principals!.contains($0.element.principalId.lowercased())
        }
        .map { index, assignment -> JSONValue in
            let scope = scope(assignment.scope, vault)
            let type =
                assignment.principalType
                ?? (groupIDs.contains(assignment.principalId.lowercased()) ? "Group" : "ServicePrincipal")
            let name = "b0f43c54-e787-4862-89b1-\(String(format12(index)))"
            return templates.roleAssignment.merging(
                .object([
                    "id": .string("\(scope)/providers/Microsoft.Authorization/roleAssignments/\(name)"),
                    "name": .string(name),
                    "properties": .object([
                        "roleDefinitionId": .string(
                            "/subscriptions/\(vault.subscriptionId)/providers/Microsoft.Authorization/roleDefinitions/"
                                + assignment.roleDefinitionId
                        ),
                        "principalId": .string(assignment.principalId), "principalType": .string(type),
                        "scope": .string(scope),
                    ]),
                ])
            )
        }
        let size = scenario.rolePageSize ?? 0
        let start = Int(request.query["$skiptoken"] ?? "") ?? 0
        guard size > 0 else { return .json(JSONValue.object(["value": .array(all)]).text) }
        let page = Array(all.dropFirst(start).prefix(size))
        var body: [String: JSONValue] = ["value": .array(page)]
        if start + size < all.count {
            body["nextLink"] = .string(
                "https://\(host)\(vaultID)/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01"
                    + "&$filter=\(percentEncode(filter))&$skiptoken=\(start + size)"
            )
        }
        return .json(JSONValue.object(body).text)
    }

    /// `x` from `… name eq 'x' …`.
    static func quoted(after marker: String, in filter: String) -> String? {
        guard let start = filter.firstRange(of: marker + "'") else { return nil }
        let rest = filter[start.upperBound...]
        return rest.firstIndex(of: "'").map { String(rest[..<$0]) }
    }
}

/// Twelve hex digits of `value`, for unique, GUID-shaped names.
private func format12(_ value: Int) -> String {
    let hex = String(value, radix: 16)
    return String(repeating: "0", count: max(0, 12 - hex.count)) + hex
}

func percentEncode(_ text: String) -> String {
    var output = ""
    for byte in text.utf8 {
        if (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a)
            || byte == 0x2d || byte == 0x2e || byte == 0x5f || byte == 0x7e
        {
            output.unicodeScalars.append(Unicode.Scalar(byte))
        } else {
            let hex = String(byte, radix: 16, uppercase: true)
            output += byte < 16 ? "%0\(hex)" : "%\(hex)"
        }
    }
    return output
}
