import CMKCore
import FoundationEssentials

/// EC2 instance metadata (IMDS), used only to confirm a local hit or when asked to probe.
///
/// Two requests race: IMDSv2 (PUT a token, then GET the identity document) and a plain GET that
/// an IMDSv2-only instance answers with 401 — which also proves EC2, and comes back fast where
/// the token PUT hangs (containers with a hop limit of 1).
struct InstanceMetadata {
    static let origin = "http://169.254.169.254"
    static let timeout: Duration = .seconds(1)

    let client: HTTPClient

    struct Confirmation: Sendable {
        var confirmed = false
        var evidence: [String] = []
        var rejected: [String] = []
        var details: [String: String] = [:]
    }

    struct IdentityDocument: Decodable {
        var accountId: String?
        var region: String?
        var instanceId: String?
    }

    func confirm() async -> Confirmation {
        async let tokenPath = confirmWithToken()
        async let plainPath = confirmWithPlainGet()
        let (withToken, plain) = await (tokenPath, plainPath)
        if withToken.confirmed { return withToken }
        if plain.confirmed { return plain }
        return Confirmation(rejected: withToken.rejected + plain.rejected)
    }

    private func confirmWithToken() async -> Confirmation {
        do {
            let token = try await client.send(
                HTTPRequest(
                    method: "PUT",
                    url: "\(Self.origin)/latest/api/token",
                    headers: ["X-aws-ec2-metadata-token-ttl-seconds": "60"],
                    timeout: Self.timeout
                )
            )
            guard token.status == 200, !token.body.isEmpty else {
                return Confirmation(rejected: ["IMDSv2 token request answered HTTP \(token.status)"])
            }
            let document = try await client.send(
                HTTPRequest(
                    url: "\(Self.origin)/latest/dynamic/instance-identity/document",
                    headers: ["X-aws-ec2-metadata-token": token.bodyText],
                    timeout: Self.timeout
                )
            )
            guard document.status == 200, JSONNesting.isShallow(document.body),
                let identity = try? JSONDecoder().decode(IdentityDocument.self, from: Data(document.body))
            else {
                return Confirmation(rejected: [
                    "IMDSv2 identity document answered HTTP \(document.status) or was unreadable"
                ])
            }
            var confirmation = Confirmation(confirmed: true)
            var facts: [String] = []
            if let account = identity.accountId {
                confirmation.details["account"] = account; facts.append("account \(account)")
            }
            if let region = identity.region {
                confirmation.details["region"] = region; facts.append("region \(region)")
            }
            if let instance = identity.instanceId {
                confirmation.details["instance"] = instance; facts.append("instance \(instance)")
            }
            confirmation.evidence.append(
                "IMDSv2 identity document" + (facts.isEmpty ? "" : ": " + facts.joined(separator: ", "))
            )
            return confirmation
        } catch {
            return Confirmation(rejected: ["IMDSv2 did not answer: \(error)"])
        }
    }

    private func confirmWithPlainGet() async -> Confirmation {
        do {
            let response = try await client.send(
                HTTPRequest(url: "\(Self.origin)/latest/meta-data/instance-id", timeout: Self.timeout)
            )
            switch response.status {
            case 401:
                return Confirmation(
                    confirmed: true,
                    evidence: ["instance metadata answered 401 to a plain GET (EC2 with IMDSv2 required)"]
                )
            case 200 where response.bodyText.hasPrefix("i-"):
                return Confirmation(
                    confirmed: true,
                    evidence: ["instance metadata (IMDSv1) gave instance id \(response.bodyText)"],
                    details: ["instance": response.bodyText]
                )
            default:
                return Confirmation(rejected: ["instance metadata answered HTTP \(response.status), not EC2's answer"])
            }
        } catch {
            return Confirmation(rejected: ["instance metadata did not answer: \(error)"])
        }
    }
}
