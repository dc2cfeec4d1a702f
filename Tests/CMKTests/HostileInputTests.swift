import CMKCore
import Foundation
import Testing

/// Input that tries to fool cmk: redirects that would carry a token away, header injection,
/// URLs that re-serialise differently, resource ids with URL or terminal syntax, escapes in a
/// provider's strings, a provider that exits the process, and huge values echoed back.
@Suite("Hostile input")
struct HostileInputTests {
    @Test(
        "a redirect is never followed: the token stays with the host the policy chose",
        arguments: [(true, "vault.key", 307), (false, "vault.key", 302), (true, "login.token", 307), (true, "graph.servicePrincipal", 308)]
    )
    func redirectsNotFollowed(_ tls: Bool, route: String, code: Int) async throws {
        let emulator = try await AzureEmulatorProcess("ready", tls: tls) { scenario in
            scenario["faults"] = [["route": route, "status": code, "location": "https://evil.example.net/steal"]]
        }
        defer { emulator.stop() }
        let status = try await AzureStatus.run(environment: emulator.signedIn)
        let requests = try await emulator.requests()
        #expect(!requests.contains { $0.host.hasPrefix("evil.example.net") }, "a redirect was followed")
        #expect(status.result.status == 3, "\(status.result.stdout)")
        let unknown = status.checks.filter { $0["state"] as? String == "unknown" }.map { $0["id"] as? String ?? "" }
        #expect(!unknown.isEmpty)
        #expect(unknown.contains { status.summary($0).contains("\(code)") }, "the redirect's status is named")
    }

    @Test("a header value with CR or LF is refused before anything is sent", arguments: ["a\r\nX-Evil: 1", "a\nb", "a\u{0}b"])
    func headerInjection(_ value: String) async throws {
        let peer = try RawPeer(reply: Array("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".utf8), endless: false)
        let client = try HTTPClient(environment: ["CMK_ENDPOINT_OVERRIDE": peer.origin])
        await #expect(throws: HTTPError(.invalidRequest, "")) {
            try await client.send(
                HTTPRequest(url: "http://169.254.169.254/m", headers: ["Authorization": "Bearer \(value)"], timeout: .seconds(2))
            )
        }
    }

    @Test("a token from az with a line break does not inject a header", .timeLimit(.minutes(1)))
    func azTokenWithNewline() async throws {
        let emulator = try await AzureEmulatorProcess("ready")
        defer { emulator.stop() }
        let bin = try TemporaryDirectory("cmk-az")
        defer { bin.cleanUp() }
        try bin.write("az", "#!/bin/sh\nprintf '{\"accessToken\": \"eyJabc\\\\r\\\\nX-Injected: 1\"}'\n")
        chmod(bin.file("az"), 0o755)
        let status = try await AzureStatus.run(
            environment: ["CMK_ENDPOINT_OVERRIDE": emulator.origin, "PATH": "\(bin.path):/usr/bin:/bin"]
        )
        #expect(status.result.status == 3)
        #expect(!(try await emulator.requests()).contains { $0.authorization }, "no request carried the token")
    }

    @Test(
        "URLs that would re-serialise to another URL are refused",
        arguments: ["https://{::1]:83/x", "https://exa mple.com/", "https://host/pa th", "https://host/a\r\nb", "http://[::1/x", "https://ex\u{1B}ample/"]
    )
    func urlsRefused(_ url: String) throws {
        #expect(throws: HTTPError(.invalidURL, "")) { try URLParts(parsing: url) }
    }

    @Test("an accepted URL re-serialises to itself", arguments: ["https://contoso-cmk.vault.azure.net/keys/k?api-version=7.5", "http://127.0.0.1:9/x", "https://[::1]:8443/p"])
    func urlsRoundTrip(_ url: String) throws {
        #expect(try URLParts(parsing: url).url == url)
    }

    @Test(
        "--vault-resource-id with URL or terminal syntax is a usage error",
        arguments: ["#", "\u{1B}[2J", "%2F..", "..", "a?b"]
    )
    func vaultResourceID(_ name: String) async throws {
        let id = "/subscriptions/a925f2f7-5c63-4b7b-8799-25a5f97bc3b2/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/\(name)"
        let result = try await runCMK(
            ["status", "--provider", "azure", "--key-uri", AzureEmulatorProcess.keyURI, "--vault-resource-id", id]
        )
        #expect(result.status == 64, "\(result.stderr)")
        #expect(result.stderr.contains("--vault-resource-id"))
        #expect(!result.stderr.contains("\u{1B}"))
    }

    @Test("a huge value is not echoed whole")
    func hugeKeyURI() async throws {
        let huge = "https://contoso-cmk.vault.azure.net/keys/" + String(repeating: "k", count: 120_000)  // near the kernel's 128 KiB limit for one argument
        let result = try await runCMK(["status", "--provider", "azure", "--key-uri", huge])
        #expect(result.status == 64)
        #expect(result.stderr.count < 10_000, "\(result.stderr.count) characters on stderr")
        #expect(result.stderr.contains("more characters"))
    }

    @Test("escapes in a provider's strings reach the terminal as text, in process and isolated", arguments: [false, true])
    func providerEscapes(_ isolate: Bool) async throws {
        let plugins = try TemporaryDirectory("cmk-plugins")
        defer { plugins.cleanUp() }
        try await TestProvider.build("escapes", in: plugins, defines: ["TEST_ESCAPES", "TEST_NAME=\"escapes\""])
        let result = try await runCMK(
            ["status", "--provider", "escapes"] + (isolate ? ["--isolate"] : []),
            environment: ["CMK_PLUGIN_PATH": plugins.path]
        )
        #expect(result.status == 0, "\(result.stderr)")
        #expect(!result.stdout.contains("\u{1B}") && !result.stdout.contains("\u{07}") && !result.stdout.contains("\r"))
        #expect(result.stdout.contains("\\x1B]0;owned\\x07\\x1B[2J"))
    }

    @Test("on a terminal cmk colours its own words; a value's escapes and forged colour marks stay text")
    func coloursOnATerminal() async throws {
        let plugins = try TemporaryDirectory("cmk-plugins")
        defer { plugins.cleanUp() }
        try await TestProvider.build("escapes", in: plugins, defines: ["TEST_ESCAPES", "TEST_NAME=\"escapes\""])
        // script(1) gives cmk a pseudo-terminal, as an admin's shell would.
        let result = try await runCMK(
            ["-qec", "\(TestPaths.cmk) status --provider escapes", "/dev/null"],
            environment: ["CMK_PLUGIN_PATH": plugins.path, "TERM": "xterm", "COLUMNS": "100"],
            executable: "/usr/bin/script"
        )
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        let sequences = escapeSequences(in: result.stdout)
        #expect(!sequences.isEmpty, "no colour on a terminal: \(result.stdout)")
        // Every sequence on the screen is a colour (SGR) that cmk wrote: none from the value.
        for sequence in sequences {
            #expect(sequence.last == "m" && sequence.dropLast().allSatisfy { $0.isNumber || $0 == ";" }, "\(sequence)")
        }
        #expect(result.stdout.contains("\\x1B]0;owned\\x07\\x1B[2J"), "\(result.stdout)")
        #expect(!result.stdout.contains("\u{F8F0}") && !result.stdout.contains("\u{F8F1}"))
    }

    /// What follows each `ESC [` up to its final byte.
    private func escapeSequences(in text: String) -> [String] {
        text.components(separatedBy: "\u{1B}").dropFirst().map { part in
            guard part.hasPrefix("[") else { return part }
            let body = part.dropFirst()
            guard let final = body.firstIndex(where: { $0.isLetter }) else { return String(body) }
            return String(body[...final])
        }
    }

    @Test("a provider that calls exit() in process ends cmk with status 1 and says so")
    func providerExits() async throws {
        let plugins = try TemporaryDirectory("cmk-plugins")
        defer { plugins.cleanUp() }
        try await TestProvider.build("exits", in: plugins, defines: ["TEST_EXIT", "TEST_NAME=\"exits\""])
        let result = try await runCMK(["status", "--provider", "exits"], environment: ["CMK_PLUGIN_PATH": plugins.path])
        #expect(result.status == 1)
        #expect(result.stderr.contains("a provider exited before cmk printed its report"), "\(result.stderr)")
        let isolated = try await runCMK(
            ["status", "--provider", "exits", "--isolate"],
            environment: ["CMK_PLUGIN_PATH": plugins.path]
        )
        #expect(isolated.status == 1, "\(isolated.stderr)")
    }
}
