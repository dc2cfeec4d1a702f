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
