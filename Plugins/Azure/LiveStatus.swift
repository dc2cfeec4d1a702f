import FoundationEssentials
import Synchronization

/// The signed-in part of `cmk status`: every call as early as its inputs allow, all at once.
///
/// The longest chain decides the wall time: sign-in → Resource Graph (or the service principal)
/// → vault, role assignments and deny assignments → role definitions: four round trips. The key,
/// the key list, the principal's groups and the user's roles all fit inside it. Each future is a
/// `Task` awaited by whoever needs it, so nothing waits for a call it does not depend on.
struct LiveStatus: Sendable {
    let key: KeyIdentifier?
    let vaultID: VaultResourceID?
    let tokens: TokenCache
    let http: AzureHTTP
    let cloud: AzureCloud

    /// What the calls found; each part fails on its own.
    struct Findings: Sendable {
        /// The tenant the ARM token was issued in.
        var tenant: String?
        var servicePrincipal: Result<ServicePrincipal?, CallFailure>
        /// The groups the vendor's service principal is in (for access policies and deny assignments).
        var principalGroups: Result<Set<String>, CallFailure>
        var admin: Result<AdminRoleCheck.Identity, CallFailure>
        /// Nil without a key identifier.
        var vault: Vault?

        struct Vault: Sendable {
            var id: VaultResourceID?
            var properties: Result<ARMVault, CallFailure>
            /// The version the identifier names (the current one when versionless).
            var key: Result<KeyFacts, CallFailure>
            /// The current version, read beside a pinned one; nil for a versionless identifier.
            var current: Result<KeyFacts, CallFailure>?
            var rotation: Result<RotationPolicy?, CallFailure>
            /// Looked up only when the key answered 404; nil when it is not among deleted keys.
            var deletedKey: DeletedKey?
            /// Looked up only when the vault was not found; nil when it is not among deleted vaults.
            var deletedVault: ARMDeletedVault?
            var contents: VaultChecks.Contents
            var rbac: Result<RBACFacts, CallFailure>
            /// A Managed HSM's local RBAC; nil for a vault.
            var hsmAccess: Result<HSMKeyAccess.Grants, CallFailure>?
            /// The data plane answered cmk with 403 ForbiddenByFirewall (ARM was read instead).
            var dataPlaneFirewalled: Bool
            /// What the signed-in person may do at the vault; nil for an application.
            var callerPermissions: Result<[PermissionSet], CallFailure>?
        }
    }

    /// The RBAC facts about the vendor's service principal at the vault, for ``AccessEngine``.
    struct RBACFacts: Sendable {
        var assignments: [RoleAssignment]
        /// By role GUID, lowercased; a definition that could not be read is absent.
        var definitions: [String: RoleDefinition]
        var definitionFailures: [CallFailure]
        var denyAssignments: Result<[DenyAssignment], CallFailure>
    }

    func run(challenge: Task<Result<BearerChallenge, CallFailure>, Never>?) async -> Findings {
        let api = AuthorizedJSON(http: http, tokens: tokens, cloud: cloud)
        let graph = GraphClient(api: api)
        let arm = ARMClient(api: api)
        let tokens = tokens
        let cloud = cloud

        let armToken = Task { await tokens.token(for: cloud.managementResource) }
        let principal = Task { await graph.servicePrincipal(appID: VendorApp.applicationID) }
        let groups = Task { () -> Result<Set<String>, CallFailure> in
            switch await principal.value {
            case .success(let found?): return await graph.groups(of: found.id)
            case .success(nil): return .success([])
            case .failure(let failure): return .failure(failure)
            }
        }
        let person = Task { await Self.person(graph: graph, tokens: tokens) }
        let admin = Task { await Self.identity(person.value, graph: graph) }
        var vault: Findings.Vault?
        if let key, let challenge {
            vault = await vaultFindings(
                key,
                challenge: challenge,
                arm: arm,
                api: api,
                principal: principal,
                isPerson: Task { (try? await person.value.get()) != nil }
            )
        }
        let tenant = (try? await armToken.value.get())?.claims?.tid
        return Findings(
            tenant: tenant,
            servicePrincipal: await principal.value,
            principalGroups: await groups.value,
            admin: await admin.value,
            vault: vault
        )
    }

    private func vaultFindings(
        _ key: KeyIdentifier,
        challenge: Task<Result<BearerChallenge, CallFailure>, Never>,
        arm: ARMClient,
        api: AuthorizedJSON,
        principal: Task<Result<ServicePrincipal?, CallFailure>, Never>,
        isPerson: Task<Bool, Never>
    ) async -> Findings.Vault {
        let keyVault = KeyVaultClient(api: api, key: key)
        let tokens = tokens
        // Signing in for the expected audience overlaps the challenge; the token is only sent
        // once the challenge has been verified, and a different audience gets its own sign-in.
        let expected = key.store == .vault ? cloud.vaultResource : cloud.managedHSMResource
        let vaultToken = Task { _ = await tokens.token(for: expected) }
        let given = vaultID
        let located = Task { () -> Result<VaultResourceID?, CallFailure> in
            if let given { return .success(given) }
            return await arm.locate(key)
        }
        let dataKey = Task { () -> Result<KeyFacts, CallFailure> in
            await challenge.value.asyncFlatMap { await keyVault.read($0) }.map(KeyFacts.init)
        }
        let dataNames = Task { await challenge.value.asyncFlatMap { await keyVault.keyNames($0) } }
        let properties = Task { await Self.withVault(located) { await arm.vault($0) } }
        let denies = Task { await Self.withVault(located) { await arm.denyAssignments($0) } }
        let caller = Task { () -> Result<[PermissionSet], CallFailure>? in
            guard await isPerson.value else { return nil }
            return await Self.withVault(located) { await arm.callerPermissions($0) }
        }
        let rbac = Task { () -> Result<RBACFacts, CallFailure> in
            let assignments: Result<[RoleAssignment], CallFailure>
            switch await principal.value {
            case .success(let found?):
                assignments = await Self.withVault(located) { await arm.roleAssignments($0, principalID: found.id) }
            case .success(nil):
                assignments = .success([])
            case .failure(let failure):
                assignments = .failure(failure)
            }
            return await assignments.asyncFlatMap { found in
                let (definitions, failures) = await Self.definitions(of: found, arm: arm)
                return .success(
                    RBACFacts(
                        assignments: found,
                        definitions: definitions,
                        definitionFailures: failures,
                        denyAssignments: await denies.value
                    )
                )
            }
        }
        let dataCurrent =
            key.version == nil
            ? nil
            : Task { () -> Result<KeyFacts, CallFailure> in
                await challenge.value.asyncFlatMap { await keyVault.readCurrent($0) }.map(KeyFacts.init)
            }
        let dataRotation = Task { await challenge.value.asyncFlatMap { await keyVault.rotationPolicy($0) } }
        // A Managed HSM holds keys only: it has no secrets or certificates to list.
        let dataSecrets = Task {
            key.store == .managedHSM
                ? .success([]) : await challenge.value.asyncFlatMap { await keyVault.names("secrets", $0) }
        }
        let dataCertificates = Task {
            key.store == .managedHSM
                ? .success([]) : await challenge.value.asyncFlatMap { await keyVault.names("certificates", $0) }
        }
        let hsmAccess =
            key.store == .vault
            ? nil
            : Task { () -> Result<HSMKeyAccess.Grants, CallFailure> in
                let definitions = Task { await challenge.value.asyncFlatMap { await keyVault.hsmRoleDefinitions($0) } }
                let assignments: Result<[HSMRoleAssignment], CallFailure>
                switch await principal.value {
                case .success(let found?):
                    assignments = await challenge.value.asyncFlatMap {
                        await keyVault.hsmRoleAssignments($0, principalID: found.id)
                    }
                case .success(nil): assignments = .success([])
                case .failure(let failure): assignments = .failure(failure)
                }
                // Definitions only sharpen the verdict (custom roles): without them the built-in id decides.
                let known = try? await definitions.value.get()
                return assignments.map { HSMKeyAccess.Grants(assignments: $0, definitions: known) }
            }
        // A principal that may not use the data plane (403) can often still read ARM: each read
        // falls back on its own, so the fallbacks overlap too. A 403 ForbiddenByFirewall is noted.
        let firewall = FirewallNote()
        let keyTask = Task { () -> (Result<KeyFacts, CallFailure>, DeletedKey?) in
            var facts = await dataKey.value
            if case .failure(let failure) = facts, failure.status == 403 {
                firewall.note(failure)
                facts = await Self.withVault(located) { await arm.key($0, name: key.keyName, version: key.version) }
                    .map(KeyFacts.init)
            }
            // Only after a 404, so a present key costs no round trip.
            guard case .failure(let failure) = facts, failure.status == 404 else { return (facts, nil) }
            return (facts, try? await challenge.value.asyncFlatMap { await keyVault.deletedKey($0) }.get())
        }
        let currentTask = Task { () -> Result<KeyFacts, CallFailure>? in
            let current = await dataCurrent?.value
            guard case .failure(let failure)? = current, failure.status == 403 else { return current }
            return await Self.withVault(located) { await arm.key($0, name: key.keyName) }.map(KeyFacts.init)
        }
        let rotationTask = Task { () -> Result<RotationPolicy?, CallFailure> in
            let rotation = await dataRotation.value
            guard case .failure(let failure) = rotation, failure.status == 403 else { return rotation }
            // ARM states the policy with the key's current version.
            return await Self.withVault(located) { await arm.key($0, name: key.keyName) }
                .map { (key: ARMKey) in key.properties.rotationPolicy }
        }
        let namesTask = Task { () -> Result<[String], CallFailure> in
            let names = await dataNames.value
            guard case .failure(let failure) = names, failure.status == 403 else { return names }
            firewall.note(failure)
            return await Self.withVault(located) { await arm.keyNames($0) }
        }
        let objectsTask = Task { () -> (Result<[String], CallFailure>, Result<[String], CallFailure>) in
            let secrets = await dataSecrets.value
            let certificates = await dataCertificates.value
            guard case .failure(let failure) = secrets, failure.status == 403 else { return (secrets, certificates) }
            let fromARM = await Self.withVault(located) { await arm.secretNames($0) }
            // ARM has no certificates, but lists each certificate's secret: counted there.
            if case .success = fromARM, case .failure(let refused) = certificates, refused.status == 403 {
                return (fromARM, .success([]))
            }
            return (fromARM, certificates)
        }
        let (keyFacts, deletedKey) = await keyTask.value
        let (secretNames, certificateNames) = await objectsTask.value
        let current = await currentTask.value
        let rotation = await rotationTask.value
        let keyNames = await namesTask.value
        var deletedVault: ARMDeletedVault?
        if case .success(nil) = await located.value {
            deletedVault = try? await arm.deletedVault(key).get()
        }
        _ = await vaultToken.value
        return Findings.Vault(
            id: try? await located.value.get(),
            properties: await properties.value,
            key: keyFacts,
            current: current,
            rotation: rotation,
            deletedKey: deletedKey,
            deletedVault: deletedVault,
            contents: VaultChecks.Contents(
                keys: keyNames,
                secrets: secretNames,
                certificates: certificateNames
            ),
            rbac: await rbac.value,
            hsmAccess: await hsmAccess?.value,
            dataPlaneFirewalled: firewall.seen,
            callerPermissions: await caller.value
        )
    }

    /// Every distinct role definition the assignments name, read at once.
    private static func definitions(
        of assignments: [RoleAssignment],
        arm: ARMClient
    ) async -> ([String: RoleDefinition], [CallFailure]) {
        var seen: [String: String] = [:]
        for assignment in assignments where seen[assignment.roleID] == nil {
            seen[assignment.roleID] = assignment.properties.roleDefinitionId
        }
        return await withTaskGroup(of: (String, Result<RoleDefinition, CallFailure>).self) { group in
            for (roleID, definitionID) in seen {
                group.addTask { (roleID, await arm.roleDefinition(definitionID)) }
            }
            var definitions: [String: RoleDefinition] = [:]
            var failures: [CallFailure] = []
            for await (roleID, result) in group {
                switch result {
                case .success(let definition): definitions[roleID] = definition
                case .failure(let failure): failures.append(failure)
                }
            }
            return (definitions, failures)
        }
    }

    /// Runs `body` on the located vault; a vault that was not found is a failure saying so.
    private static func withVault<Value>(
        _ located: Task<Result<VaultResourceID?, CallFailure>, Never>,
        _ body: (VaultResourceID) async -> Result<Value, CallFailure>
    ) async -> Result<Value, CallFailure> {
        switch await located.value {
        case .success(let id?):
            return await body(id)
        case .success(nil):
            return .failure(
                CallFailure(
                    .status,
                    "the vault was not found in the subscriptions this identity can read "
                        + "(give --vault-resource-id, or grant Reader on its subscription)"
                )
            )
        case .failure(let failure):
            // No status: a 404 from the search must not read as "the key does not exist".
            return .failure(CallFailure(failure.code, "cannot locate the vault: \(failure.reason)"))
        }
    }

    /// The signed-in person's object id, or nil for an application (from the Graph token's claims).
    private static func person(graph: GraphClient, tokens: TokenCache) async -> Result<String?, CallFailure> {
        switch await tokens.token(for: graph.cloud.graphResource) {
        case .success(let token):
            guard let claims = token.claims, !claims.isApplication else { return .success(nil) }
            guard let oid = claims.oid else {
                return .failure(CallFailure(.malformed, "the signed-in person's token names no object id (oid)"))
            }
            return .success(oid)
        case .failure(let failure):
            return .failure(failure)
        }
    }

    /// A person's active (direct and group-held) and eligible directory roles; or an application.
    private static func identity(
        _ person: Result<String?, CallFailure>,
        graph: GraphClient
    ) async -> Result<AdminRoleCheck.Identity, CallFailure> {
        let objectID: String
        switch person {
        case .failure(let failure): return .failure(failure)
        case .success(nil): return .success(.application)
        case .success(let id?): objectID = id
        }
        async let active = graph.activeRoles(of: objectID)
        async let eligible = graph.eligibleRoles(of: objectID)
        let (roles, maybe) = await (active, eligible)
        return roles.map { .user(AdminRoleCheck.UserRoles(objectID: objectID, active: $0, eligible: maybe)) }
    }
}

extension Result where Failure == CallFailure {
    /// `flatMap` for an async transform.
    func asyncFlatMap<NewSuccess>(
        _ transform: (Success) async -> Result<NewSuccess, CallFailure>
    ) async
        -> Result<NewSuccess, CallFailure>
    {
        switch self {
        case .success(let value): await transform(value)
        case .failure(let failure): .failure(failure)
        }
    }
}

/// Whether any data-plane read was refused by the vault's firewall (403 ForbiddenByFirewall).
private final class FirewallNote: Sendable {
    private let flag = Mutex(false)
    func note(_ failure: CallFailure) { if failure.isFirewall { flag.withLock { $0 = true } } }
    var seen: Bool { flag.withLock { $0 } }
}
