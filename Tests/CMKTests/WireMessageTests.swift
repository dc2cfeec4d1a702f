import CMKCore
import Foundation
import Testing

/// The detection messages are written by hand (CompactJSON) on the start path: they must read
/// back with JSONDecoder exactly as JSONEncoder's output would, whatever the strings hold.
@Suite("Wire messages written by hand")
struct WireMessageTests {
    static let awkward = [
        "plain", "quote \" and backslash \\", "new\nline\ttab\rreturn", "control \u{01}\u{1F}", "unicode é 雪 🔑", "",
        "/sys/class/dmi/id",
    ]

    @Test("a detection request round-trips through JSONDecoder", arguments: awkward)
    func detectionRequest(_ text: String) throws {
        let request = DetectionRequest(
            snapshot: PlatformSnapshot(
                environment: [text: text, "B": "2", "A": "1"],
                files: ["/sys/class/dmi/id/sys_vendor": text]
            ),
            probe: text.isEmpty
        )
        let decoded = try JSONDecoder().decode(DetectionRequest.self, from: Data(request.wireBytes()))
        #expect(decoded == request)
        let envelope = try JSONSerialization.jsonObject(with: Data(request.wireBytes())) as? [String: Any]
        #expect(envelope?["op"] as? String == "detect")
    }

    @Test("a detection reply round-trips through JSONDecoder", arguments: awkward)
    func detectionReply(_ text: String) throws {
        let detection = Detection(
            strength: .weak,
            platform: text.isEmpty ? nil : text,
            evidence: [text, "second"],
            rejected: [text],
            details: [text: text]
        )
        let decoded = try JSONDecoder().decode(Detection.self, from: Data(detection.wireBytes()))
        #expect(decoded == detection)
    }
}
