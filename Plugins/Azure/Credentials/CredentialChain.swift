import CMKCore

/// Which credentials to try, in the Azure SDKs' DefaultAzureCredential order, from the
/// environment and the `credential` option alone (no network).
///
/// Environment, then workload identity, then managed identity (only when Azure was detected or it
/// was asked for: off Azure nothing may go to the metadata address), then the Azure CLI.
struct CredentialChain: Sendable {
    enum Choice: String, Sendable, CaseIterable {
        case auto
        case environment
        case workloadIdentity = "workload-identity"
        case managedIdentity = "managed-identity"
        case azureCLI = "azure-cli"
        case none
    }

    /// In the order to try them.
    let candidates: [any TokenCredential]
    /// Why a credential that was asked for, or looked half-configured, is not in `candidates`.
    let notes: [String]

    /// `vaultTenant` (the tenant the vault's challenge names) lets a credential that can choose
    /// its tenant sign in where the vault is: today the Azure CLI (`--tenant`).
    init(
        choice: Choice,
        environment: [String: String],
        azureDetected: Bool,
        cloud: AzureCloud,
        vaultTenant: (@Sendable () async -> String?)? = nil
    ) {
        var candidates: [any TokenCredential] = []
        var notes: [String] = []
        func value(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        let tenant = value("AZURE_TENANT_ID")
        let clientID = value("AZURE_CLIENT_ID")
        let authority = Self.authorityProblem(value("AZURE_AUTHORITY_HOST"), cloud: cloud)
        let tenantProblem =
            tenant.map { Self.isTenant($0) ? nil : "AZURE_TENANT_ID is not a tenant id or domain" } ?? nil

        if choice == .auto || choice == .environment {
            if let secret = value("AZURE_CLIENT_SECRET"), let tenant, let clientID, authority == nil,
                tenantProblem == nil
            {
                candidates.append(
                    ClientCredential(tenant: tenant, clientID: clientID, proof: .secret(secret), cloud: cloud)
                )
            } else if choice == .environment || value("AZURE_CLIENT_SECRET") != nil {
                notes.append(
                    "environment: "
                        + (authority ?? tenantProblem
                            ?? "set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET")
                )
            }
        }
        if choice == .auto || choice == .workloadIdentity {
            if let file = value("AZURE_FEDERATED_TOKEN_FILE"), let tenant, let clientID, authority == nil,
                tenantProblem == nil
            {
                candidates.append(
                    ClientCredential(tenant: tenant, clientID: clientID, proof: .federatedTokenFile(file), cloud: cloud)
                )
            } else if choice == .workloadIdentity || value("AZURE_FEDERATED_TOKEN_FILE") != nil {
                notes.append(
                    "workload identity: "
                        + (authority ?? tenantProblem
                            ?? "set AZURE_FEDERATED_TOKEN_FILE, AZURE_TENANT_ID and AZURE_CLIENT_ID")
                )
            }
        }
        if choice == .managedIdentity || (choice == .auto && azureDetected) {
            if let url = value("IDENTITY_ENDPOINT"), let header = value("IDENTITY_HEADER") {
                if ManagedIdentityCredential.isLocalEndpoint(url) {
                    candidates.append(
                        ManagedIdentityCredential(
                            endpoint: .appService(url: url, header: header),
                            clientID: clientID,
                            cloud: cloud
                        )
                    )
                } else {
                    notes.append("managed identity: IDENTITY_ENDPOINT is not a local address; its header is not sent")
                }
            } else {
                candidates.append(
                    ManagedIdentityCredential(endpoint: .instanceMetadata, clientID: clientID, cloud: cloud)
                )
            }
        }
        if choice == .auto || choice == .azureCLI {
            if let az = Subprocess.find("az", path: environment["PATH"]) {
                let fixed = tenantProblem == nil ? tenant : nil
                candidates.append(
                    AzureCLICredential(
                        executable: az,
                        environment: environment,
                        tenant: fixed.map { fixed in { @Sendable in fixed } } ?? vaultTenant
                    )
                )
            } else if choice == .azureCLI {
                notes.append("Azure CLI: no az on PATH")
            }
        }
        self.candidates = candidates
        self.notes = notes
    }

    /// A reason to refuse `AZURE_AUTHORITY_HOST`, or nil when it is this cloud's login host (or unset).
    ///
    /// The authority receives the client secret, so only the selected cloud's login host is accepted.
    private static func authorityProblem(_ value: String?, cloud: AzureCloud) -> String? {
        guard let value else { return nil }
        let withScheme = value.contains("://") ? value : "https://\(value)"
        guard let parts = try? URLParts(parsing: withScheme), parts.scheme == "https", parts.host == cloud.loginHost
        else {
            return
                "AZURE_AUTHORITY_HOST '\(value)' is not the \(cloud.displayName)'s login host "
                + "https://\(cloud.loginHost)"
        }
        return nil
    }

    /// A tenant id (GUID) or domain: it becomes a path segment of the sign-in URL.
    private static func isTenant(_ text: String) -> Bool {
        (1...253).contains(text.count) && text.allSatisfy { $0.isASCIIAlphanumeric || $0 == "-" || $0 == "." }
    }
}
