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
}
