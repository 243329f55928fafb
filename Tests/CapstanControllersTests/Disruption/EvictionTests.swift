import CapstanAPI
import CapstanAPIMachinery
import CapstanClient
import CapstanControllerRuntime
import CapstanControllers
import CapstanTesting
import Foundation
import Testing

/// The pods `eviction` subresource against PodDisruptionBudgets kept by the disruption controller.
@Suite struct EvictionTests {
    static func evict(_ client: APIClient, _ pod: String, deleteOptions: JSONValue? = nil) async throws -> APIClient.Response {
        var body: [String: JSONValue] = ["apiVersion": .string("policy/v1"), "kind": .string("Eviction"),
                                         "metadata": .object(["name": .string(pod), "namespace": .string("default")])]
        if let deleteOptions { body["deleteOptions"] = deleteOptions }
        return try await client.request(method: .post, path: "/api/v1/namespaces/default/pods/\(pod)/eviction",
                                        body: JSONValue.object(body).serialized())
    }

    static func exists(_ client: APIClient, _ pod: String) async throws -> Bool {
        do {
            let p = try await client.get(CoreV1.Pod.self, name: pod, namespace: "default")
            return p.metadata?.deletionTimestamp == nil
        } catch where APIErrors.isNotFound(error) {
            return false
        }
    }

    @Test func evictionHonoursTheBudget() async throws {
        try await withWorkloadControllers([DisruptionController()]) { client, _ in
            for name in ["web-1", "web-2", "web-3"] {
                try await PodWrites.create(client, name, labels: ["app": "web"])
                try await PodWrites.setStatus(client, name, phase: "Running", ip: "10.0.0.\(name.suffix(1))", ready: true)
            }
            let budget = PolicyV1.PodDisruptionBudget(
                metadata: MetaV1.ObjectMeta(name: "web-pdb", namespace: "default"),
                spec: PolicyV1.PodDisruptionBudgetSpec(minAvailable: .int(2), selector: MetaV1.LabelSelector(matchLabels: ["app": "web"])))
            _ = try await client.create(budget)
            let computed = try await eventually {
                let b = try await client.get(PolicyV1.PodDisruptionBudget.self, name: "web-pdb", namespace: "default")
                return b.status?.disruptionsAllowed == 1 && b.status?.observedGeneration == b.metadata?.generation
            }
            #expect(computed)
            let status = try await client.get(PolicyV1.PodDisruptionBudget.self, name: "web-pdb", namespace: "default").status
            #expect(status?.currentHealthy == 3 && status?.desiredHealthy == 2 && status?.expectedPods == 3)
            #expect(status?.conditions?.first?.reason == "SufficientPods")

            // One eviction fits the budget.
            let first = try await Self.evict(client, "web-1")
            #expect(first.status == 201)
            #expect(try await Self.exists(client, "web-1") == false)

            // The next would leave fewer than two healthy pods.
            await #expect {
                _ = try await Self.evict(client, "web-2")
            } throws: { error in
                guard let e = error as? APIError else { return false }
                return e.code == 429 && e.reason == .tooManyRequests
                    && e.message == "Cannot evict pod as it would violate the pod's disruption budget."
                    && e.details?.causes.first?.reason == "DisruptionBudget"
                    && e.details?.causes.first?.message.contains("web-pdb") == true
            }
            #expect(try await Self.exists(client, "web-2"))

            // A pod that is not running is not protected; an unknown pod is 404.
            try await PodWrites.create(client, "pending", labels: ["app": "web"])
            #expect(try await Self.evict(client, "pending").status == 201)
            await #expect {
                _ = try await Self.evict(client, "nope")
            } throws: { ($0 as? APIError)?.code == 404 }

            // deleteOptions are honoured: a dry run leaves the pod.
            _ = try await client.delete(PolicyV1.PodDisruptionBudget.self, name: "web-pdb", namespace: "default")
            #expect(try await Self.evict(client, "web-2", deleteOptions: .object(["dryRun": .array([.string("All")])])).status == 201)
            #expect(try await Self.exists(client, "web-2"))
            await #expect {
                _ = try await Self.evict(client, "web-2", deleteOptions: .object(["preconditions": .object(["uid": .string("wrong")])]))
            } throws: { ($0 as? APIError)?.code == 409 }
            #expect(try await Self.evict(client, "web-3").status == 201)
            #expect(try await Self.exists(client, "web-3") == false)
        }
    }
}
