import CapstanAPI
import CapstanClient
import CapstanControllerRuntime
import CapstanTesting
import Testing
@testable import CapstanControllers

/// `kubectl drain` of a simulated node under a PodDisruptionBudget: evictions that would break
/// the budget are refused with 429 and kubectl retries them until replacements are Ready elsewhere.
@Suite(.enabled(if: Kubectl.available, "needs \(Kubectl.binary)"))
struct DrainEndToEndTests {
    static func cordon(_ client: APIClient, _ node: String, _ unschedulable: Bool) async throws {
        _ = try await client.patch(CoreV1.Node.self, name: node, .merge(.object(["spec": .object(["unschedulable": unschedulable ? .bool(true) : .null])])))
    }

    @Test func drainUnderABudgetWaitsForReplacementsAndEmptiesTheNode() async throws {
        try await withSimulatedCluster(nodes: 3) { cluster in
            let client = cluster.client
            // Every web pod on sim-0 first: the other nodes are cordoned while they start.
            try await Self.cordon(client, "sim-1", true)
            try await Self.cordon(client, "sim-2", true)
            var web = DeploymentEndToEndTests.deployment("web", replicas: 3, maxSurge: 1, maxUnavailable: 0)
            web.spec?.template.spec?.volumes = [CoreV1.Volume(emptyDir: CoreV1.EmptyDirVolumeSource(), name: "scratch")]
            _ = try await client.create(web)
            #expect(try await DeploymentEndToEndTests.rolledOut(client, "web", replicas: 3))
            let placed = try await cluster.pods(["app": "web"])
            try #require(placed.allSatisfy { $0.spec?.nodeName == "sim-0" }, "\(placed.map { $0.spec?.nodeName ?? "-" })")
            try await Self.cordon(client, "sim-1", false)
            try await Self.cordon(client, "sim-2", false)

            // A daemon on every node (drain leaves it, --ignore-daemonsets) and a budget of two.
            _ = try await client.create(AppsV1.DaemonSet(metadata: MetaV1.ObjectMeta(name: "agent", namespace: "default"), spec: AppsV1.DaemonSetSpec(
                selector: MetaV1.LabelSelector(matchLabels: ["app": "agent"]),
                template: CoreV1.PodTemplateSpec(metadata: MetaV1.ObjectMeta(labels: ["app": "agent"]),
                                                 spec: CoreV1.PodSpec(containers: [CoreV1.Container(image: "agent", name: "agent")])))))
            _ = try await client.create(PolicyV1.PodDisruptionBudget(
                metadata: MetaV1.ObjectMeta(name: "web", namespace: "default"),
                spec: PolicyV1.PodDisruptionBudgetSpec(minAvailable: .int(2), selector: MetaV1.LabelSelector(matchLabels: ["app": "web"]))))
            #expect(try await eventually {
                let ds = try await client.get(AppsV1.DaemonSet.self, name: "agent", namespace: "default")
                let pdb = try await client.get(PolicyV1.PodDisruptionBudget.self, name: "web", namespace: "default")
                return ds.status?.numberReady == 3 && pdb.status?.disruptionsAllowed == 1
            })

            let watcher = PodCountWatcher(client: client, labelSelector: "app=web", maxPods: 4, minReady: 2)
            try await watcher.start()
            let drain = try await cluster.kubectl.run("drain", "sim-0", "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=90s",
                                                      timeout: .seconds(100))
            let seen = await watcher.stop()
            #expect(drain.succeeded && drain.stdout.contains("node/sim-0 drained"), "\(drain)")
            // Some eviction was refused by the budget and retried.
            #expect((drain.stdout + drain.stderr).contains("Cannot evict pod as it would violate the pod's disruption budget"), "\(drain)")
            #expect(seen.violations.isEmpty, "the budget held at every step: \(seen.violations)")

            let node = try await client.get(CoreV1.Node.self, name: "sim-0")
            #expect(node.spec?.unschedulable == true, "the node stays cordoned")
            let onNode = try await client.list(CoreV1.Pod.self, namespace: "default", options: ListOptions(fieldSelector: "spec.nodeName=sim-0")).items
                .filter { !$0.isTerminating }
            #expect(onNode.map { $0.objectMeta.controllerRef?.kind } == ["DaemonSet"], "only the daemon pod is left: \(onNode.map(\.name))")
            let moved = try await cluster.pods(["app": "web"])
            #expect(moved.count == 3 && moved.allSatisfy { $0.isReady && $0.spec?.nodeName != "sim-0" },
                    "\(moved.map { "\($0.name)@\($0.spec?.nodeName ?? "-")" })")
        }
    }
}
