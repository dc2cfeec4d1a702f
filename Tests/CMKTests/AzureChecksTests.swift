import Foundation
import Testing

/// Every live check's ok and action-required paths, against the emulator, through the real plugin.
@Suite("Azure checks")
struct AzureChecksTests {
    static let vaultID =
        "/subscriptions/0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9/resourceGroups/cmk-rg"
        + "/providers/Microsoft.KeyVault/vaults/contoso-cmk"
    static let consentURL =
        "https://login.microsoftonline.com/\(AzureEmulatorProcess.tenant)/oauth2/authorize?response_type=code"
        + "&client_id=251e3919-1940-4296-bb8b-6b9a5e8a4805&redirect_uri=https://experience.adobe.com&scope=user.read"

    /// Patches the first vault of a scenario.
    static func vault(_ change: @escaping (inout [String: Any]) -> Void) -> (inout [String: Any]) -> Void {
        { scenario in
            var vaults = scenario["vaults"] as! [[String: Any]]
            change(&vaults[0])
            scenario["vaults"] = vaults
        }
    }

    /// Patches the first key of the first vault.
    static func key(_ change: @escaping (inout [String: Any]) -> Void) -> (inout [String: Any]) -> Void {
        vault { vault in
            var keys = vault["keys"] as! [[String: Any]]
            change(&keys[0])
            vault["keys"] = keys
        }
    }

    @Test("a ready tenant: every live check ok, exit 0, and the signed-in application named")
    func ready() async throws {
        let emulator = try await AzureEmulatorProcess("ready")
        let status = try await AzureStatus.run(environment: emulator.signedIn)
        #expect(status.result.status == 0, "\(status.result.stdout)")
        #expect(status.ids("ok") == azureLiveChecks.subtracting(["admin-role"]).union(["key-uri"]))
        #expect(status.state("admin-role") == "not-applicable", "setup is done: no admin role is needed")
        #expect(status.document["ready"] as? Bool == true)
        #expect(status.credential == "environment (client secret, client id 1111…)")
        #expect(status.summary("key-type") == "RSA-HSM 3072 bits")
        #expect(
            status.summary("app-key-access").contains("Key Vault Crypto Service Encryption User at \(Self.vaultID)")
        )
        // The ticket's long text is `cmk ticket`'s; the check points to that command, as the admin ran cmk.
        #expect(status.remediation("support-ticket").contains("'\(TestPaths.cmk) ticket --key-uri \(AzureEmulatorProcess.keyURI)'"))
        for secret in azureSecrets { #expect(!status.output.contains(secret)) }
    }

    @Test("a tenant half-way: consent, grant, purge protection and a dedicated vault, each with its exact fix")
    func needsSetup() async throws {
        let emulator = try await AzureEmulatorProcess("needs-setup")
        let status = try await AzureStatus.run(environment: emulator.signedIn)
        #expect(status.result.status == 2)
        #expect(
            status.ids("action-required") == [
                "app-consent", "app-key-access", "vault-purge-protection", "vault-dedicated",
            ]
        )
        #expect(
            status.remediation("app-consent") == "An administrator opens \(Self.consentURL) and accepts, or runs: "
                + "az ad sp create --id 251e3919-1940-4296-bb8b-6b9a5e8a4805"
        )
        #expect(
            status.remediation("app-key-access").hasPrefix(
                "Give consent first (see app-consent), then: az role assignment create"
            )
        )
        #expect(
            status.remediation("vault-purge-protection")
                == "az keyvault update --name contoso-cmk --resource-group shared-rg --enable-purge-protection true"
        )
        #expect(
            status.check("vault-purge-protection")["evidence"] as? [String] == [
                "key recoveryLevel Recoverable+Purgeable"
            ]
        )
        #expect(status.summary("vault-dedicated") == "contoso-cmk also holds 1 other key: payments-signing")
        #expect(status.state("vault-soft-delete") == "ok")
        #expect(status.state("key-type") == "warning")
        #expect(status.summary("key-type").hasPrefix("RSA 2048 bits: accepted, but the vendor's guide"))
    }

    struct RoleCase: CustomTestStringConvertible, Sendable {
        var name: String
        var assignments: [[String: String]]
        /// `ok`, `warning` (granted, wider than needed) or `action-required`.
        var state: String
        var testDescription: String { name }
    }

    static let sp = AzureEmulatorProcess.servicePrincipalID
    static let roleCases: [RoleCase] = [
        RoleCase(
            name: "Crypto Service Encryption User on the vault",
            assignments: [
                ["principalId": sp, "roleDefinitionId": "e147488a-f6f5-4113-8e2d-b22465e65bf6", "scope": "vault"]
            ],
            state: "ok"
        ),
        RoleCase(
            name: "Crypto User on the key",
            assignments: [
                ["principalId": sp, "roleDefinitionId": "12338af0-0e69-4776-bea7-57ae8d297424", "scope": "key:cmk-key"]
            ],
            state: "ok"
        ),
        RoleCase(
            name: "Crypto Officer on the resource group",
            assignments: [
                [
                    "principalId": sp, "roleDefinitionId": "14b46e9e-c2b7-41b4-b07b-48a6ebf60603",
                    "scope": "resourceGroup",
                ]
            ],
            state: "ok"
        ),
        RoleCase(
            name: "Administrator on the subscription",
            assignments: [
                [
                    "principalId": sp, "roleDefinitionId": "00482a5a-887f-4fb3-b363-3b7fe8e74483",
                    "scope": "subscription",
                ]
            ],
            state: "warning"
        ),
        RoleCase(name: "no assignment", assignments: [], state: "action-required"),
        RoleCase(
            name: "the right role on another key",
            assignments: [
                [
                    "principalId": sp, "roleDefinitionId": "e147488a-f6f5-4113-8e2d-b22465e65bf6",
                    "scope": "key:other-key",
                ]
            ],
            state: "action-required"
        ),
        RoleCase(
            name: "Reader only",
            assignments: [
                ["principalId": sp, "roleDefinitionId": "acdd72a7-3385-48ef-bd42-f606fba81ae7", "scope": "vault"]
            ],
            state: "action-required"
        ),
        RoleCase(
            name: "the right role for someone else",
            assignments: [
                [
                    "principalId": "0f0f0f0f-0000-4000-8000-000000000000",
                    "roleDefinitionId": "e147488a-f6f5-4113-8e2d-b22465e65bf6",
                    "scope": "vault",
                ]
            ],
            state: "action-required"
        ),
    ]

    @Test("app-key-access in an RBAC vault: the role on the key, the vault or above", arguments: roleCases)
    func rbacAccess(_ role: RoleCase) async throws {
        let emulator = try await AzureEmulatorProcess(
            "ready",
            patch: Self.vault { $0["roleAssignments"] = role.assignments }
        )
        let status = try await AzureStatus.run(environment: emulator.signedIn)
        #expect(status.state("app-key-access") == role.state, "\(status.summary("app-key-access"))")
        #expect(status.result.status == (role.state == "action-required" ? 2 : 0))
        if role.state == "action-required" {
            #expect(
                status.remediation("app-key-access")
                    == "az role assignment create --role \"Key Vault Crypto Service Encryption "
                    + "User\" --scope \(Self.vaultID) --assignee-object-id \(Self.sp) "
                    + "--assignee-principal-type ServicePrincipal"
            )
        }
    }

    @Test("role assignments are read across pages (nextLink)")
    func rolePaging() async throws {
        let emulator = try await AzureEmulatorProcess("ready") { scenario in
            scenario["rolePageSize"] = 1
            Self.vault {
                $0["roleAssignments"] = [
                    [
                        "principalId": Self.sp, "roleDefinitionId": "acdd72a7-3385-48ef-bd42-f606fba81ae7",
                        "scope": "vault",
                    ],
                    [
                        "principalId": Self.sp, "roleDefinitionId": "b24988ac-6180-42a0-ab88-20f7382dd24c",
                        "scope": "vault",
                    ],
                    [
                        "principalId": Self.sp, "roleDefinitionId": "e147488a-f6f5-4113-8e2d-b22465e65bf6",
                        "scope": "vault",
                    ],
                ]
            }(&scenario)
        }
        let status = try await AzureStatus.run(environment: emulator.signedIn)
        #expect(status.state("app-key-access") == "ok")
        #expect(try await emulator.requests().filter { $0.route == "arm.roleAssignments" }.count == 3)
    }

    @Test("app-key-access in an access-policy vault: get, wrapKey and unwrapKey for the app's object id")
    func accessPolicies() async throws {
        let ready = try await AzureEmulatorProcess("access-policy")
        let ok = try await AzureStatus.run(environment: ready.signedIn)
        #expect(ok.result.status == 0, "\(ok.result.stdout)")
        #expect(ok.state("app-key-access") == "warning", "works, but the vendor's guide asks for RBAC")
        #expect(
            ok.summary("app-key-access")
                == "An access policy gives the vendor's application get, wrapKey and unwrapKey on keys; the vendor's "
                + "guide asks for Azure RBAC"
        )
        #expect(
            ok.remediation("app-key-access").hasSuffix(
                "az keyvault update --name contoso-cmk --resource-group cmk-rg --enable-rbac-authorization true"
            )
        )
        #expect(ok.summary("key-type") == "RSA 4096 bits")

        let missing = try await AzureEmulatorProcess(
            "access-policy",
            patch: Self.vault { vault in
                var properties = vault["properties"] as! [String: Any]
                properties["accessPolicies"] = [["objectId": Self.sp, "permissions": ["keys": ["get", "wrapKey"]]]]
                vault["properties"] = properties
            }
        )
        let status = try await AzureStatus.run(environment: missing.signedIn)
        #expect(status.state("app-key-access") == "action-required")
        #expect(status.summary("app-key-access").hasSuffix("unwrapKey"))
        #expect(
            status.remediation("app-key-access") == "az keyvault set-policy --name contoso-cmk --resource-group cmk-rg "
                + "--object-id \(Self.sp) --key-permissions get wrapKey unwrapKey"
        )
    }

    struct KeyCase: CustomTestStringConvertible, Sendable {
        var name: String
        var fields: [String: any Sendable]
        var check: String
        var state: String
        var text: String
        var testDescription: String { name }
    }

    /// Stands for JSON `null` in the tables (which must be Sendable); `null` removes a fixture field.
    static let jsonNull = "<null>"
    static let now = Int(Date().timeIntervalSince1970)

    /// A table value as JSONSerialization wants it.
    static func json(_ value: any Sendable) -> Any { (value as? String) == jsonNull ? NSNull() : value }
    static let keyCases: [KeyCase] = [
        KeyCase(
            name: "EC key",
            fields: ["kty": "EC", "keySize": jsonNull],
            check: "key-type",
            state: "action-required",
            text: "az keyvault key create --vault-name contoso-cmk --name <new-key> --kty RSA --size 3072"
        ),
        KeyCase(
            name: "RSA 1024",
            fields: ["kty": "RSA", "keySize": 1024],
            check: "key-type",
            state: "action-required",
            text: "RSA 1024 bits: CMK needs RSA or RSA-HSM of 2048, 3072 or 4096 bits"
        ),
        KeyCase(
            name: "RSA 4096",
            fields: ["kty": "RSA", "keySize": 4096],
            check: "key-type",
            state: "ok",
            text: "RSA 4096 bits"
        ),
        KeyCase(
            name: "no unwrapKey",
            fields: ["keyOps": ["wrapKey", "sign"]],
            check: "key-operations",
            state: "action-required",
            text: "az keyvault key set-attributes --vault-name contoso-cmk --name cmk-key "
                + "--ops wrapKey sign unwrapKey"
        ),
        KeyCase(
            name: "disabled",
            fields: ["attributes": ["enabled": false]],
            check: "key-enabled",
            state: "action-required",
            text: "az keyvault key set-attributes --vault-name contoso-cmk --name cmk-key --enabled true"
        ),
        KeyCase(
            name: "expired",
            fields: ["attributes": ["exp": now - 86_400]],
            check: "key-expiry",
            state: "action-required",
            text: "The key expired on"
        ),
        KeyCase(
            name: "expires in 10 days",
            fields: ["attributes": ["exp": now + 10 * 86_400 + 3600]],
            check: "key-expiry",
            state: "action-required",
            text: "in 10 days"
        ),
        KeyCase(
            name: "expires in 90 days",
            fields: ["attributes": ["exp": now + 90 * 86_400]],
            check: "key-expiry",
            state: "ok",
            text: "The key expires on"
        ),
        KeyCase(
            name: "not valid yet",
            fields: ["attributes": ["nbf": now + 5 * 86_400]],
            check: "key-expiry",
            state: "action-required",
            text: "The key is not valid before"
        ),
        KeyCase(
            name: "no such key",
            fields: ["name": "another-key"],
            check: "key-enabled",
            state: "action-required",
            text: "Create it: az keyvault key create --vault-name contoso-cmk --name cmk-key --kty RSA --size 3072"
        ),
    ]

    @Test("the key's type, operations, state and dates", arguments: keyCases)
    func keyChecks(_ key: KeyCase) async throws {
        let emulator = try await AzureEmulatorProcess(
            "ready",
            patch: Self.key { fields in
                for (name, value) in key.fields {
                    if name == "attributes", let patch = value as? [String: Any] {
                        fields["attributes"] = (fields["attributes"] as? [String: Any] ?? [:]).merging(patch) { $1 }
                    } else {
                        fields[name] = Self.json(value)
                    }
                }
            }
        )
        let status = try await AzureStatus.run(environment: emulator.signedIn)
        #expect(status.state(key.check) == key.state, "\(status.summary(key.check))")
        let text = status.summary(key.check) + " " + status.remediation(key.check)
        #expect(text.contains(key.text), "\(text)")
    }

    @Test("a versioned identifier reads that version; a wrong version is a missing key")
    func versions() async throws {
        let emulator = try await AzureEmulatorProcess("ready")
        let right = try await AzureStatus.run(
            environment: emulator.signedIn,
            keyURI: "\(AzureEmulatorProcess.keyURI)/0123456789abcdef0123456789abcdef"
        )
        #expect(right.state("key-type") == "ok")
        let wrong = try await AzureStatus.run(
            environment: emulator.signedIn,
            keyURI: "\(AzureEmulatorProcess.keyURI)/ffffffffffffffffffffffffffffffff"
        )
        #expect(wrong.state("key-type") == "action-required")
        #expect(
            wrong.summary("key-type") == "contoso-cmk has no key cmk-key with version ffffffffffffffffffffffffffffffff"
        )
    }

    struct VaultCase: CustomTestStringConvertible, Sendable {
        var name: String
        var properties: [String: any Sendable]
        var recoveryLevel: String
        var softDelete: String
        var purgeProtection: String
        var testDescription: String { name }
    }

    static let vaultCases: [VaultCase] = [
        VaultCase(
            name: "both flags on",
            properties: [:],
            recoveryLevel: "Purgeable",
            softDelete: "ok",
            purgeProtection: "ok"
        ),
        VaultCase(
            name: "purge protection off",
            properties: ["enablePurgeProtection": false],
            recoveryLevel: "Recoverable",
            softDelete: "ok",
            purgeProtection: "action-required"
        ),
        VaultCase(
            name: "soft delete off",
            properties: ["enableSoftDelete": false, "enablePurgeProtection": false],
            recoveryLevel: "Purgeable",
            softDelete: "action-required",
            purgeProtection: "action-required"
        ),
        VaultCase(
            name: "flags absent, key recoverable",
            properties: ["enableSoftDelete": jsonNull, "enablePurgeProtection": jsonNull],
            recoveryLevel: "Recoverable",
            softDelete: "ok",
            purgeProtection: "ok"
        ),
        VaultCase(
            name: "flags absent, key purgeable",
            properties: ["enableSoftDelete": jsonNull, "enablePurgeProtection": jsonNull],
            recoveryLevel: "Recoverable+Purgeable",
            softDelete: "ok",
            purgeProtection: "action-required"
        ),
    ]

    @Test(
        "soft delete and purge protection: the vault's flags first, else the key's recovery level",
        arguments: vaultCases
    )
    func vaultFlags(_ vaultCase: VaultCase) async throws {
        let emulator = try await AzureEmulatorProcess("ready") { scenario in
            Self.vault { vault in
                vault["properties"] = (vault["properties"] as! [String: Any]).merging(
                    vaultCase.properties.mapValues(Self.json)
                ) { $1 }
            }(&scenario)
            Self.key { $0["attributes"] = ["enabled": true, "recoveryLevel": vaultCase.recoveryLevel] }(&scenario)
        }
        let status = try await AzureStatus.run(environment: emulator.signedIn)
        #expect(status.state("vault-soft-delete") == vaultCase.softDelete)
        #expect(status.state("vault-purge-protection") == vaultCase.purgeProtection)
        if vaultCase.purgeProtection == "action-required" {
            #expect(
                status.remediation("vault-purge-protection")
                    == "az keyvault update --name contoso-cmk --resource-group cmk-rg --enable-purge-protection true"
            )
        }
    }

    @Test("a data plane that forbids the reader falls back to ARM for the key and the key list")
    func dataPlaneForbidden() async throws {
        let emulator = try await AzureEmulatorProcess("ready", patch: Self.vault { $0["dataPlane"] = "forbidden" })
        let status = try await AzureStatus.run(environment: emulator.signedIn)
        #expect(status.result.status == 0, "\(status.result.stdout)")
        #expect(status.check("key-type")["evidence"] as? [String] == ["management plane: kty RSA-HSM, 3072 bits"])
        let routes = try await emulator.requests().map(\.route)
        #expect(routes.contains("arm.key") && routes.contains("arm.keys"))
    }

    @Test("--vault-resource-id skips the subscription search")
    func vaultResourceID() async throws {
        let emulator = try await AzureEmulatorProcess("ready")
        let status = try await AzureStatus.run(["--vault-resource-id", Self.vaultID], environment: emulator.signedIn)
        #expect(status.result.status == 0)
        let routes = try await emulator.requests().map(\.route)
        #expect(!routes.contains("arm.subscriptions") && !routes.contains("arm.resources"))
    }

    @Test("a vault in no readable subscription: the vault's own checks say how to point at it")
    func vaultNotFound() async throws {
        let emulator = try await AzureEmulatorProcess("ready") {
            $0["subscriptions"] = ["a925f2f7-5c63-4b7b-8799-25a5f97bc3b2"]
        }
        let status = try await AzureStatus.run(environment: emulator.signedIn)
        #expect(status.state("app-key-access") == "unknown")
        #expect(status.summary("app-key-access").contains("give --vault-resource-id"))
        #expect(status.state("key-type") == "ok")
    }
}
