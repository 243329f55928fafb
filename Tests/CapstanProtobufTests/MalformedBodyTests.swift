import CapstanAPI
@testable import CapstanProtobuf
import Foundation
import Testing

@Suite("Malformed and unsupported protobuf bodies")
struct MalformedBodyTests {
    typealias B = ProtobufBodies

    static func configMapBody() throws -> [UInt8] {
        var cm = K8s_Io_Api_Core_V1_ConfigMap()
        cm.metadata = B.meta(name: "x", namespace: "default")
        cm.data = ["a": "b"]
        return try B.body(apiVersion: "v1", kind: "ConfigMap", cm)
    }

    func expectError(_ body: [UInt8], _ reason: ProtobufBodyError.Reason, containing text: String,
                     sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            let decoded = try KubernetesProtobuf.decode(body)
            Issue.record("decoded \(decoded.kind) instead of failing", sourceLocation: sourceLocation)
        } catch {
            #expect(error.reason == reason, "\(error)", sourceLocation: sourceLocation)
            #expect(error.statusCode == (reason == .malformed ? 400 : 415), sourceLocation: sourceLocation)
            #expect(error.message.contains(text), "\(error.message)", sourceLocation: sourceLocation)
        }
    }

    @Test func wrongOrMissingMagic() throws {
        expectError([], .malformed, containing: "magic")
        expectError([0x6B, 0x38, 0x73], .malformed, containing: "magic")
        var body = try Self.configMapBody()
        body[3] = 1
        expectError(body, .malformed, containing: "magic")
        expectError(Array(#"{"kind":"ConfigMap"}"#.utf8), .malformed, containing: "magic")
    }

    @Test func brokenEnvelopeAndMessage() throws {
        let body = try Self.configMapBody()
        expectError(KubernetesProtobuf.magic, .malformed, containing: "no apiVersion and kind")
        expectError(Array(body.dropLast(3)), .malformed, containing: "does not decode")
        expectError(KubernetesProtobuf.magic + [0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F], .malformed, containing: "envelope")
        // A well-formed envelope whose raw bytes are not a ConfigMap.
        expectError(try B.body(apiVersion: "v1", kind: "ConfigMap", raw: [0x0A, 0x05, 0x01]), .malformed, containing: "ConfigMap does not decode")
        // A string field holding invalid UTF-8.
        expectError(try B.body(apiVersion: "v1", kind: "ConfigMap", raw: [0x0A, 0x03, 0x0A, 0x01, 0xFF]), .malformed, containing: "does not decode")
    }

    @Test func kindsWithoutProtobufFormAre415() throws {
        var cm = K8s_Io_Api_Core_V1_ConfigMap()
        cm.metadata = B.meta(name: "x")
        expectError(try B.body(apiVersion: "stable.example.com/v1", kind: "CronTab", cm), .unsupportedMediaType, containing: "CronTab")
        expectError(try B.body(apiVersion: "apps/v1beta1", kind: "Deployment", cm), .unsupportedMediaType, containing: "apps/v1beta1")
        expectError(try B.body(apiVersion: "v1", kind: "ConfigMap", cm, contentEncoding: "gzip"), .unsupportedMediaType, containing: "gzip")
        expectError(try B.body(apiVersion: "v1", kind: "ConfigMap", cm, contentType: "application/yaml"), .unsupportedMediaType, containing: "yaml")
    }

    @Test func embeddedJSONContent() throws {
        let decoded = try KubernetesProtobuf.decode(try B.body(
            apiVersion: "v1", kind: "ConfigMap", raw: Array(#"{"metadata":{"name":"j"}}"#.utf8), contentType: "application/json"))
        #expect(decoded.object == (try json(#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"j"}}"#)))
        expectError(try B.body(apiVersion: "v1", kind: "ConfigMap", raw: Array("[1]".utf8), contentType: "application/json"),
                    .malformed, containing: "not an object")
    }

    @Test func valuesKubernetesRefuses() throws {
        var svc = K8s_Io_Api_Core_V1_Service()
        var port = K8s_Io_Api_Core_V1_ServicePort()
        port.port = 80
        port.targetPort.type = 7
        svc.spec.ports = [port]
        expectError(try B.body(apiVersion: "v1", kind: "Service", svc), .malformed, containing: "IntOrString")

        var pod = K8s_Io_Api_Core_V1_Pod()
        var c = K8s_Io_Api_Core_V1_Container()
        c.name = "c"
        c.resources.limits = ["cpu": B.quantity("lots")]
        pod.spec.containers = [c]
        expectError(try B.body(apiVersion: "v1", kind: "Pod", pod), .malformed, containing: "lots")

        var cm = K8s_Io_Api_Core_V1_ConfigMap()
        cm.metadata.creationTimestamp = B.time(.max)
        expectError(try B.body(apiVersion: "v1", kind: "ConfigMap", cm), .malformed, containing: "outside years")

        var revision = K8s_Io_Api_Apps_V1_ControllerRevision()
        revision.data.raw = Data("{not json".utf8)
        expectError(try B.body(apiVersion: "apps/v1", kind: "ControllerRevision", revision), .malformed, containing: "RawExtension")
    }

    @Test func nestedProtobufDepthIsBounded() throws {
        var inner = try Self.configMapBody()
        for _ in 0..<40 {
            var revision = K8s_Io_Api_Apps_V1_ControllerRevision()
            revision.data.raw = Data(inner)
            inner = try B.body(apiVersion: "apps/v1", kind: "ControllerRevision", revision)
        }
        expectError(inner, .malformed, containing: "nested")
    }

    /// Mutated and random bodies: every one decodes or throws a ProtobufBodyError; none crashes.
    @Test func fuzz() throws {
        var seeds = KubectlBody.all.compactMap { Data(base64Encoded: $0.protobuf).map { [UInt8]($0) } }
        seeds.append(try Self.configMapBody())
        var rng = SplitMix64(seed: 0x5EED_CAFE)
        var decodedCount = 0, failedCount = 0
        for i in 0..<20_000 {
            var body = seeds[Int(rng.next() % UInt64(seeds.count))]
            switch i % 6 {
            case 0:  // flip bytes
                for _ in 0...(rng.next() % 4) {
                    let at = 4 + Int(rng.next() % UInt64(body.count - 4))
                    body[at] ^= UInt8(truncatingIfNeeded: rng.next() | 1)
                }
            case 1:  // truncate
                body = Array(body.prefix(Int(rng.next() % UInt64(body.count + 1))))
            case 2:  // insert random bytes
                let at = 4 + Int(rng.next() % UInt64(body.count - 3))
                body.insert(contentsOf: (0..<(1 + rng.next() % 8)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }, at: at)
            case 3:  // duplicate a slice
                let from = 4 + Int(rng.next() % UInt64(body.count - 4))
                let to = min(body.count, from + 1 + Int(rng.next() % 32))
                body.insert(contentsOf: body[from..<to], at: from)
            case 4:  // set a byte to a varint-length edge value
                let at = 4 + Int(rng.next() % UInt64(body.count - 4))
                body[at] = [0x00, 0x7F, 0x80, 0xFF][Int(rng.next() % 4)]
            default:  // random bytes after the magic
                body = KubernetesProtobuf.magic + (0..<(rng.next() % 64)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            }
            do {
                let decoded = try KubernetesProtobuf.decode(body)
                _ = try JSONValue.parse(decoded.object.serialized())
                decodedCount += 1
            } catch is ProtobufBodyError {
                failedCount += 1
            }
        }
        #expect(decodedCount > 0)
        #expect(failedCount > 0)
    }
}

/// A small deterministic generator for the fuzz test.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
