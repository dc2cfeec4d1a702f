import CMKCore
import Foundation
import LoopbackServer
import Synchronization
import Testing

/// EC2 instance metadata, against a loopback fake that speaks IMDSv2 through the endpoint override.
///
/// 169.254.169.254 appears here only as the first path segment of requests the loopback fake
/// receives, and in URLs that are rewritten or refused without being sent: every run of cmk gets
/// `CMK_ENDPOINT_OVERRIDE` on 127.0.0.1 (runCMK's default is a closed loopback port), and cmk
/// refuses any other origin before a provider is loaded.
@Suite("AWS instance metadata (IMDSv2) on loopback")
struct InstanceMetadataTests {
    /// Records every request; answers like IMDSv2, or 401 to everything when `tokenRequired`.
    final class FakeIMDS: Sendable {
        let log = RequestLog()
        let server: LoopbackServer

        init(mode: Mode) throws {
            let log = self.log
            server = try LoopbackServer(respond: { request in
                log.append("\(request.method) \(request.path)")
                switch (mode, request.method, request.path) {
                case (.v2, "PUT", "/169.254.169.254/latest/api/token"):
                    guard request.headers["x-aws-ec2-metadata-token-ttl-seconds"] != nil else {
                        return ServerResponse(status: 400)
                    }
                    return ServerResponse(status: 200, text: "TOKEN-abc")
                case (.v2, "GET", "/169.254.169.254/latest/dynamic/instance-identity/document"):
                    guard request.headers["x-aws-ec2-metadata-token"] == "TOKEN-abc" else {
                        return ServerResponse(status: 401)
                    }
                    return .json(
                        #"{"accountId":"123456789012","region":"eu-central-1","instanceId":"i-0abc1234def567890"}"#
                    )
                case (.v2, _, _), (.tokenHangs, "GET", _):
                    return ServerResponse(status: 401)
                case (.tokenHangs, "PUT", _):
                    sleep(30)
                    return ServerResponse(status: 200, text: "late")
                default:
                    return ServerResponse(status: 404)
                }
            })
        }

        enum Mode { case v2, tokenHangs }
        var requests: [String] { log.entries }
    }

    @Test("a local EC2 hit is confirmed with IMDSv2: token PUT, then the identity document")
    func confirmsWithToken() async throws {
        let imds = try FakeIMDS(mode: .v2)
        defer { imds.server.stop() }
        let result = try await runCMK(
            ["status", "--output", "json"],
            environment: ["CMK_ENDPOINT_OVERRIDE": imds.server.origin],
            sysRoot: TestPaths.fixtureRoot("ec2-nitro")
        )
        #expect(result.status == 0, "\(result.stderr)")
        let document = try result.json()
        let evidence = (document["platform"] as? [String: Any])?["evidence"] as? [String] ?? []
        #expect(
            evidence.contains { $0.contains("account 123456789012") && $0.contains("region eu-central-1") },
            "\(evidence)"
        )
        let check = (document["checks"] as? [[String: Any]])?.first
        #expect((check?["evidence"] as? [String])?.contains("region eu-central-1") == true)
        #expect(imds.requests.contains("PUT /169.254.169.254/latest/api/token"))
        #expect(imds.requests.contains("GET /169.254.169.254/latest/dynamic/instance-identity/document"))
    }

    @Test("where the token PUT hangs (hop limit), a 401 to a plain GET still proves EC2, within the deadline")
    func plainGetProves() async throws {
        let imds = try FakeIMDS(mode: .tokenHangs)
        defer { imds.server.stop() }
        let (result, seconds) = try await runTimed(
            ["detect", "--probe", "--output", "json"],
            environment: ["CMK_ENDPOINT_OVERRIDE": imds.server.origin]
        )
        // The PUT hangs for 30 s: finishing well before proves cmk's own deadline cut it off.
        // Timed on cmk's own process: the test runner's clock lags when the machine is loaded.
        #expect(seconds < 15)
        let document = try result.json()
        #expect(document["provider"] as? String == "aws", "\(result.stdout)")
        #expect((document["evidence"] as? [String])?.contains { $0.contains("401") } == true)
    }

    @Test("off-cloud, detection sends no request at all")
    func noProbeOffCloud() async throws {
        let imds = try FakeIMDS(mode: .v2)
        defer { imds.server.stop() }
        let result = try await runCMK(["status"], environment: ["CMK_ENDPOINT_OVERRIDE": imds.server.origin])
        #expect(result.status == 3)
        #expect(imds.requests.isEmpty, "requests: \(imds.requests)")
    }
}

/// The one HTTP seam: every URL is rewritten to the loopback origin, and nothing else is accepted.
@Suite("Endpoint override")
struct EndpointOverrideTests {
    @Test(
        "rewrites the original host into the first path segment",
        arguments: [
            (
                "https://login.microsoftonline.com/common/oauth2/v2.0/token?x=1",
                "http://127.0.0.1:8080/login.microsoftonline.com/common/oauth2/v2.0/token?x=1"
            ),
            ("http://169.254.169.254/latest/api/token", "http://127.0.0.1:8080/169.254.169.254/latest/api/token"),
            ("https://contoso.vault.azure.net:443/keys/k", "http://127.0.0.1:8080/contoso.vault.azure.net/keys/k"),
            ("https://h:8443/p", "http://127.0.0.1:8080/h:8443/p"),
        ]
    )
    func rewrite(_ original: String, _ expected: String) async throws {
        let client = try HTTPClient(environment: ["CMK_ENDPOINT_OVERRIDE": "http://127.0.0.1:8080"])
        #expect(try client.effectiveURL(original) == expected)
    }

    @Test(
        "an https origin keeps TLS: every request, instance metadata included, goes to the same https origin",
        arguments: [
            (
                "https://login.microsoftonline.com/common/oauth2/v2.0/token?x=1",
                "https://127.0.0.1:8443/login.microsoftonline.com/common/oauth2/v2.0/token?x=1"
            ),
            (
                "http://169.254.169.254/metadata/instance?api-version=2021-02-01",
                "https://127.0.0.1:8443/169.254.169.254/metadata/instance?api-version=2021-02-01"
            ),
        ]
    )
    func rewriteHTTPS(_ original: String, _ expected: String) async throws {
        let client = try HTTPClient(environment: ["CMK_ENDPOINT_OVERRIDE": "https://127.0.0.1:8443"])
        #expect(try client.effectiveURL(original) == expected)
    }

    @Test(
        "refuses any origin that is not a loopback origin",
        arguments: [
            "http://10.0.0.1:80", "https://10.0.0.1:8443", "http://169.254.169.254", "http://example.com:8080",
            "https://example.com", "127.0.0.1:8080", "http://127.0.0.1:8080/path",
        ]
    )
    func refuses(_ origin: String) {
        #expect(throws: HTTPError.self) { try HTTPClient(environment: ["CMK_ENDPOINT_OVERRIDE": origin]) }
    }

    @Test("a request to a loopback fake goes through the socket transport with its deadline")
    func deadline() async throws {
        let server = try LoopbackServer(respond: { _ in
            sleep(30)
            return ServerResponse(status: 200)
        })
        defer { server.stop() }
        let client = try HTTPClient(environment: ["CMK_ENDPOINT_OVERRIDE": server.origin])
        let started = ContinuousClock.now
        await #expect(throws: HTTPError(.timedOut, "")) {
            try await client.send(
                HTTPRequest(url: "https://management.azure.com/subscriptions", timeout: .milliseconds(200))
            )
        }
        // The server takes 30 s: returning before proves the client enforced the deadline. This
        // is the test process's own clock, which lags by many seconds when the machine is loaded.
        #expect(ContinuousClock.now - started < .seconds(28))
    }
}
