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

    @Test("the hand-written reader reads the request back, from CompactJSON and from JSONEncoder", arguments: awkward)
    func readRequest(_ text: String) throws {
        let request = DetectionRequest(
            snapshot: PlatformSnapshot(
                environment: [text: text, "PATH": "/usr/bin"],
                files: ["/run/cloud-init/cloud-id": text]
            ),
            probe: !text.isEmpty
        )
        #expect(DetectionRequest(wireBytes: request.wireBytes()) == request)
        // JSONEncoder escapes slashes and orders keys its own way; pretty-printing adds whitespace.
        struct Envelope: Encodable {
            var op = "detect"
            var probe: Bool
            var snapshot: PlatformSnapshot
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted]
        let foreign = try encoder.encode(Envelope(probe: request.probe, snapshot: request.snapshot))
        #expect(DetectionRequest(wireBytes: Array(foreign)) == request)
    }

    @Test("escapes, including surrogate pairs, decode as JSON says")
    func escapes() {
        let text = #"{"op":"detect","snapshot":{"environment":{"K":"a\u00e9\ud83d\udd11\n\/\"b"},"files":{}}}"#
        let request = DetectionRequest(wireBytes: Array(text.utf8))
        #expect(request?.snapshot.environment["K"] == "a\u{e9}\u{1F511}\n/\"b")
    }

    @Test(
        "anything but a well-formed detect request is left to JSONDecoder",
        arguments: [
            #"{"op":"status","snapshot":{"environment":{},"files":{}}}"#,
            #"{"op":"detect","snapshot":{"environment":{"A":1},"files":{}}}"#,
            #"{"op":"detect","snapshot":{"environment":{},"files":{}}"#,
            #"{"op":"detect","snapshot":{"environment":{},"files":{}}} trailing"#,
            #"{"op":"detect","probe":"yes","snapshot":{"environment":{},"files":{}}}"#,
            #"{"op":"detect","snapshot":{"environment":{"A":"\ud83d"},"files":{}}}"#,
            "",
        ]
    )
    func malformed(_ text: String) {
        #expect(DetectionRequest(wireBytes: Array(text.utf8)) == nil)
    }

    @Test("the hand-written reader reads a detection reply back, from CompactJSON and from JSONEncoder", arguments: awkward)
    func readReply(_ text: String) throws {
        let detection = Detection(
            strength: text.isEmpty ? .none : .strong,
            platform: text.isEmpty ? nil : text,
            evidence: [text, "second"],
            rejected: text.isEmpty ? [] : [text],
            details: [text: text, "region": "eu-west-1"]
        )
        #expect(Detection(wireBytes: detection.wireBytes()) == detection)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .withoutEscapingSlashes]
        #expect(Detection(wireBytes: Array(try encoder.encode(detection))) == detection)
    }

    @Test(
        "a reply that is an error, or not exactly a detection, is left to JSONDecoder",
        arguments: [
            #"{"error":{"code":"internal","message":"no"}}"#,
            #"{"error":{"code":"internal","message":"no"},"strength":"none","evidence":[],"rejected":[],"details":{}}"#,
            #"{"strength":"maybe","evidence":[],"rejected":[],"details":{}}"#,
            #"{"strength":"none","evidence":[1],"rejected":[],"details":{}}"#,
            #"{"strength":"none","rejected":[],"details":{}}"#,
            #"{"strength":"none","evidence":[],"rejected":[],"details":{},"platform":7}"#,
            #"{"strength":"none","evidence":[],"rejected":[],"details":{"a":null}}"#,
            "[]",
        ]
    )
    func notADetection(_ text: String) {
        #expect(Detection(wireBytes: Array(text.utf8)) == nil)
    }

    @Test("what the hand-written reader accepts, JSONDecoder reads the same")
    func readerAgreesWithDecoder() throws {
        let text = #"{"platform":null,"strength":"weak","evidence":["a"],"rejected":[],"details":{"k":"v"},"extra":true}"#
        let decoded = try JSONDecoder().decode(Detection.self, from: Data(text.utf8))
        #expect(Detection(wireBytes: Array(text.utf8)) == decoded)
    }
}
