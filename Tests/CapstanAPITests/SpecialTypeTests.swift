import CapstanAPI
import Foundation
import Testing

@Suite("IntOrString, times and raw JSON")
struct SpecialTypeTests {
    @Test func intOrStringPercentages() {
        #expect(IntOrString.string("25%").scaledValue(total: 10, roundUp: true) == 3)
        #expect(IntOrString.string("25%").scaledValue(total: 10, roundUp: false) == 2)
        #expect(IntOrString.int(2).scaledValue(total: 10, roundUp: true) == 2)
        #expect(IntOrString.string("100%").scaledValue(total: 7, roundUp: false) == 7)
        #expect(IntOrString.string("http").scaledValue(total: 7, roundUp: false) == nil)
    }

    @Test func intOrStringJSON() throws {
        #expect(try KubeJSON.decode([IntOrString].self, from: Data(#"[80,"http"]"#.utf8)) == [.int(80), .string("http")])
        #expect(String(decoding: try KubeJSON.encode([IntOrString.int(1), "25%"]), as: UTF8.self) == #"[1,"25%"]"#)
        #expect(throws: APIDecodingError.self) { try KubeJSON.decode([IntOrString].self, from: Data("[true]".utf8)) }
    }

    @Test func timeRoundTrip() throws {
        let t = try MetaV1.Time(rfc3339: "2024-02-29T12:34:56Z")
        #expect(t.rfc3339 == "2024-02-29T12:34:56Z")
        #expect(t.secondsSinceEpoch == 1_709_210_096)
        #expect(try MetaV1.Time(rfc3339: "1970-01-01T00:00:00Z").secondsSinceEpoch == 0)
        #expect(try MetaV1.Time(rfc3339: "1969-12-31T23:59:59Z").rfc3339 == "1969-12-31T23:59:59Z")
        // Offsets convert to UTC; fractions are dropped.
        #expect(try MetaV1.Time(rfc3339: "2024-03-01T01:00:00+02:00").rfc3339 == "2024-02-29T23:00:00Z")
        #expect(try MetaV1.Time(rfc3339: "2024-03-01T01:00:00.999-01:30").rfc3339 == "2024-03-01T02:30:00Z")
    }

    @Test func nullTimeIsGosZeroTime() throws {
        #expect(try MetaV1.Time(rfc3339: "0001-01-01T00:00:00Z") == .zero)
        // A required time that is null reads as zero, and zero is written as null, as Go does.
        let request = try KubeJSON.decode(AuthenticationV1.TokenRequest.self, from: Data(
            #"{"apiVersion":"authentication.k8s.io/v1","kind":"TokenRequest","spec":{"audiences":null},"status":{"token":"","expirationTimestamp":null}}"#.utf8))
        #expect(request.status?.expirationTimestamp == .zero)
        let written = try JSONValue.parse([UInt8](try KubeJSON.encode(request)))
        #expect(written["status"]?["expirationTimestamp"] == JSONValue.null)
        let set = AuthenticationV1.TokenRequestStatus(expirationTimestamp: MetaV1.Time(secondsSinceEpoch: 0), token: "t")
        #expect(String(decoding: try KubeJSON.encode(set), as: UTF8.self).contains(#""1970-01-01T00:00:00Z""#))
    }

    @Test func microTime() throws {
        let t = try MetaV1.MicroTime(rfc3339: "2025-01-02T03:04:05.123456Z")
        #expect(t.microseconds == 123_456)
        #expect(t.rfc3339 == "2025-01-02T03:04:05.123456Z")
        #expect(try MetaV1.MicroTime(rfc3339: "2025-01-02T03:04:05Z").rfc3339 == "2025-01-02T03:04:05.000000Z")
        #expect(try MetaV1.MicroTime(rfc3339: "2025-01-02T03:04:05.5Z").microseconds == 500_000)
    }

    @Test(arguments: ["", "2024-13-01T00:00:00Z", "2023-02-29T00:00:00Z", "2024-01-01 00:00:00Z",
                      "2024-01-01T00:00:00", "2024-01-01T25:00:00Z", "yesterday", "2024-01-01T00:00:00.Z"])
    func invalidTimes(_ text: String) {
        #expect(throws: TimestampError.self) { try MetaV1.Time(rfc3339: text) }
    }

    @Test func rawExtensionKeepsAnyJSON() throws {
        let json = #"{"a":[1,2.5,"x",true,null,{"b":{}}]}"#
        let raw = try KubeJSON.decode(RawExtension.self, from: Data(json.utf8))
        #expect(raw.value["a"]?.arrayValue?.count == 6)
        #expect(try JSONTree(data: KubeJSON.encode(raw)) == JSONTree(data: Data(json.utf8)))
    }
}

@Suite("Bad input names the field")
struct BadInputTests {
    func failure<T: Decodable>(_ type: T.Type, _ json: String) -> APIDecodingError? {
        do {
            _ = try KubeJSON.decode(T.self, from: Data(json.utf8))
            return nil
        } catch {
            return error
        }
    }

    @Test func malformedQuantity() {
        let e = failure(CoreV1.Pod.self, #"{"spec":{"containers":[{"name":"a","resources":{"limits":{"cpu":"abc"}}}]}}"#)
        #expect(e?.path == "spec.containers[0].resources.limits.cpu")
        #expect(e?.message.contains("invalid quantity \"abc\"") == true)
    }

    @Test func wrongType() {
        let e = failure(AppsV1.Deployment.self, #"{"spec":{"replicas":"three","selector":{},"template":{}}}"#)
        #expect(e?.path == "spec.replicas")
        #expect(e?.message.hasPrefix("expected an integer") == true)
        let e2 = failure(CoreV1.ConfigMap.self, #"{"data":{"k":1}}"#)
        #expect(e2?.path == "data.k")
        #expect(e2?.message.hasPrefix("expected a string") == true)
        let e3 = failure(CoreV1.Pod.self, #"{"metadata":{"labels":["a"]}}"#)
        #expect(e3?.path == "metadata.labels")
    }

    @Test func outOfRangeInteger() {
        let e = failure(AppsV1.Deployment.self, #"{"spec":{"replicas":4294967296,"selector":{},"template":{}}}"#)
        #expect(e?.path == "spec.replicas")
    }

    @Test func missingRequiredField() {
        let e = failure(CoreV1.Pod.self, #"{"spec":{"containers":[{"image":"x"}]}}"#)
        #expect(e?.path == "spec.containers[0].name")
        #expect(e?.message == "required value")
    }

    @Test func badTimestamp() {
        let e = failure(CoreV1.Pod.self, #"{"metadata":{"creationTimestamp":"last tuesday"}}"#)
        #expect(e?.path == "metadata.creationTimestamp")
        #expect(e?.message.contains("RFC 3339") == true)
    }

    @Test func notJSON() {
        #expect(failure(CoreV1.Pod.self, "{not json") != nil)
        #expect(failure(CoreV1.Pod.self, "") != nil)
        #expect(failure(CoreV1.Pod.self, "[]") != nil)
    }
}
