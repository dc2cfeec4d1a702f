import Foundation
import Testing

/// Verdicts that hold on a real tenant: the vault's network, key access as Azure computes it (role
/// definitions, wildcards, notDataActions, scopes up to `/`, groups, deny assignments, access
/// policies), the vendor's service principal, the tenant and the cloud. Each case is a scenario
/// (a base scenario and what differs) and the state and exit status it must give.
@Suite("Azure access")
struct AzureAccessTests {
    static let sp = AzureEmulatorProcess.servicePrincipalID
    static let group = "7c1e0f4a-2b3d-4e5f-8a9b-0c1d2e3f4a5b"
    static let everyone = "00000000-0000-0000-0000-000000000000"
    static let customRole = "3b2c1d0e-9f8a-4b7c-8d6e-5f4a3b2c1d0e"
    static let vaultID = AzureChecksTests.vaultID
    static let readWrapUnwrap = [
        "Microsoft.KeyVault/vaults/keys/read", "Microsoft.KeyVault/vaults/keys/wrap/action",
        "Microsoft.KeyVault/vaults/keys/unwrap/action",
    ]

    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var scenario = "ready"
        /// Top-level scenario fields set (groups, roleDefinitions, servicePrincipal, user…).
        var top: [String: any Sendable] = [:]
        /// Fields of the first vault set (roleAssignments, denyAssignments, dataPlane, tenantId…).
        var vault: [String: any Sendable] = [:]
        /// Fields merged into the first vault's `properties`.
        var properties: [String: any Sendable] = [:]
        var check: String
        var state: String
        var exit: Int32
        /// Text that the check's summary, remediation or evidence must hold.
        var text: String
        var testDescription: String { name }
    }

    /// A table value as JSONSerialization wants it: nested dictionaries and arrays of `Any`.
    static func plain(_ value: any Sendable) -> Any {
        switch value {
        case let dictionary as [String: any Sendable]: dictionary.mapValues { plain($0) }
        case let array as [any Sendable]: array.map { plain($0) }
        case let array as [[String: any Sendable]]: array.map { plain($0) }
        case let array as [String]: array
        default: value
        }
    }

    static func apply(_ change: Case) -> (inout [String: Any]) -> Void {
        { scenario in
            for (name, value) in change.top { scenario[name] = plain(value) }
            var vaults = scenario["vaults"] as! [[String: Any]]
            for (name, value) in change.vault { vaults[0][name] = plain(value) }
            var properties = vaults[0]["properties"] as? [String: Any] ?? [:]
            for (name, value) in change.properties { properties[name] = plain(value) }
            vaults[0]["properties"] = properties
            scenario["vaults"] = vaults
        }
    }

    static func assignment(_ role: String, scope: String = "vault", principal: String = sp) -> [String: any Sendable] {
        ["principalId": principal, "roleDefinitionId": role, "scope": scope]
    }

    static func custom(
        _ name: String,
        dataActions: [String],
        notDataActions: [String] = []
    ) -> [String: any Sendable] {
        [
            "id": "/subscriptions/0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9/providers/Microsoft.Authorization/"
                + "roleDefinitions/\(customRole)",
            "name": customRole, "type": "Microsoft.Authorization/roleDefinitions",
            "properties": [
                "roleName": name, "type": "CustomRole",
                "assignableScopes": ["/subscriptions/0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9"],
                "permissions": [
                    [
                        "actions": [String](), "notActions": [String](), "dataActions": dataActions,
                        "notDataActions": notDataActions,
                    ] as [String: any Sendable]
                ],
            ] as [String: any Sendable],
        ]
    }

    static let serviceEncryptionUser = "e147488a-f6f5-4113-8e2d-b22465e65bf6"
    static let administrator = "00482a5a-887f-4fb3-b363-3b7fe8e74483"
    static let secretsUser = "4633458b-17de-408a-b874-0445c86b69e6"

    static let cases: [Case] = [
        // vault-network
        Case(
            name: "firewall on, no bypass: blocked",
            properties: ["networkAcls": ["defaultAction": "Deny", "bypass": "None"] as [String: any Sendable]],
            check: "vault-network",
            state: "action-required",
            exit: 2,
            text: "az keyvault update --name contoso-cmk --resource-group cmk-rg --bypass AzureServices"
        ),
        Case(
            name: "firewall on, trusted services bypass it",
            properties: [
                "networkAcls": [
                    "defaultAction": "Deny", "bypass": "AzureServices",
                    "ipRules": [["value": "203.0.113.0/24"] as [String: any Sendable]],
                ] as [String: any Sendable]
            ],
            check: "vault-network",
            state: "ok",
            exit: 0,
            text: "20.88.123.53"
        ),
        Case(
            name: "public network access disabled, no bypass",
            properties: ["publicNetworkAccess": "Disabled"],
            check: "vault-network",
            state: "action-required",
            exit: 2,
            text: "public network access is disabled"
        ),
        Case(
            name: "cmk's own address outside the firewall: said in the evidence, ARM read instead",
            vault: ["dataPlane": "firewall"],
            properties: ["networkAcls": ["defaultAction": "Deny", "bypass": "AzureServices"] as [String: any Sendable]],
            check: "key-type",
            state: "ok",
            exit: 0,
            text: "ForbiddenByFirewall (cmk's own address is blocked, not the vendor's)"
        ),
        // app-key-access under RBAC
        Case(
            name: "grant inherited from a management group: works, wider than needed",
            vault: [
                "roleAssignments": [
                    assignment(serviceEncryptionUser, scope: "/providers/Microsoft.Management/managementGroups/contoso")
                ]
            ],
            check: "app-key-access",
            state: "warning",
            exit: 0,
            text: "at management group scope it reaches every vault below"
        ),
        Case(
            name: "grant at the root scope /",
            vault: ["roleAssignments": [assignment(serviceEncryptionUser, scope: "/")]],
            check: "app-key-access",
            state: "warning",
            exit: 0,
            text: "root (/)"
        ),
        Case(
            name: "a custom role with exactly the data actions needed",
            top: ["roleDefinitions": [custom("CMK key user", dataActions: readWrapUnwrap)]],
            vault: ["roleAssignments": [assignment(customRole)]],
            check: "app-key-access",
            state: "ok",
            exit: 0,
            text: "CMK key user at \(vaultID)"
        ),
        Case(
            name: "a custom role with a wildcard",
            top: ["roleDefinitions": [custom("Key wildcard", dataActions: ["Microsoft.KeyVault/vaults/keys/*"])]],
            vault: ["roleAssignments": [assignment(customRole)]],
            check: "app-key-access",
            state: "ok",
            exit: 0,
            text: "Key wildcard at"
        ),
        Case(
            name: "a wildcard role whose notDataActions take unwrap away",
            top: [
                "roleDefinitions": [
                    custom(
                        "No unwrap",
                        dataActions: ["Microsoft.KeyVault/vaults/keys/*"],
                        notDataActions: ["Microsoft.KeyVault/vaults/keys/unwrap/action"]
                    )
                ]
            ],
            vault: ["roleAssignments": [assignment(customRole)]],
            check: "app-key-access",
            state: "action-required",
            exit: 2,
            text: "misses keys/unwrap"
        ),
        Case(
            name: "a grant held through a group",
            top: ["groups": [["id": group, "members": [sp]] as [String: any Sendable]]],
            vault: ["roleAssignments": [assignment(serviceEncryptionUser, principal: group)]],
            check: "app-key-access",
            state: "ok",
            exit: 0,
            text: "through group \(group)"
        ),
        Case(
            name: "a deny assignment that removes unwrap",
            vault: [
                "roleAssignments": [assignment(serviceEncryptionUser)],
                "denyAssignments": [
                    [
                        "name": "Blueprint key lock", "principals": [everyone],
                        "dataActions": ["Microsoft.KeyVault/vaults/keys/unwrap/action"], "scope": "resourceGroup",
                    ] as [String: any Sendable]
                ],
            ],
            check: "app-key-access",
            state: "action-required",
            exit: 2,
            text: "Deny assignment 'Blueprint key lock'"
        ),
        Case(
            name: "a deny assignment that excludes the vendor's principal",
            vault: [
                "roleAssignments": [assignment(serviceEncryptionUser)],
                "denyAssignments": [
                    [
                        "name": "Blueprint key lock", "principals": [everyone], "excludePrincipals": [sp],
                        "dataActions": ["Microsoft.KeyVault/vaults/keys/*"],
                    ] as [String: any Sendable]
                ],
            ],
            check: "app-key-access",
            state: "ok",
            exit: 0,
            text: "Key Vault Crypto Service Encryption User at"
        ),
        Case(
            name: "Key Vault Administrator on the vault: reads every secret too",
            vault: ["roleAssignments": [assignment(administrator)]],
            check: "app-key-access",
            state: "warning",
            exit: 0,
            text: "it also reads secrets"
        ),
        Case(
            name: "Key Vault Secrets User only: no key access",
            vault: ["roleAssignments": [assignment(secretsUser)]],
            check: "app-key-access",
            state: "action-required",
            exit: 2,
            text: "holds no role that lets it read, wrap and unwrap the key"
        ),
        // app-key-access under access policies
        Case(
            name: "access policy with 'all'",
            scenario: "access-policy",
            properties: [
                "accessPolicies": [["objectId": sp, "permissions": ["keys": ["all"]]] as [String: any Sendable]]
            ],
            check: "app-key-access",
            state: "warning",
            exit: 0,
            text: "--enable-rbac-authorization true"
        ),
        Case(
            name: "access policy for a compound identity does not count",
            scenario: "access-policy",
            properties: [
                "accessPolicies": [
                    [
                        "objectId": sp, "applicationId": "0a1b2c3d-4e5f-4061-8293-a4b5c6d7e8f9",
                        "permissions": ["keys": ["get", "wrapKey", "unwrapKey"]],
                    ] as [String: any Sendable]
                ]
            ],
            check: "app-key-access",
            state: "action-required",
            exit: 2,
            text: "compound identity"
        ),
        Case(
            name: "access policy for a group holding the vendor's principal",
            scenario: "access-policy",
            top: ["groups": [["id": group, "members": [sp]] as [String: any Sendable]]],
            properties: [
                "accessPolicies": [
                    ["objectId": group, "permissions": ["keys": ["get", "wrapKey", "unwrapKey"]]]
                        as [String: any Sendable]
                ]
            ],
            check: "app-key-access",
            state: "warning",
            exit: 0,
            text: "group \(group)"
        ),
        // app-consent
        Case(
            name: "the vendor's service principal is disabled",
            top: ["servicePrincipal": ["objectId": sp, "accountEnabled": false] as [String: any Sendable]],
            check: "app-consent",
            state: "action-required",
            exit: 2,
            text: "az ad sp update --id \(sp) --set accountEnabled=true"
        ),
        // tenant
        Case(
            name: "the vault is in another tenant than the one signed in to",
            vault: ["tenantId": "72f988bf-86f1-41af-91ab-2d7cd011db47"],
            check: "app-key-access",
            state: "unknown",
            exit: 3,
            text: "az login --tenant 72f988bf-86f1-41af-91ab-2d7cd011db47"
        ),
    ]

    /// Summary, remediation and evidence of one check, for "holds this text" expectations.
    static func text(_ status: AzureStatus, _ id: String) -> String {
        ([status.summary(id), status.remediation(id)] + (status.check(id)["evidence"] as? [String] ?? []))
            .joined(separator: "\n")
    }

    @Test("each case gives its state and cmk's exit status", arguments: cases)
    func verdict(_ change: Case) async throws {
        let emulator = try await AzureEmulatorProcess(change.scenario, patch: Self.apply(change))
        let status = try await AzureStatus.run(environment: emulator.signedIn)
        #expect(status.state(change.check) == change.state, "\(Self.text(status, change.check))")
        #expect(status.result.status == change.exit, "\(status.result.stdout)")
        #expect(Self.text(status, change.check).contains(change.text), "\(Self.text(status, change.check))")
        for secret in azureSecrets { #expect(!status.output.contains(secret)) }
    }

    @Test("a disabled service principal puts its object id and owner tenant in the evidence, and setup is not done")
    func disabledPrincipalEvidence() async throws {
        let emulator = try await AzureEmulatorProcess("ready") {
            $0["servicePrincipal"] = ["objectId": Self.sp, "accountEnabled": false]
        }
        let status = try await AzureStatus.run(environment: emulator.signedIn)
        let evidence = status.check("app-consent")["evidence"] as? [String] ?? []
        #expect(evidence.contains("service principal object id \(Self.sp)"))
        #expect(evidence.contains("appOwnerOrganizationId fa7b1b5a-7b34-4387-94ae-d2c178decee1"))
        #expect(status.state("admin-role") == "manual", "setup is not done: the admin role still matters")
    }

    @Test("a tenant mismatch makes every live check unknown with one message naming both tenants")
    func tenantMismatch() async throws {
        let other = "72f988bf-86f1-41af-91ab-2d7cd011db47"
        let emulator = try await AzureEmulatorProcess("ready", patch: AzureChecksTests.vault { $0["tenantId"] = other })
        let status = try await AzureStatus.run(environment: emulator.signedIn)
        #expect(status.result.status == 3)
        #expect(status.ids("unknown") == azureLiveChecks)
        for id in azureLiveChecks {
            #expect(status.summary(id).contains("tenant \(other)"))
            #expect(status.summary(id).contains("tenant \(AzureEmulatorProcess.tenant)"))
            #expect(status.remediation(id).contains("AZURE_TENANT_ID=\(other)"))
        }
    }

    @Test("a US Government key: key-uri says the vendor's application is not there; no consent URL is offered")
    func usGovernmentKey() async throws {
        let emulator = try await AzureEmulatorProcess("ready")
        let status = try await AzureStatus.run(
            environment: emulator.signedIn,
            keyURI: "https://contoso-cmk.vault.usgovcloudapi.net/keys/cmk-key"
        )
        #expect(status.result.status == 2)
        #expect(status.state("key-uri") == "action-required")
        #expect(
            status.summary("key-uri") == "The vendor's application is not available in Azure US Government: the key "
                + "must be in the public cloud"
        )
        #expect(status.state("app-consent") == "action-required")
        for id in ["app-consent", "app-key-access"] {
            #expect(!status.remediation(id).contains("oauth2/authorize"))
            #expect(!status.remediation(id).contains("az ad sp create"))
        }
    }

    struct AdminCase: CustomTestStringConvertible, Sendable {
        var name: String
        var user: [String: any Sendable]
        var state: String
        var summary: String
        var testDescription: String { name }
    }

    static let user = "ce2ce14e-85d7-4629-bdbc-454d0519d987"
    static let cloudAppAdmin = "158c047a-c907-4556-b7ef-446551a6b5f7"
    static let adminCases: [AdminCase] = [
        AdminCase(
            name: "held directly, may create role assignments",
            user: ["objectId": user, "directoryRoles": [cloudAppAdmin], "armActions": ["*"]],
            state: "ok",
            summary: "The signed-in user holds Cloud Application Administrator"
        ),
        AdminCase(
            name: "held through a role-assignable group",
            user: [
                "objectId": user, "armActions": ["*"],
                "groupRoles": [["groupId": group, "roleTemplateId": cloudAppAdmin] as [String: any Sendable]],
            ],
            state: "ok",
            summary: "The signed-in user holds Cloud Application Administrator (through group \(group))"
        ),
        AdminCase(
            name: "eligible in PIM only",
            user: ["objectId": user, "eligibleRoles": [cloudAppAdmin]],
            state: "action-required",
            summary: "The signed-in user is eligible for Cloud Application Administrator: activate it in Privileged "
                + "Identity Management"
        ),
        AdminCase(
            name: "none",
            user: ["objectId": user],
            state: "action-required",
            summary: "The signed-in user holds none of"
        ),
        AdminCase(
            name: "the role, but no roleAssignments/write on the vault",
            user: ["objectId": user, "directoryRoles": [cloudAppAdmin], "armActions": ["*/read"]],
            state: "action-required",
            summary: "The signed-in user holds Cloud Application Administrator, but may not create role assignments"
        ),
    ]

    @Test("admin-role with a person's token: direct, through a group, eligible, none", arguments: adminCases)
    func adminRole(_ admin: AdminCase) async throws {
        let emulator = try await AzureEmulatorProcess("needs-setup") { $0["user"] = Self.plain(admin.user) }
        let bin = try TemporaryDirectory("cmk-azure-bin")
        defer { bin.cleanUp() }
        try await AzureCredentialTests.fakeAzure(emulator, in: bin)
        let status = try await AzureStatus.run(
            environment: ["CMK_ENDPOINT_OVERRIDE": emulator.origin, "PATH": "\(bin.path):/usr/bin:/bin"]
        )
        #expect(status.credential == "Azure CLI (az)")
        #expect(status.state("admin-role") == admin.state, "\(status.summary("admin-role"))")
        #expect(status.summary("admin-role").hasPrefix(admin.summary), "\(status.summary("admin-role"))")
        // needs-setup has no consent yet: action required whatever the admin holds.
        #expect(status.result.status == 2)
        if admin.state == "action-required", admin.name.contains("roleAssignments/write") {
            #expect(status.remediation("admin-role").contains("Owner, User Access Administrator or Key Vault Data"))
        }
    }

    @Test("once setup is done, a person without any admin role does not block readiness")
    func adminNotNeededAfterSetup() async throws {
        let emulator = try await AzureEmulatorProcess("ready") { $0["user"] = ["objectId": Self.user] }
        let bin = try TemporaryDirectory("cmk-azure-bin")
        defer { bin.cleanUp() }
        try await AzureCredentialTests.fakeAzure(emulator, in: bin)
        let status = try await AzureStatus.run(
            environment: ["CMK_ENDPOINT_OVERRIDE": emulator.origin, "PATH": "\(bin.path):/usr/bin:/bin"]
        )
        #expect(status.state("admin-role") == "not-applicable")
        #expect(status.summary("admin-role") == "Setup is done; no admin role is needed to keep it")
        #expect(status.result.status == 0, "\(status.result.stdout)")
    }

    @Test("a 403 names the permission the check needs")
    func permissionNamed() async throws {
        let emulator = try await AzureEmulatorProcess("ready") {
            $0["faults"] = [["route": "graph.servicePrincipal", "status": 403]]
        }
        let status = try await AzureStatus.run(environment: emulator.signedIn)
        #expect(status.state("app-consent") == "unknown")
        #expect(status.result.status == 3)
        #expect(status.remediation("app-consent").contains("Application.Read.All"))
    }

    @Test("the Azure CLI is asked for tokens in the vault's tenant, and without it when it is not a member there")
    func azureCLITenant() async throws {
        let emulator = try await AzureEmulatorProcess("ready")
        let bin = try TemporaryDirectory("cmk-azure-bin")
        defer { bin.cleanUp() }
        let log = bin.file("calls")
        var script = "#!/bin/sh\necho \"$*\" >> \(log)\n"
        // Refuses the vault's tenant once, as az does for a tenant the account is not in.
        script += "case \"$*\" in *--tenant*) [ -e \(log).refused ] || { : > \(log).refused; exit 1; } ;; esac\n"
        script += "case \"$*\" in\n"
        for resource in ["https://management.azure.com", "https://graph.microsoft.com", "https://vault.azure.net"] {
            let token = try await emulator.token(resource: resource)
            script += "  *\"--resource \(resource) \"*) echo '{\"accessToken\": \"\(token)\"}' ;;\n"
        }
        script += "esac\n"
        try bin.write("az", script)
        chmod(bin.file("az"), 0o755)
        let status = try await AzureStatus.run(
            environment: ["CMK_ENDPOINT_OVERRIDE": emulator.origin, "PATH": "\(bin.path):/usr/bin:/bin"]
        )
        #expect(status.result.status == 0, "\(status.result.stdout)")
        let calls = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n")
        #expect(calls.filter { $0.hasSuffix("--tenant \(AzureEmulatorProcess.tenant)") }.count == 3)
        #expect(calls.filter { !$0.contains("--tenant") }.count == 1, "one retry in the default tenant")
    }
}
