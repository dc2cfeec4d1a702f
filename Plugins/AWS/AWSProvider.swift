import CMKCore

/// The one line that makes this library a cmk provider.
@_cdecl("cmk_provider_entry")
public func cmk_provider_entry() -> UnsafeRawPointer { exportProvider(AWSProvider.self) }

/// AWS: the data platform configures customer-managed keys itself, so there is nothing for the
/// customer to do; the provider's work is to recognise AWS and say so, with region and account.
struct AWSProvider: CloudKeyProvider {
    static let name = "aws"
    static let version = "1.0.0"
    static let summary = "Amazon Web Services: CMK is configured by the platform (no action needed)"

    func detect(_ request: DetectionRequest) async -> Detection {
        var detection = AWSLocalSignals.evaluate(request.snapshot)
        guard detection.strength == .strong || request.probe else { return detection }
        // Confirm a local hit (or probe on request) through instance metadata, on loopback in tests.
        guard let client = try? HTTPClient(environment: request.snapshot.environment) else { return detection }
        let confirmation = await InstanceMetadata(client: client).confirm()
        detection.evidence.append(contentsOf: confirmation.evidence)
        detection.rejected.append(contentsOf: confirmation.rejected)
        detection.details.merge(confirmation.details) { _, confirmed in confirmed }
        if confirmation.confirmed {
            detection.strength = .strong
            if detection.platform == nil { detection.platform = "Amazon EC2" }
        }
        return detection
    }

    func ticket(_ request: StatusRequest) async throws -> String {
        throw ProviderError.unsupported("on AWS, customer-managed keys are configured by the platform: there is no ticket to open")
    }

    func status(_ request: StatusRequest) async throws -> StatusReport {
        let details = request.platform?.details ?? [:]
        var evidence: [String] = []
        if let region = details["region"] { evidence.append("region \(region)") }
        if let account = details["account"] { evidence.append("account \(account)") }
        if request.platform == nil {
            evidence.append("AWS chosen explicitly; this machine was not checked")
        }
        return StatusReport(checks: [
            Check(
                id: "platform-managed-cmk",
                state: .ok,
                summary: "On AWS, customer-managed keys are already configured by the platform: no action is needed.",
                evidence: evidence.isEmpty ? nil : evidence
            ),
            Check(
                id: "aws-availability",
                state: .manual,
                summary:
                    "The data platform on AWS is available to a limited number of customers: confirm with your account team that your organisation's runs there.",
                remediation:
                    "Ask your account team which cloud hosts your organisation's data platform; on Azure, run 'cmk status --provider azure'."
            ),
            Check(
                id: "encryption",
                state: .notApplicable,
                summary:
                    "Data is encrypted in transit and at rest in every case, with or without customer-managed keys."
            ),
        ])
    }
}
