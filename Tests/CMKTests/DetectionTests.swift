import Foundation
import Testing

/// `cmk detect` on fixture trees: the platform chosen, the evidence, and what was ruled out.
@Suite("Detection on fixture trees")
struct DetectionTests {
    struct Case: CustomStringConvertible, Sendable {
        var tree: String
        var provider: String?
        var evidence: String?
        var description: String { tree }
    }

    static let cases: [Case] = [
        Case(tree: "azure-vm", provider: "azure", evidence: "7783-7084-3265-9085-8269-3286-77"),
        Case(tree: "ec2-nitro", provider: "aws", evidence: "sys_vendor = \"Amazon EC2\""),
        Case(tree: "ec2-xen", provider: "aws", evidence: "/sys/hypervisor/uuid starts with \"ec2\""),
        Case(tree: "hyperv-onprem", provider: nil, evidence: nil),
        Case(tree: "gce", provider: nil, evidence: nil),
    ]

    @Test("the right provider, with its evidence", arguments: cases)
    func fixtureTree(_ fixture: Case) async throws {
        let result = try await runCMK(["detect", "--output", "json"], sysRoot: TestPaths.fixtureRoot(fixture.tree))
        let document = try result.json()
        #expect(document["provider"] as? String == fixture.provider, "\(result.stdout)\n\(result.stderr)")
        #expect(result.status == (fixture.provider == nil ? 3 : 0))
        if let evidence = fixture.evidence {
            let lines = document["evidence"] as? [String] ?? []
            #expect(lines.contains { $0.contains(evidence) }, "evidence: \(lines)")
        }
        let candidates = try #require(document["candidates"] as? [[String: Any]])
        #expect(Set(candidates.compactMap { $0["provider"] as? String }).isSuperset(of: ["aws", "azure"]))
    }

    @Test("on-premises Hyper-V says Microsoft Corporation but is not Azure, and says why")
    func hyperVIsNotAzure() async throws {
        let result = try await runCMK(["detect"], sysRoot: TestPaths.fixtureRoot("hyperv-onprem"))
        #expect(result.status == 3)
        #expect(result.stdout.contains("Platform: none detected"))
        #expect(result.stdout.contains("Microsoft Corporation"), "the rejected signal is shown: \(result.stdout)")
    }

    @Test("GCE is named as a known cloud with no provider installed")
    func gceHasNoProvider() async throws {
        let result = try await runCMK(["detect", "--output", "json"], sysRoot: TestPaths.fixtureRoot("gce"))
        let unserved = try #require(try result.json()["unserved"] as? [[String: Any]])
        #expect(unserved.first?["provider"] as? String == "gcp")
        #expect(unserved.first?["name"] as? String == "Google Compute Engine")
        let text = try await runCMK(["status"], environment: ["COLUMNS": "1000"], sysRoot: TestPaths.fixtureRoot("gce"))
        #expect(text.status == 3)
        #expect(text.stdout.contains("Google Compute Engine"))
        #expect(text.stdout.contains("no cmk provider for it ('gcp') is installed"))
    }

    @Test("an empty tree, as in a container: nothing detected, and every provider says why not")
    func emptyTree() async throws {
        let result = try await runCMK(["detect"])
        #expect(result.status == 3)
        #expect(result.stdout.contains("aws: no match"))
        #expect(result.stdout.contains("azure: no match"))
    }

    @Test("AWS_REGION alone is weak evidence and selects nothing; AWS_CA_BUNDLE is no evidence")
    func weakEnvironment() async throws {
        let result = try await runCMK(
            ["detect", "--output", "json"],
            environment: ["AWS_REGION": "eu-west-1", "AWS_CA_BUNDLE": "/etc/ssl/ca.pem"]
        )
        let document = try result.json()
        #expect(document["provider"] == nil || document["provider"] is NSNull)
        let aws = (document["candidates"] as? [[String: Any]])?.first { $0["provider"] as? String == "aws" }
        #expect((aws?["detection"] as? [String: Any])?["strength"] as? String == "weak")
    }

    @Test(
        "Lambda and ECS variables are strong AWS evidence",
        arguments: [
            ["AWS_LAMBDA_FUNCTION_NAME": "ingest"],
            ["AWS_EXECUTION_ENV": "AWS_ECS_FARGATE"],
            ["ECS_CONTAINER_METADATA_URI_V4": "http://169.254.170.2/v4/abc"],
        ]
    )
    func awsEnvironment(_ environment: [String: String]) async throws {
        let result = try await runCMK(["detect", "--output", "json"], environment: environment)
        #expect(try result.json()["provider"] as? String == "aws", "\(result.stdout)")
    }

    @Test("an explicit choice beats detection: flag, then CMK_PROVIDER, then the config file")
    func explicitChoiceOrder() async throws {
        let tree = TestPaths.fixtureRoot("ec2-nitro")
        let flag = try await runCMK(
            ["detect", "--provider", "azure", "--output", "json"],
            environment: ["CMK_PROVIDER": "aws"],
            sysRoot: tree
        )
        #expect(try flag.json()["provider"] as? String == "azure")
        #expect(selection(flag) == ["kind": "flag", "detail": "--provider"])
        // An explicit choice still shows what every provider made of this machine.
        let verdicts = try flag.json()["candidates"] as? [[String: Any]] ?? []
        #expect(Set(verdicts.compactMap { $0["provider"] as? String }) == ["aws", "azure"])
        let environment = try await runCMK(
            ["detect", "--output", "json"],
            environment: ["CMK_PROVIDER": "azure"],
            sysRoot: tree
        )
        #expect(selection(environment) == ["kind": "environment", "detail": "CMK_PROVIDER"])
        let config = try TemporaryDirectory("cmk-config")
        defer { config.cleanUp() }
        try config.write("cmk/config", "provider = azure\n")
        let fromConfig = try await runCMK(
            ["detect", "--output", "json"],
            environment: ["XDG_CONFIG_HOME": config.path],
            sysRoot: tree
        )
        #expect(try fromConfig.json()["provider"] as? String == "azure")
        #expect(selection(fromConfig)["kind"] == "config")
        #expect(selection(fromConfig)["detail"] == "provider = azure at \(config.path)/cmk/config:1")
    }

    private func selection(_ result: CMKResult) -> [String: String] {
        ((try? result.json())?["selection"] as? [String: String]) ?? [:]
    }
}
