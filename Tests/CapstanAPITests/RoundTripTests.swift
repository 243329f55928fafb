import CapstanAPI
import Foundation
import Testing

@Suite("Round trips of real-world manifests")
struct RoundTripTests {
    /// Decodes `data` as `T`, encodes it again, and requires the same JSON value.
    func roundTrip<T: Codable & Equatable>(_ type: T.Type, _ data: Data) throws -> T {
        let object = try KubeJSON.decode(T.self, from: data)
        let encoded = try KubeJSON.encode(object)
        let before = try JSONTree(data: data)
        let after = try JSONTree(data: encoded)
        #expect(JSONTree.firstDifference(before, after) == nil, "\(T.self): \(JSONTree.firstDifference(before, after) ?? "")")
        // Encoding is stable: decoding the output gives an equal value.
        let decodedAgain = try KubeJSON.decode(T.self, from: encoded)
        #expect(decodedAgain == object)
        return object
    }

    @Test func pod() throws {
        let pod = try roundTrip(CoreV1.Pod.self, Fixtures.data("pod"))
        #expect(pod.metadata?.name == "web-0")
        #expect(pod.spec?.containers.first?.resources?.limits?["cpu"] == Quantity(1))
        #expect(pod.spec?.containers.first?.resources?.requests?["memory"] == Quantity(64 * 1024 * 1024))
        #expect(pod.spec?.containers.first?.livenessProbe?.httpGet?.port == .string("http"))
        #expect(pod.spec?.containers.first?.readinessProbe?.tcpSocket?.port == .int(8080))
        #expect(pod.status?.containerStatuses?.first?.lastState?.terminated?.exitCode == 137)
        #expect(pod.metadata?.creationTimestamp?.rfc3339 == "2025-03-04T05:06:07Z")
        #expect(pod.status?.conditions?.first?.lastProbeTime == nil)
    }

    @Test func deployment() throws {
        let d = try roundTrip(AppsV1.Deployment.self, Fixtures.data("deployment"))
        #expect(d.spec?.strategy?.rollingUpdate?.maxSurge == .string("25%"))
        #expect(d.spec?.strategy?.rollingUpdate?.maxUnavailable == .int(0))
        #expect(d.spec?.template.spec?.containers.count == 1)
    }

    @Test func service() throws {
        let s = try roundTrip(CoreV1.Service.self, Fixtures.data("service"))
        #expect(s.spec?.ports?.first?.targetPort == .string("http"))
        #expect(s.spec?.ports?.last?.targetPort == .int(9090))
    }

    @Test func statefulSet() throws {
        let s = try roundTrip(AppsV1.StatefulSet.self, Fixtures.data("statefulset"))
        #expect(s.spec?.volumeClaimTemplates?.first?.spec?.resources?.requests?["storage"] == "10Gi")
    }

    @Test func customResourceDefinition() throws {
        let crd = try roundTrip(APIExtensionsV1.CustomResourceDefinition.self, Fixtures.data("crd"))
        let spec = crd.spec.versions.first?.schema?.openAPIV3Schema?.properties?["spec"]
        #expect(spec?.properties?["notEmpty"]?.not?.maxLength == 0)
        #expect(spec?.properties?["open"]?.additionalProperties == .bool(true))
        if case .schemas(let s)? = spec?.properties?["pair"]?.items { #expect(s.count == 2) } else {
            Issue.record("positional items did not decode as a list")
        }
        #expect(spec?.properties?["needs"]?.dependencies?["a"] == .strings(["b"]))
        #expect(spec?.properties?["image"]?.default == .string("busybox"))
        #expect(spec?.properties?["blob"]?.xKubernetesPreserveUnknownFields == true)
    }

    @Test func rbac() throws {
        let data = try Fixtures.data("rbac")
        let list = try JSONSerialization.jsonObject(with: data) as! [Any]
        let role = try roundTrip(RBACV1.Role.self, JSONSerialization.data(withJSONObject: list[0]))
        #expect(role.rules?.first?.resources == ["pods", "pods/log"])
        let clusterRole = try roundTrip(RBACV1.ClusterRole.self, JSONSerialization.data(withJSONObject: list[1]))
        #expect(clusterRole.aggregationRule?.clusterRoleSelectors?.first?.matchLabels?["rbac.example.com/aggregate-to-view"] == "true")
        let binding = try roundTrip(RBACV1.RoleBinding.self, JSONSerialization.data(withJSONObject: list[2]))
        #expect(binding.roleRef.name == "pod-reader")
    }

    @Test func constructedObjectsCarryTheirKind() throws {
        let cm = CoreV1.ConfigMap(metadata: .init(name: "settings", namespace: "default"), data: ["a": "1"])
        let json = try JSONTree(data: KubeJSON.encode(cm))
        #expect(json == .object([
            "apiVersion": .string("v1"), "kind": .string("ConfigMap"),
            "metadata": .object(["name": .string("settings"), "namespace": .string("default")]),
            "data": .object(["a": .string("1")]),
        ]))
        #expect(AppsV1.Deployment.kind == "Deployment")
        #expect(AppsV1.Deployment.apiVersion == "apps/v1")
    }
}
