import Foundation
import Testing

/// The key's life after day one (issue 9), each case against its emulator scenario, asserting
/// the checks' states, their fixes and cmk's exit status.
@Suite("Azure key lifecycle")
struct AzureLifecycleTests {
    static let pinned = "0123456789abcdef0123456789abcdef"
    static let newer = "fedcba9876543210fedcba9876543210"
    static let hsmKeyURI = "https://contoso-hsm.managedhsm.azure.net/keys/cmk-key"
    static let sp = AzureEmulatorProcess.servicePrincipalID
    static let keyChecks = ["key-type", "key-operations", "key-enabled", "key-expiry"]

    @Test("a deleted key: deleted on D, recoverable until P, with az keyvault key recover")
    func deletedKey() async throws {
        let emulator = try await AzureEmulatorProcess("key-deleted", tls: true)
        let status = try await AzureStatus.run(environment: emulator.signedIn)
        #expect(status.result.status == 2)
        for id in Self.keyChecks {
            #expect(status.state(id) == "action-required")
            #expect(
                status.summary(id) == "The key cmk-key was deleted on 2026-12-01; recoverable until the purge date "
                    + "2027-03-01"
            )
            #expect(
                status.remediation(id) == "Recover it: az keyvault key recover --vault-name contoso-cmk --name cmk-key"
            )
        }
        #expect(try await emulator.requests().contains { $0.route == "vault.deletedKey" && $0.status == 200 })
    }

    @Test("a key that is gone for good is still a key to create, and costs one deleted-key lookup")
    func missingKey() async throws {
        let emulator = try await AzureEmulatorProcess("key-deleted", tls: true) { scenario in
            AzureChecksTests.vault { $0["deletedKeys"] = [] }(&scenario)
        }
        let status = try await AzureStatus.run(environment: emulator.signedIn)
        #expect(status.result.status == 2)
        #expect(
            status.remediation("key-enabled")
                == "Create it: az keyvault key create --vault-name contoso-cmk --name cmk-key --kty RSA --size 3072"
        )
        #expect(try await emulator.requests().filter { $0.route == "vault.deletedKey" }.count == 1)
    }

    @Test("a deleted vault: every check that needs it says so, with az keyvault recover")
    func deletedVault() async throws {
        let emulator = try await AzureEmulatorProcess("vault-deleted", tls: true)
        let status = try await AzureStatus.run(environment: emulator.signedIn)
        #expect(status.result.status == 2)
        for id in Self.keyChecks + ["vault-soft-delete", "vault-purge-protection", "vault-dedicated", "key-rotation"] {
            #expect(status.state(id) == "action-required", "\(id): \(status.summary(id))")
            #expect(
                status.summary(id) == "The vault contoso-cmk was deleted on 2026-11-20; recoverable until the purge "
                    + "date 2027-02-18"
            )
            #expect(status.remediation(id) == "Recover it: az keyvault recover --name contoso-cmk")
        }
    }

    @Test("a deleted Managed HSM: found among deletedManagedHSMs, recovered with --hsm-name")
    func deletedHSM() async throws {
        let emulator = try await AzureEmulatorProcess("vault-deleted", tls: true) { scenario in
            var deleted = scenario["deletedVaults"] as! [[String: Any]]
            deleted[0]["name"] = "contoso-hsm"
            deleted[0]["kind"] = "managedHSM"
            scenario["deletedVaults"] = deleted
        }
        let status = try await AzureStatus.run(environment: emulator.signedIn, keyURI: Self.hsmKeyURI)
        #expect(status.result.status == 2)
        #expect(
            status.summary("vault-purge-protection") == "The Managed HSM contoso-hsm was deleted on 2026-11-20; "
                + "recoverable until the purge date 2027-02-18"
        )
        #expect(status.remediation("key-type") == "Recover it: az keyvault recover --hsm-name contoso-hsm")
        #expect(try await emulator.requests().contains { $0.path.hasSuffix("/deletedManagedHSMs") })
    }

    @Test("a pinned version, disabled and expired, while a newer one is enabled: fixes carry --version")
    func pinnedVersion() async throws {
        let emulator = try await AzureEmulatorProcess("pinned-version", tls: true)
        let status = try await AzureStatus.run(
            environment: emulator.signedIn,
            keyURI: "\(AzureEmulatorProcess.keyURI)/\(Self.pinned)"
        )
        #expect(status.result.status == 2)
        #expect(
            status.remediation("key-enabled")
                == "az keyvault key set-attributes --vault-name contoso-cmk --name cmk-key --version \(Self.pinned) "
                + "--enabled true"
        )
        #expect(status.state("key-expiry") == "action-required")
        #expect(status.remediation("key-expiry").contains("--name cmk-key --version \(Self.pinned) --expires <date>"))
        #expect(status.state("key-rotation") == "warning")
        #expect(
            status.summary("key-rotation") == "The vendor uses version \(Self.pinned); version \(Self.newer) is newer; "
                + "after a rotation give the vendor the versionless identifier or a new ticket"
        )
        #expect(
            status.remediation("key-rotation").contains(
                "cmk ticket --provider azure --key-uri \(AzureEmulatorProcess.keyURI)"
            )
        )
        let paths = try await emulator.requests().filter { $0.route == "vault.key" && $0.authorization }.map(\.path)
        #expect(Set(paths) == ["/keys/cmk-key/\(Self.pinned)", "/keys/cmk-key"], "the pinned and the current version")

        // The versionless identifier follows the current version, which is fine.
        let current = try await AzureStatus.run(environment: emulator.signedIn)
        #expect(current.result.status == 0, "\(current.result.stdout)")
        #expect(current.state("key-enabled") == "ok")
        #expect(!current.remediation("key-enabled").contains("--version"))
    }

    @Test("a forbidden data plane reads the pinned version on ARM …/keys/{name}/versions/{version}")
    func pinnedVersionOnARM() async throws {
        let emulator = try await AzureEmulatorProcess("pinned-version", tls: true) { scenario in
            AzureChecksTests.vault { $0["dataPlane"] = "forbidden" }(&scenario)
        }
        let status = try await AzureStatus.run(
            environment: emulator.signedIn,
            keyURI: "\(AzureEmulatorProcess.keyURI)/\(Self.pinned)"
        )
        #expect(status.state("key-enabled") == "action-required")
        #expect(status.remediation("key-enabled").contains("--version \(Self.pinned) --enabled true"))
        #expect(status.state("key-rotation") == "warning")
        let routes = try await emulator.requests().map(\.route)
        #expect(routes.contains("arm.keyVersion"))
    }

    @Test("an expiry with nothing to rotate the key: a warning with the policy command and file, still ready")
    func rotationMissing() async throws {
        let emulator = try await AzureEmulatorProcess("rotation-missing", tls: true)
        let status = try await AzureStatus.run(environment: emulator.signedIn)
        #expect(status.result.status == 0, "a warning does not block readiness")
        #expect(status.document["ready"] as? Bool == true)
        #expect(status.state("key-expiry") == "ok")
        #expect(status.state("key-rotation") == "warning")
        #expect(status.summary("key-rotation") == "The key expires on 2031-01-01 and nothing rotates it")
        #expect(
            status.remediation("key-rotation")
                == "Rotate it before it expires: az keyvault key rotation-policy update --vault-name contoso-cmk "
                + "--name cmk-key --value @policy.json, with policy.json: {\"lifetimeActions\":[{\"trigger\":"
                + "{\"timeBeforeExpiry\":\"P30D\"},\"action\":{\"type\":\"Rotate\"}}],\"attributes\":"
                + "{\"expiryTime\":\"P1Y\"}}"
        )
    }

    @Test("a Rotate action before the expiry: ok; a versioned identifier under rotation: a warning")
    func rotationInPlace() async throws {
        let emulator = try await AzureEmulatorProcess("rotation-in-place", tls: true)
        let status = try await AzureStatus.run(environment: emulator.signedIn)
        #expect(status.result.status == 0)
        #expect(status.state("key-rotation") == "ok")
        #expect(status.summary("key-rotation") == "A rotation policy rotates the key before it expires on 2031-01-01")

        let versioned = try await AzureStatus.run(
            environment: emulator.signedIn,
            keyURI: "\(AzureEmulatorProcess.keyURI)/\(Self.pinned)"
        )
        #expect(versioned.result.status == 0)
        #expect(versioned.state("key-rotation") == "warning")
        #expect(versioned.summary("key-rotation").hasPrefix("Rotation is on, but the vendor was given version"))
    }

    @Test("a timeAfterCreate rotation that comes after the expiry does not count")
    func rotationTooLate() async throws {
        let emulator = try await AzureEmulatorProcess("rotation-in-place", tls: true) { scenario in
            AzureChecksTests.key { key in
                key["attributes"] = ["enabled": true, "exp": 1_924_992_000, "created": 1_924_000_000]
                key["rotationPolicy"] = [
                    "lifetimeActions": [["trigger": ["timeAfterCreate": "P2Y"], "action": ["type": "Rotate"]]]
                ]
            }(&scenario)
        }
        let status = try await AzureStatus.run(environment: emulator.signedIn)
        #expect(status.state("key-rotation") == "warning")
    }

    @Test("secrets and certificates in the vault: vault-dedicated counts them, not the certificate's own key")
    func secretsInVault() async throws {
        let emulator = try await AzureEmulatorProcess("secrets-in-vault", tls: true)
        let status = try await AzureStatus.run(environment: emulator.signedIn)
        #expect(status.result.status == 2)
        #expect(status.state("vault-dedicated") == "action-required")
        #expect(
            status.summary("vault-dedicated")
                == "contoso-cmk also holds 1 other secret: db-password, 1 other certificate: tls-cert"
        )
    }

    @Test("soft delete off: no --enable-soft-delete (it no longer exists); the vault must be replaced")
    func softDeleteOff() async throws {
        let emulator = try await AzureEmulatorProcess("soft-delete-off", tls: true)
        let status = try await AzureStatus.run(environment: emulator.signedIn)
        #expect(status.result.status == 2)
        #expect(status.state("vault-soft-delete") == "action-required")
        let fix = status.remediation("vault-soft-delete")
        #expect(!fix.contains("--enable-soft-delete"))
        #expect(fix.hasPrefix("Soft delete cannot be turned on for an existing vault: create a new one"))
        #expect(
            fix.contains("az keyvault create --name <new-vault> --resource-group cmk-rg --enable-purge-protection true")
        )
    }

    @Test("a Managed HSM with the role in its local RBAC: ready, live, not manual")
    func managedHSM() async throws {
        let emulator = try await AzureEmulatorProcess("managed-hsm", tls: true)
        let status = try await AzureStatus.run(environment: emulator.signedIn, keyURI: Self.hsmKeyURI)
        #expect(status.result.status == 0, "\(status.result.stdout)")
        #expect(status.state("app-key-access") == "ok")
        #expect(
            status.summary("app-key-access") == "The vendor's application holds Managed HSM Crypto Service Encryption "
                + "User at /keys/cmk-key in the Managed HSM"
        )
        #expect(status.summary("key-type") == "RSA-HSM 3072 bits")
        let routes = try await emulator.requests().map(\.route)
        #expect(routes.contains("hsm.roleAssignments") && routes.contains("hsm.roleDefinitions"))
        #expect(!routes.contains("vault.secrets") && !routes.contains("vault.certificates"))
    }

    struct HSMCase: CustomTestStringConvertible, Sendable {
        var name: String
        var scope: String
        var role: String
        /// Custom role definitions served beside the built-in one: (id, dataActions, notDataActions).
        var custom: [String: [[String]]] = [:]
        var granted: Bool
        var testDescription: String { name }
    }

    static let custom = "7a6d3b2c-1e0f-4a9b-8c7d-6e5f4a3b2c1d"
    static let hsmCases: [HSMCase] = [
        HSMCase(name: "the built-in role at /", scope: "/", role: HSMKeyAccessIDs.user, granted: true),
        HSMCase(name: "the built-in role at /keys", scope: "/keys", role: HSMKeyAccessIDs.user, granted: true),
        HSMCase(
            name: "the built-in role on another key",
            scope: "/keys/other",
            role: HSMKeyAccessIDs.user,
            granted: false
        ),
        HSMCase(
            name: "a custom role with a keys/* wildcard",
            scope: "/keys/cmk-key",
            role: custom,
            custom: [custom: [["Microsoft.KeyVault/managedHsm/keys/*"], []]],
            granted: true
        ),
        HSMCase(
            name: "a custom role whose notDataActions take unwrap away",
            scope: "/",
            role: custom,
            custom: [
                custom: [
                    ["Microsoft.KeyVault/managedHsm/keys/*"], ["Microsoft.KeyVault/managedHsm/keys/unwrap/action"],
                ]
            ],
            granted: false
        ),
        HSMCase(name: "an unknown role", scope: "/", role: custom, granted: false),
    ]

    @Test("Managed HSM local RBAC: the role's data actions at /keys/{name}, /keys or /", arguments: hsmCases)
    func hsmRoles(_ hsm: HSMCase) async throws {
        let emulator = try await AzureEmulatorProcess("managed-hsm", tls: true) { scenario in
            AzureChecksTests.vault { vault in
                vault["hsmRoleAssignments"] = [
                    ["principalId": Self.sp, "roleDefinitionId": hsm.role, "scope": hsm.scope]
                ]
                vault["hsmRoleDefinitions"] = hsm.custom.map { id, actions in
                    [
                        "id": "Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/\(id)", "name": id,
                        "properties": [
                            "roleName": "CMK wrap", "type": "CustomRole",
                            "permissions": [["dataActions": actions[0], "notDataActions": actions[1]]],
                        ],
                    ]
                }
            }(&scenario)
        }
        let status = try await AzureStatus.run(environment: emulator.signedIn, keyURI: Self.hsmKeyURI)
        #expect(
            status.state("app-key-access") == (hsm.granted ? "ok" : "action-required"),
            "\(status.summary("app-key-access"))"
        )
        #expect(status.result.status == (hsm.granted ? 0 : 2))
        if !hsm.granted {
            #expect(
                status.remediation("app-key-access")
                    == "az keyvault role assignment create --hsm-name contoso-hsm --role \"Managed HSM Crypto Service "
                    + "Encryption User\" --assignee-object-id \(Self.sp) --scope /keys/cmk-key"
            )
        }
    }

    @Test("Managed HSM fixes use HSM syntax: update-hsm for purge protection, --kty RSA-HSM for a key")
    func hsmFixes() async throws {
        let emulator = try await AzureEmulatorProcess("managed-hsm", tls: true) { scenario in
            AzureChecksTests.vault { vault in
                vault["properties"] = ["enableSoftDelete": true, "enablePurgeProtection": false]
                vault["keys"] = [["name": "other-key", "kty": "RSA-HSM", "keySize": 3072]]
            }(&scenario)
        }
        let status = try await AzureStatus.run(environment: emulator.signedIn, keyURI: Self.hsmKeyURI)
        #expect(status.result.status == 2)
        #expect(
            status.remediation("vault-purge-protection")
                == "az keyvault update-hsm --hsm-name contoso-hsm --resource-group cmk-rg --enable-purge-protection true"
        )
        #expect(
            status.remediation("key-enabled")
                == "Create it: az keyvault key create --hsm-name contoso-hsm --name cmk-key --kty RSA-HSM --size 3072"
        )
    }

    @Test("every Microsoft.KeyVault management call uses api-version 2026-02-01")
    func armAPIVersion() async throws {
        let emulator = try await AzureEmulatorProcess("ready", tls: true) { scenario in
            AzureChecksTests.vault { $0["dataPlane"] = "forbidden" }(&scenario)
        }
        let status = try await AzureStatus.run(environment: emulator.signedIn)
        #expect(status.result.status == 0, "\(status.result.stdout)")
        let keyVault = try await emulator.requests().filter {
            $0.host.hasPrefix("management.") && $0.path.lowercased().contains("/microsoft.keyvault/")
                // Microsoft.Authorization calls at the vault's scope have their own api-version.
                && !$0.path.lowercased().contains("/microsoft.authorization/")
        }
        #expect(Set(keyVault.map(\.route)).isSuperset(of: ["arm.vault", "arm.key", "arm.keys", "arm.secrets"]))
        for request in keyVault { #expect(request.apiVersion == "2026-02-01", "\(request.path)") }
    }

    @Test("a vault that does not state enableRbacAuthorization uses RBAC (the 2026-02-01 default)")
    func rbacDefault() async throws {
        let emulator = try await AzureEmulatorProcess("ready", tls: true) { scenario in
            AzureChecksTests.vault { vault in
                var properties = vault["properties"] as! [String: Any]
                properties["enableRbacAuthorization"] = NSNull()
                properties["accessPolicies"] = NSNull()
                vault["properties"] = properties
            }(&scenario)
        }
        let status = try await AzureStatus.run(environment: emulator.signedIn)
        #expect(status.state("app-key-access") == "ok")
        #expect(status.summary("app-key-access").contains("Key Vault Crypto Service Encryption User"))
    }

    @Test("cmk ticket warns on stderr, naming the checks that still need action; a ready tenant gets no warning")
    func ticketWarning() async throws {
        let emulator = try await AzureEmulatorProcess("needs-setup", tls: true)
        let ticket = try await runCMK(
            ["ticket", "--provider", "azure", "--key-uri", AzureEmulatorProcess.keyURI],
            environment: emulator.signedIn
        )
        #expect(ticket.status == 0)
        #expect(ticket.stdout.contains("Key identifier: \(AzureEmulatorProcess.keyURI)"))
        #expect(
            ticket.stderr.contains(
                "Warning: 4 checks need action: the vendor cannot use this key yet (vault-dedicated, "
                    + "vault-purge-protection, app-consent, app-key-access); run '\(TestPaths.cmk) status' for the fixes"
            ),
            "\(ticket.stderr)"
        )
        #expect(!ticket.stdout.contains("Warning"))

        let ready = try await AzureEmulatorProcess("ready", tls: true)
        let clean = try await runCMK(
            ["ticket", "--provider", "azure", "--key-uri", AzureEmulatorProcess.keyURI],
            environment: ready.signedIn
        )
        #expect(clean.status == 0)
        #expect(clean.stderr.isEmpty, "\(clean.stderr)")
    }
}

/// The Managed HSM role ids the tests use (the provider's own table is not linked into tests).
enum HSMKeyAccessIDs {
    static let user = "33413926-3206-4cdd-b39a-83574fe37a17"
}
