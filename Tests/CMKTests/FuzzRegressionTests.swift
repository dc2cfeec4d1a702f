import CMKCore
import Foundation
import LoopbackServer
import Testing

/// Defects that fuzz/run found, each with the input that showed it (also in fuzz/corpus/).
@Suite("Fuzzing regressions")
struct FuzzRegressionTests {
    /// fuzz/corpus/key-identifier/kelvin-sign: U+212A lowercases to ASCII 'k', so this named the
    /// vault `contosok`, which is not the host the admin (or the data platform) would use.
    @Test("a key identifier whose host is not ASCII is refused, not case-folded into another vault's name")
    func nonASCIIKeyHost() async throws {
        let result = try await runCMK([
            "ticket", "--provider", "azure", "--key-uri", "https://contoso\u{212A}.vault.azure.net/keys/k",
        ])
        #expect(result.status == 64, "\(result.stdout)")
        #expect(result.stderr.contains("is not ASCII"), "\(result.stderr)")
        #expect(!result.stdout.contains("contosok"))
    }

    /// fuzz/corpus/bearer-challenge/no-tenant-path: the tenant was the last '/'-separated piece of
    /// the whole URL, so a challenge without a path gave the host as the tenant.
    @Test("a Bearer challenge whose authorization URL has no path names no tenant")
    func challengeWithoutTenant() async throws {
        let vault = try LoopbackServer { _ in
            ServerResponse(
                status: 401,
                headers: [
                    "WWW-Authenticate":
                        "Bearer authorization=\"https://login.microsoftonline.com\", resource=\"https://vault.azure.net\""
                ],
                text: "{}"
            )
        }
        defer { vault.stop() }
        let status = try await AzureStatus.run(environment: ["CMK_ENDPOINT_OVERRIDE": vault.origin])
        let consent = status.remediation("app-consent")
        #expect(consent.contains("https://login.microsoftonline.com/common/oauth2/authorize"), "\(consent)")
        #expect(!status.output.contains("login.microsoftonline.com/login.microsoftonline.com"))
    }
}

/// fuzz/run url-parts: URLs that were accepted and then written back (`URLParts.url`, the Host
/// header, the endpoint override's path) as another URL, or with a space or line break that
/// splits the request.
@Suite("Fuzzing regressions: URLs")
struct FuzzURLRegressionTests {
    @Test(
        "a URL that would be written back as another one is refused",
        arguments: [
            "https://{::1]:83/x", "http://[::1]x/", "http://[::g]/", "http://a:b:80/", "http://h/a b",
            "http://h/a\r\nX-Injected: 1", "http://h\t/",
            // U+06DD joins the '/' after it into one Character: the host was "\u{6DD}/" written back.
            "HTTP://\u{6DD}", "http://caf\u{E9}.example/", "http://h/a\u{6DD}#fragment",
        ]
    )
    func refused(_ url: String) {
        #expect(throws: HTTPError(.invalidURL, "")) { try URLParts(parsing: url) }
    }

    @Test(
        "well-formed URLs still parse and write back the same",
        arguments: [
            "http://[::1]:8080/x", "https://[fd00:ec2::254]/latest", "http://127.0.0.1:8080/",
            "https://management.azure.com/subscriptions?api-version=2022-12-01",
        ]
    )
    func accepted(_ url: String) throws {
        let parts = try URLParts(parsing: url)
        #expect(parts.url == url)
        #expect(try URLParts(parsing: parts.url) == parts)
    }

    /// `080` is no number to the resolver, which then asks DNS for the name "127.0.080.1".
    @Test(
        "an endpoint override that only looks like 127.x is refused",
        arguments: ["http://127.0.080.1:8080", "http://127.0.0.010:8080", "http://127.+0.0.1:8080"]
    )
    func overrideLookAlike(_ origin: String) {
        #expect(throws: HTTPError(.overrideRefused, "")) {
            try EndpointOverride(environment: [EndpointOverride.environmentVariable: origin])
        }
        #expect(throws: Never.self) {
            try EndpointOverride(environment: [EndpointOverride.environmentVariable: "http://127.0.0.1:8080"])
        }
    }
}

/// fuzz/run compact-json: the compact reader must never read another value than JSONDecoder.
@Suite("Fuzzing regressions: compact JSON")
struct FuzzCompactJSONRegressionTests {
    @Test("a repeated key makes the compact reader give up (JSONDecoder keeps the first, it kept the last)")
    func repeatedKey() {
        #expect(CompactJSONValue.parse(Array(#"{"a":"1","a":"2"}"#.utf8)) == nil)
        #expect(CompactJSONValue.parse(Array(#"{"a":"1","b":"2"}"#.utf8)) == .object(["a": .string("1"), "b": .string("2")]))
    }

    @Test("a \\u escape is four hex digits, without a sign")
    func signedEscape() {
        #expect(CompactJSONValue.parse(Array(#""\u+0FA""#.utf8)) == nil)
        #expect(CompactJSONValue.parse(Array(#""\u-0FA""#.utf8)) == nil)
        #expect(CompactJSONValue.parse(Array(#""\u00FA""#.utf8)) == .string("\u{FA}"))
    }
}

/// fuzz/run socket-response: the reader found Content-Length by splitting the head on CRLF only,
/// the parser also on a bare LF, so a response whose Content-Length follows a bare LF was read
/// until the peer closed (here: until the size limit) although the parser knew its length.
@Suite("Fuzzing regressions: socket transport")
struct FuzzSocketRegressionTests {
    @Test("the reader stops at the Content-Length the parser reads, whatever ends the line before it")
    func contentLengthAfterBareLF() async throws {
        for response in [
            "HTTP/1.1 200 OK\r\nX-A: 1\nContent-Length: 5\r\n\r\nhello",
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\0\nX-A: 9\r\n\r\nhello",
        ] {
            let peer = try RawPeer(reply: Array(response.utf8), endless: true)
            let client = try HTTPClient(environment: ["CMK_ENDPOINT_OVERRIDE": peer.origin])
            let reply = try await client.send(HTTPRequest(url: "http://169.254.169.254/m", timeout: .seconds(5)))
            #expect(reply.status == 200)
            #expect(reply.bodyText == "hello")
        }
    }
}

/// fuzz/run vault-resource-id: parts with a control character, '#' or '%' were accepted and
/// went into the ARM URL as they were (and a trailing tab did not survive a round trip).
@Suite("Fuzzing regressions: vault resource id")
struct FuzzVaultIDRegressionTests {
    @Test(
        "a vault resource id with '%', '#' or a control character in a part is a usage error",
        arguments: [
            "/subscriptions/s%2F../resourceGroups/g/providers/Microsoft.KeyVault/vaults/contoso-cmk",
            "/subscriptions/s/resourceGroups/g#x/providers/Microsoft.KeyVault/vaults/contoso-cmk",
            "/subscriptions/s/resourceGroups/g\u{1B}[2J/providers/Microsoft.KeyVault/vaults/contoso-cmk",
        ]
    )
    func refused(_ id: String) async throws {
        let result = try await runCMK([
            "status", "--provider", "azure", "--key-uri", "https://contoso-cmk.vault.azure.net/keys/k",
            "--vault-resource-id", id,
        ])
        #expect(result.status == 64, "\(result.stdout)")
        #expect(result.stderr.contains("is not a vault id"), "\(result.stderr)")
    }
}

/// fuzz/run compact-json: FoundationEssentials' JSON scanner traps (SIGILL) on `[` × 513, its
/// nesting limit reached at the last byte, instead of throwing. A peer's body must not get there.
@Suite("Fuzzing regressions: deeply nested JSON")
struct FuzzNestingRegressionTests {
    static let trap = [UInt8](repeating: UInt8(ascii: "["), count: 513)

    @Test("the nesting guard refuses what would trap and lets real documents through")
    func guardLimits() {
        #expect(!JSONNesting.isShallow(Self.trap))
        #expect(JSONNesting.isShallow(Array(#"{"value":[{"id":"/subscriptions/s","tags":{"a":"[[[["}}]}"#.utf8)))
        #expect(JSONNesting.isShallow([UInt8](repeating: UInt8(ascii: "["), count: JSONNesting.limit)))
        #expect(!JSONNesting.isShallow([UInt8](repeating: UInt8(ascii: "{"), count: JSONNesting.limit + 1)))
    }

    @Test("a token endpoint or vault that answers `[` × 513 leaves the checks unknown; cmk does not crash")
    func nestedBodyDoesNotCrash() async throws {
        let body = Self.trap
        let peer = try LoopbackServer { _ in ServerResponse(status: 200, headers: ["Content-Type": "application/json"], body: body) }
        defer { peer.stop() }
        let status = try await AzureStatus.run(environment: [
            "CMK_ENDPOINT_OVERRIDE": peer.origin, "AZURE_TENANT_ID": AzureEmulatorProcess.tenant,
            "AZURE_CLIENT_ID": AzureEmulatorProcess.clientID, "AZURE_CLIENT_SECRET": AzureEmulatorProcess.clientSecret,
        ])
        #expect(status.result.status == 3, "\(status.result.stderr)")
        #expect(status.state("key-type") == "unknown")
    }
}

/// The same trap from the other side: a provider (in process, or a worker under --isolate) whose
/// reply is `[` × 513 ended the host with SIGILL; under --isolate that defeats the isolation.
@Suite("Fuzzing regressions: deeply nested provider replies")
struct FuzzNestedReplyRegressionTests {
    @Test("a provider reply of `[` × 513 fails that provider; the host prints why and exits 1", arguments: [false, true])
    func deepReply(isolated: Bool) async throws {
        let plugins = try await HostileProvider.install()
        defer { plugins.cleanUp() }
        let run = try await runDetached(
            ["status", "--provider", "hostile", "--timeout", "20"] + (isolated ? ["--isolate"] : []),
            environment: ["HOSTILE_MODE": "deep"],
            cmk: plugins.file("cmk")
        )
        #expect(run.status == 1, "\(run.stdout)\n\(run.stderr)")
        #expect(run.stderr.contains("provider 'hostile' failed: its status reply is nested too deeply"), "\(run.stderr)")
    }
}
