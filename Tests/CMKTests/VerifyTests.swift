import CMKHost
import Foundation
import Testing

/// `cmk providers verify`: passes on every provider this repository ships and on the C template,
/// and names the failing row for providers that break the contract.
@Suite("cmk providers verify")
struct VerifyTests {
    /// The defects a provider author is most likely to ship, and the row that must catch each.
    enum Defect: String, CaseIterable, CustomTestStringConvertible {
        case repliesTwice = "REPLIES_TWICE"
        case statusNeverReplies = "STATUS_NEVER_REPLIES"
        case statusNotJSON = "STATUS_NOT_JSON"
        case missingRemediation = "MISSING_REMEDIATION"

        var failingRow: String {
            switch self {
            case .repliesTwice: "reply-once"
            case .statusNeverReplies, .statusNotJSON, .missingRemediation: "status"
            }
        }

        var testDescription: String { rawValue }
    }

    @Test("the C template passes every check")
    func cTemplatePasses() async throws {
        let directory = try TemporaryDirectory("cmk-verify")
        defer { directory.cleanUp() }
        let template = "\(TestPaths.repository)/Tests/Providers/c-template/cmk_provider_template.c"
        // The README's line: -O2 (after the helper's -O1, so it wins).
        let library = try await buildCProvider(
            named: "libcmk-provider-ctemplate.so",
            source: try String(contentsOfFile: template, encoding: .utf8),
            in: directory,
            extraFlags: ["-O2"]
        )

        let json = try await runCMK(["providers", "verify", library, "--output", "json"])
        #expect(json.status == 0, "\(json.stdout)\(json.stderr)")
        let document = try VerifyDocument.decode(json.stdout)
        #expect(document.provider == "ctemplate")
        #expect(document.passed)
        #expect(document.results.filter { !$0.passed }.map(\.name) == [])
        #expect(document.results.map(\.name) == Self.allRows)

        let text = try await runCMK(["providers", "verify", library])
        #expect(text.status == 0)
        #expect(text.stdout.contains("All \(Self.allRows.count) checks passed."))
        for row in Self.allRows {
            #expect(text.stdout.contains(try Regex("  \(row) +PASS ")), "no PASS line for \(row)")
        }
    }

    @Test("every provider in this repository passes", arguments: ["aws", "azure"])
    func repositoryProviderPasses(name: String) async throws {
        let library = "\(TestPaths.products)/libcmk-provider-\(name).so"
        try #require(FileManager.default.fileExists(atPath: library), "\(library) was not built")
        let result = try await runCMK(["providers", "verify", library, "--output", "json"])
        let document = try VerifyDocument.decode(result.stdout)
        #expect(document.provider == name)
        #expect(document.results.filter { !$0.passed }.map { "\($0.name): \($0.detail)" } == [])
        #expect(result.status == 0)
    }

    @Test("a provider that breaks the contract fails, and the row that caught it is named", arguments: Defect.allCases)
    func brokenProviderFails(defect: Defect) async throws {
        let directory = try TemporaryDirectory("cmk-verify")
        defer { directory.cleanUp() }
        let library = try await buildCProvider(
            named: "libcmk-provider-broken.so",
            source: Self.brokenProviderSource,
            in: directory,
            extraFlags: ["-D\(defect.rawValue)"]
        )

        // Timed on cmk's own process: the test runner's clock lags when the machine is loaded.
        let (result, seconds) = try await runTimed(["providers", "verify", library, "--output", "json"], environment: [:])
        #expect(result.status == 1)
        let document = try VerifyDocument.decode(result.stdout)
        #expect(!document.passed)
        let failed = document.results.filter { !$0.passed }
        #expect(failed.first?.name == defect.failingRow, "failed rows: \(failed.map { "\($0.name): \($0.detail)" })")
        // The per-call deadline bounds a provider that never answers: two rounds of 2 s, not a hang.
        #expect(seconds < 15)

        let text = try await runCMK(["providers", "verify", library])
        #expect(text.status == 1)
        #expect(text.stdout.contains(try Regex("  \(defect.failingRow) +FAIL ")))
    }

    @Test("a file that cannot be loaded is one failed 'load' row")
    func loadFailure() async throws {
        let directory = try TemporaryDirectory("cmk-verify")
        defer { directory.cleanUp() }
        try directory.write("libcmk-provider-text.so", "not an ELF file\n")
        let library = directory.file("libcmk-provider-text.so")
        let result = try await runCMK(["providers", "verify", library, "--output", "json"])
        #expect(result.status == 1)
        let document = try VerifyDocument.decode(result.stdout)
        #expect(document.provider == nil)
        #expect(document.results.count == 1)
        #expect(document.results.first?.name == "load")
        #expect(document.results.first?.passed == false)
        #expect(document.results.first?.detail.hasPrefix("not-a-shared-library") == true)
    }

    @Test(
        "a missing or extra argument is a usage error",
        arguments: [["providers", "verify"], ["providers", "verify", "a.so", "b.so"]]
    )
    func usageError(arguments: [String]) async throws {
        let result = try await runCMK(arguments)
        #expect(result.status == 64)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.contains("Usage: cmk providers verify <path>"))
    }

    static let allRows = [
        "load", "abi", "name", "version", "description", "describe", "detect-empty", "detect-ec2-nitro", "detect-azure",
        "detect-gce", "detect-hyperv-onprem", "status", "error-unknown-op", "error-truncated-json", "concurrency",
        "reply-once", "no-crash",
    ]

    /// A provider that passes every row, except for the one defect compiled in with `-D`.
    static let brokenProviderSource = #"""
        #define _GNU_SOURCE
        #include "cmk_plugin.h"
        #include <string.h>

        static void answer(void *context, cmk_reply_fn reply, const char *json) {
            reply(context, json, strlen(json));
        #ifdef REPLIES_TWICE
            reply(context, json, strlen(json));
        #endif
        }

        static int has(const char *request, size_t length, const char *text) {
            return memmem(request, length, text, strlen(text)) != NULL;
        }

        static void call(const char *request, size_t length, void *context, cmk_reply_fn reply) {
            if (length == 0 || request[length - 1] != '}') {
                answer(context, reply, "{\"error\":{\"code\":\"bad-request\",\"message\":\"incomplete\"}}");
            } else if (has(request, length, "\"op\":\"detect\"")) {
                answer(context, reply, "{\"strength\":\"none\",\"evidence\":[],\"rejected\":[],\"details\":{}}");
            } else if (has(request, length, "\"op\":\"status\"")) {
        #if defined(STATUS_NEVER_REPLIES)
                return;
        #elif defined(STATUS_NOT_JSON)
                answer(context, reply, "all good");
        #elif defined(MISSING_REMEDIATION)
                answer(context, reply,
                       "{\"checks\":[{\"id\":\"key\",\"state\":\"action-required\",\"summary\":\"No key.\"}]}");
        #else
                answer(context, reply, "{\"checks\":[{\"id\":\"key\",\"state\":\"ok\",\"summary\":\"Fine.\"}]}");
        #endif
            } else {
                answer(context, reply, "{\"error\":{\"code\":\"unsupported\",\"message\":\"unknown operation\"}}");
            }
        }

        static const cmk_provider descriptor = {
            CMK_PLUGIN_ABI_VERSION, sizeof(cmk_provider), "broken", "0.0.1", "A deliberately broken provider", call
        };

        const cmk_provider *cmk_provider_entry(void) { return &descriptor; }
        """#
}

/// What `cmk providers verify --output json` prints.
struct VerifyDocument: Decodable {
    var path: String
    var provider: String?
    var passed: Bool
    var results: [ConformanceResult]

    static func decode(_ text: String) throws -> VerifyDocument {
        try JSONDecoder().decode(VerifyDocument.self, from: Data(text.utf8))
    }
}
