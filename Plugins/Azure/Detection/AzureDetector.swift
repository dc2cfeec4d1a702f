import CMKCore
import FoundationEssentials

/// Decides from local signals whether this machine runs on Azure; confirms with instance metadata.
///
/// The network is touched only to confirm a local hit on a VM (or when `--probe` asks), with a
/// short timeout, so that an off-Azure run never waits. `sys_vendor` = Microsoft Corporation alone
/// is refused: on-premises Hyper-V reports it too.
struct AzureDetector: Sendable {
    static let chassisAssetTag = "7783-7084-3265-9085-8269-3286-77"
    static let metadataURL = "http://169.254.169.254/metadata/instance?api-version=2021-02-01"
    static let metadataTimeout: Duration = .milliseconds(300)

    func detect(_ request: DetectionRequest, client makeClient: () -> HTTPClient?) async -> Detection {
        let snapshot = request.snapshot
        var evidence: [String] = []
        var rejected: [String] = []
        var cloud: AzureCloud?
        /// A VM signal: only VMs have instance metadata to confirm with.
        var virtualMachine = false

        if let tag = snapshot.dmi("chassis_asset_tag") {
            if tag == Self.chassisAssetTag {
                evidence.append("DMI chassis_asset_tag is \(tag), Azure's tag")
                virtualMachine = true
            }
        }
        if let site = snapshot.env("WEBSITE_SITE_NAME") {
            evidence.append("App Service: WEBSITE_SITE_NAME=\(site)")
        }
        if snapshot.env("IDENTITY_ENDPOINT") != nil, snapshot.env("IDENTITY_HEADER") != nil {
            evidence.append("App Service managed identity: IDENTITY_ENDPOINT and IDENTITY_HEADER are set")
        }
        if let runtime = snapshot.env("FUNCTIONS_WORKER_RUNTIME") {
            evidence.append("Azure Functions: FUNCTIONS_WORKER_RUNTIME=\(runtime)")
        }
        if let app = snapshot.env("CONTAINER_APP_NAME") {
            evidence.append("Container Apps: CONTAINER_APP_NAME=\(app)")
        }
        if let id = snapshot.cloudID?.lowercased(), id == "azure" || id.hasPrefix("azure-") {
            evidence.append("cloud-init cloud-id is \(id)")
            virtualMachine = true
            if id == "azure-china" { cloud = .china }
            if id == "azure-gov" { cloud = .usGovernment }
        }
        if evidence.isEmpty, snapshot.dmi("sys_vendor") == "Microsoft Corporation" {
            rejected.append("DMI sys_vendor is Microsoft Corporation, which on-premises Hyper-V reports too")
        }

        if virtualMachine || request.probe, let client = makeClient() {
            switch await Self.instanceMetadata(client) {
            case .success(let environment):
                if let named = AzureCloud.named(environment) {
                    cloud = named
                    evidence.append("instance metadata: azEnvironment \(environment)")
                } else {
                    evidence.append("instance metadata answered (azEnvironment '\(environment)' is not a known cloud)")
                }
            case .failure(let failure):
                rejected.append("instance metadata did not confirm: \(failure.reason)")
            }
        }
        guard !evidence.isEmpty else { return .none(rejected: rejected) }
        var details: [String: String] = [:]
        if let cloud { details["cloud"] = cloud.environmentName }
        return Detection(
            strength: .strong,
            platform: cloud?.platformName ?? "Azure",
            evidence: evidence,
            rejected: rejected,
            details: details
        )
    }

    private static func instanceMetadata(_ client: HTTPClient) async -> Result<String, MetadataFailure> {
        let request = HTTPRequest(url: metadataURL, headers: ["Metadata": "true"], timeout: metadataTimeout)
        let response: HTTPResponse
        do {
            response = try await client.send(request)
        } catch {
            return .failure(MetadataFailure(error.code == .timedOut ? "no answer within 300 ms" : error.reason))
        }
        guard response.status == 200 else { return .failure(MetadataFailure("it answered \(response.status)")) }
        guard JSONNesting.isShallow(response.body),
            let instance = try? JSONDecoder().decode(Instance.self, from: Data(response.body))
        else {
            return .failure(MetadataFailure("its answer is not instance metadata"))
        }
        return .success(instance.compute.azEnvironment)
    }

    private struct Instance: Decodable {
        struct Compute: Decodable { var azEnvironment: String }
        var compute: Compute
    }

    private struct MetadataFailure: Error {
        let reason: String
        init(_ reason: String) { self.reason = reason }
    }
}
