import CapstanAPI
@testable import CapstanControllers
import Testing

@Suite struct DaemonSetCoreTests {
    static func ds(nodeSelector: [String: String]? = nil, strategy: AppsV1.DaemonSetUpdateStrategy? = nil, image: String = "agent:1") -> AppsV1.DaemonSet {
        let template = CoreV1.PodTemplateSpec(metadata: MetaV1.ObjectMeta(labels: ["app": "agent"]),
                                              spec: CoreV1.PodSpec(containers: [CoreV1.Container(image: image, name: "agent")], nodeSelector: nodeSelector))
        var spec = AppsV1.DaemonSetSpec(selector: MetaV1.LabelSelector(matchLabels: ["app": "agent"]), template: template)
        spec.updateStrategy = strategy
        return AppsV1.DaemonSet(metadata: MetaV1.ObjectMeta(generation: 2, name: "agent", namespace: "kube-system", uid: "ds-uid"), spec: spec)
    }

    static func node(_ name: String, labels: [String: String]? = nil, taints: [CoreV1.Taint]? = nil) -> CoreV1.Node {
        CoreV1.Node(metadata: MetaV1.ObjectMeta(labels: labels, name: name), spec: CoreV1.NodeSpec(taints: taints))
    }

    static func pod(_ name: String, node: String, hash: String, ready: Bool = true) -> CoreV1.Pod {
        var p = TestPods.pod(name, namespace: "kube-system", labels: ["app": "agent", DaemonSetCore.revisionHashLabel: hash], ready: ready, node: node)
        p.metadata?.creationTimestamp = TestPods.time(0)
        return p
    }

    @Test func eligibility() {
        let plain = Self.ds()
        #expect(DaemonSetCore.shouldRun(plain.spec!.template, on: Self.node("a")))
        // Daemon tolerations cover cordoned, unreachable and pressured nodes, not arbitrary taints.
        #expect(DaemonSetCore.shouldRun(plain.spec!.template, on: Self.node("b", taints: [
            CoreV1.Taint(effect: "NoSchedule", key: "node.kubernetes.io/unschedulable"),
            CoreV1.Taint(effect: "NoExecute", key: "node.kubernetes.io/unreachable")])))
        #expect(!DaemonSetCore.shouldRun(plain.spec!.template, on: Self.node("c", taints: [CoreV1.Taint(effect: "NoSchedule", key: "dedicated", value: "db")])))
        #expect(DaemonSetCore.shouldRun(plain.spec!.template, on: Self.node("d", taints: [CoreV1.Taint(effect: "PreferNoSchedule", key: "x")])))
        let selective = Self.ds(nodeSelector: ["disk": "ssd"])
        #expect(DaemonSetCore.shouldRun(selective.spec!.template, on: Self.node("e", labels: ["disk": "ssd"])))
        #expect(!DaemonSetCore.shouldRun(selective.spec!.template, on: Self.node("f")))
        var affine = Self.ds()
        affine.spec?.template.spec?.affinity = CoreV1.Affinity(nodeAffinity: CoreV1.NodeAffinity(requiredDuringSchedulingIgnoredDuringExecution: CoreV1.NodeSelector(
            nodeSelectorTerms: [CoreV1.NodeSelectorTerm(matchExpressions: [CoreV1.NodeSelectorRequirement(key: "zone", operator: "NotIn", values: ["z9"])])])))
        #expect(DaemonSetCore.shouldRun(affine.spec!.template, on: Self.node("g", labels: ["zone": "z1"])))
        #expect(!DaemonSetCore.shouldRun(affine.spec!.template, on: Self.node("h", labels: ["zone": "z9"])))
    }

    @Test func onePodPerEligibleNode() throws {
        let ds = Self.ds(nodeSelector: ["role": "worker"])
        let hash = DaemonSetCore.templateHash(ds.spec!.template)
        let nodes = [Self.node("w1", labels: ["role": "worker"]), Self.node("w2", labels: ["role": "worker"]), Self.node("m1")]
        let pods = [Self.pod("agent-a", node: "w1", hash: hash), Self.pod("agent-b", node: "w1", hash: hash), Self.pod("agent-m", node: "m1", hash: hash),
                    Self.pod("agent-gone", node: "w9", hash: hash)]
        let plan = DaemonSetCore.reconcile(ds, nodes: nodes, pods: pods, now: 100)
        #expect(plan.create == ["w2"])
        #expect(Set(plan.delete) == ["agent-b", "agent-m", "agent-gone"])
        #expect(plan.status.desiredNumberScheduled == 2)
        #expect(plan.status.currentNumberScheduled == 1)
        #expect(plan.status.numberMisscheduled == 1)
        #expect(plan.status.numberReady == 1)
        #expect(plan.status.updatedNumberScheduled == 1)
        #expect(plan.status.numberUnavailable == 1)
        #expect(plan.status.observedGeneration == 2)

        let pod = DaemonSetCore.makePod(ds, node: "w2", hash: hash)
        #expect(DaemonSetCore.targetNode(pod) == "w2")
        #expect(pod.metadata?.labels?[DaemonSetCore.revisionHashLabel] == hash)
        #expect(pod.metadata?.ownerReferences?.first?.kind == "DaemonSet")
        #expect(pod.spec?.tolerations?.contains { $0.key == "node.kubernetes.io/unreachable" && $0.tolerationSeconds == nil } == true)
    }

    @Test func rollingUpdateRespectsMaxUnavailable() {
        let old = Self.ds(image: "agent:1")
        let new = Self.ds(strategy: AppsV1.DaemonSetUpdateStrategy(rollingUpdate: AppsV1.RollingUpdateDaemonSet(maxUnavailable: .int(2)), type: "RollingUpdate"),
                          image: "agent:2")
        let oldHash = DaemonSetCore.templateHash(old.spec!.template)
        #expect(oldHash != DaemonSetCore.templateHash(new.spec!.template))
        let nodes = (1...4).map { Self.node("n\($0)") }
        let pods = (1...4).map { Self.pod("p\($0)", node: "n\($0)", hash: oldHash, ready: $0 != 4) }
        let plan = DaemonSetCore.reconcile(new, nodes: nodes, pods: pods, now: 100)
        // One old pod is already unavailable: it goes for free, plus one more within maxUnavailable 2.
        #expect(plan.delete == ["p4", "p1"])
        #expect(plan.create.isEmpty)
        let onDelete = Self.ds(strategy: AppsV1.DaemonSetUpdateStrategy(type: "OnDelete"), image: "agent:2")
        #expect(DaemonSetCore.reconcile(onDelete, nodes: nodes, pods: pods, now: 100).delete.isEmpty)
    }

    @Test func rollingUpdateWithSurge() {
        let new = Self.ds(strategy: AppsV1.DaemonSetUpdateStrategy(rollingUpdate: AppsV1.RollingUpdateDaemonSet(maxSurge: .int(1), maxUnavailable: .int(0)),
                                                                   type: "RollingUpdate"), image: "agent:2")
        let newHash = DaemonSetCore.templateHash(new.spec!.template)
        let nodes = (1...3).map { Self.node("n\($0)") }
        let old = (1...3).map { Self.pod("old\($0)", node: "n\($0)", hash: "old") }
        let first = DaemonSetCore.reconcile(new, nodes: nodes, pods: old, now: 100)
        #expect(first.create == ["n1"])
        #expect(first.delete.isEmpty)
        // The surged pod is ready: the old one on its node goes, and the next node surges.
        let second = DaemonSetCore.reconcile(new, nodes: nodes, pods: old + [Self.pod("new1", node: "n1", hash: newHash)], now: 100)
        #expect(second.delete == ["old1"])
        #expect(second.create == ["n2"])
    }
}
