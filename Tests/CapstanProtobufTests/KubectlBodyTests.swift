import CapstanAPI
@testable import CapstanProtobuf
import Foundation
import Testing

/// The strongest check: what real kubectl 1.33 sends in protobuf decodes to exactly the JSON that
/// kubectl 1.31 sends for the same command, and that JSON decodes into the typed structs.
@Suite("Real kubectl bodies")
struct KubectlBodyTests {
    @Test(arguments: KubectlBody.all)
    func protobufBodyDecodesToTheJSONOlderKubectlSends(_ body: KubectlBody) throws {
        let bytes = try #require(Data(base64Encoded: body.protobuf))
        let decoded = try KubernetesProtobuf.decode([UInt8](bytes))
        let expected = try JSONValue.parse(body.json)
        #expect(decoded.object == expected, "\(body.command)")
        #expect(decoded.apiVersion == expected["apiVersion"]?.stringValue)
        #expect(decoded.kind == expected["kind"]?.stringValue)
        // The typed structs read the object (null lists are empty and a null required time is
        // Go's zero time, as in Go).
        try Self.decodeTyped(kind: decoded.kind, expected)
        try Self.decodeTyped(kind: decoded.kind, decoded.object)
    }

    @Test func bodiesCoverTheKubectlCommandsThatSendProtobuf() {
        let kinds = Set(KubectlBody.all.compactMap { try? JSONValue.parse($0.json)["kind"]?.stringValue })
        for kind in ["ConfigMap", "Secret", "Namespace", "Service", "Deployment", "Job", "TokenRequest",
                     "SelfSubjectAccessReview", "SelfSubjectRulesReview", "SelfSubjectReview"] {
            #expect(kinds.contains(kind), "\(kind)")
        }
    }

    @Test func binarySecretDataIsBase64() throws {
        let body = try #require(KubectlBody.all.first { $0.name == "binarySecret" })
        let decoded = try KubernetesProtobuf.decode([UInt8](try #require(Data(base64Encoded: body.protobuf))))
        let secret = try KubeJSON.decode(CoreV1.Secret.self, from: decoded.object.serialized())
        #expect(secret.data?["blob.bin"].flatMap { Data(base64Encoded: $0) } == Data([0, 1, 0xFE, 0xFF] + Array("binary\n".utf8)))
    }

    /// Decodes the object into its generated Swift type, as the API server's typed paths do.
    static func decodeTyped(kind: String, _ object: JSONValue) throws {
        let bytes = object.serialized()
        switch kind {
        case "ConfigMap": _ = try KubeJSON.decode(CoreV1.ConfigMap.self, from: bytes)
        case "Secret": _ = try KubeJSON.decode(CoreV1.Secret.self, from: bytes)
        case "Namespace": _ = try KubeJSON.decode(CoreV1.Namespace.self, from: bytes)
        case "Service": _ = try KubeJSON.decode(CoreV1.Service.self, from: bytes)
        case "ResourceQuota": _ = try KubeJSON.decode(CoreV1.ResourceQuota.self, from: bytes)
        case "Deployment": _ = try KubeJSON.decode(AppsV1.Deployment.self, from: bytes)
        case "Job": _ = try KubeJSON.decode(BatchV1.Job.self, from: bytes)
        case "CronJob": _ = try KubeJSON.decode(BatchV1.CronJob.self, from: bytes)
        case "TokenRequest": _ = try KubeJSON.decode(AuthenticationV1.TokenRequest.self, from: bytes)
        case "SelfSubjectReview": _ = try KubeJSON.decode(AuthenticationV1.SelfSubjectReview.self, from: bytes)
        case "SelfSubjectAccessReview": _ = try KubeJSON.decode(AuthorizationV1.SelfSubjectAccessReview.self, from: bytes)
        case "SelfSubjectRulesReview": _ = try KubeJSON.decode(AuthorizationV1.SelfSubjectRulesReview.self, from: bytes)
        case "Role": _ = try KubeJSON.decode(RBACV1.Role.self, from: bytes)
        case "RoleBinding": _ = try KubeJSON.decode(RBACV1.RoleBinding.self, from: bytes)
        case "PriorityClass": _ = try KubeJSON.decode(SchedulingV1.PriorityClass.self, from: bytes)
        case "PodDisruptionBudget": _ = try KubeJSON.decode(PolicyV1.PodDisruptionBudget.self, from: bytes)
        case "Ingress": _ = try KubeJSON.decode(NetworkingV1.Ingress.self, from: bytes)
        default: Issue.record("no typed decoding for \(kind)")
        }
    }
}
