import CapstanAPI
@testable import CapstanControllers
import Testing

@Suite struct NodeLifecycleCoreTests {
    static func node(ready: String?, taints: [CoreV1.Taint]? = nil) -> CoreV1.Node {
        let conditions = ready.map { [CoreV1.NodeCondition(lastHeartbeatTime: TestPods.time(5), lastTransitionTime: TestPods.time(1),
                                                           reason: "KubeletReady", status: $0, type: "Ready")] }
        return CoreV1.Node(metadata: MetaV1.ObjectMeta(creationTimestamp: TestPods.time(0), name: "n1"),
                           spec: CoreV1.NodeSpec(taints: taints), status: CoreV1.NodeStatus(conditions: conditions))
    }

    @Test func silentNodeBecomesUnknownAfterTheGracePeriod() throws {
        let now = TestPods.time(100)
        #expect(NodeLifecycleCore.conditionsAfterSilence(node: Self.node(ready: "True"), silentFor: 40, gracePeriod: 40, now: now) == nil)
        let conditions = try #require(NodeLifecycleCore.conditionsAfterSilence(node: Self.node(ready: "True"), silentFor: 41, gracePeriod: 40, now: now))
        let ready = try #require(conditions.first { $0.type == "Ready" })
        #expect(ready.status == "Unknown")
        #expect(ready.reason == "NodeStatusUnknown")
        #expect(ready.message == "Kubelet stopped posting node status.")
        #expect(ready.lastTransitionTime == now)
        #expect(ready.lastHeartbeatTime == TestPods.time(5))
        #expect(Set(conditions.map(\.type)) == Set(NodeLifecycleCore.monitoredConditions))
        #expect(conditions.allSatisfy { $0.status == "Unknown" })
        // Once Unknown, nothing more changes.
        var unknown = Self.node(ready: "True")
        unknown.status?.conditions = conditions
        #expect(NodeLifecycleCore.conditionsAfterSilence(node: unknown, silentFor: 500, gracePeriod: 40, now: now) == nil)
    }

    @Test func nodeThatNeverReported() throws {
        let conditions = try #require(NodeLifecycleCore.conditionsAfterSilence(node: Self.node(ready: nil), silentFor: 60, gracePeriod: 40,
                                                                              now: TestPods.time(60)))
        #expect(conditions.first { $0.type == "Ready" }?.reason == "NodeStatusNeverUpdated")
        #expect(conditions.first { $0.type == "Ready" }?.message == "Kubelet never posted node status.")
    }

    struct TaintCase: Sendable {
        var ready: String?
        var existing: [CoreV1.Taint]?
        var expected: [String]?
    }

    @Test(arguments: [
        TaintCase(ready: "True", existing: nil, expected: nil),
        TaintCase(ready: "Unknown", existing: nil,
                  expected: ["node.kubernetes.io/unreachable:NoSchedule", "node.kubernetes.io/unreachable:NoExecute"]),
        TaintCase(ready: "False", existing: [CoreV1.Taint(effect: "NoSchedule", key: "dedicated", value: "gpu")],
                  expected: ["dedicated:NoSchedule", "node.kubernetes.io/not-ready:NoSchedule", "node.kubernetes.io/not-ready:NoExecute"]),
        TaintCase(ready: "True", existing: [CoreV1.Taint(effect: "NoExecute", key: "node.kubernetes.io/unreachable"),
                                            CoreV1.Taint(effect: "NoSchedule", key: "node.kubernetes.io/unreachable")], expected: []),
        TaintCase(ready: "False", existing: [CoreV1.Taint(effect: "NoExecute", key: "node.kubernetes.io/unreachable")],
                  expected: ["node.kubernetes.io/not-ready:NoSchedule", "node.kubernetes.io/not-ready:NoExecute"]),
    ])
    func taintsFollowReadiness(_ c: TaintCase) {
        let result = NodeLifecycleCore.taintsForReadiness(node: Self.node(ready: c.ready, taints: c.existing), now: TestPods.time(50))
        #expect(result.map { $0.map { "\($0.key):\($0.effect)" } } == c.expected)
        if let added = result?.first(where: { $0.key.hasPrefix("node.kubernetes.io") && $0.effect == "NoExecute" }) {
            #expect(added.timeAdded == TestPods.time(50))
        }
    }

    @Test func tolerationMatching() {
        let taint = CoreV1.Taint(effect: "NoExecute", key: "k", value: "v")
        let cases: [(CoreV1.Toleration, Bool)] = [
            (CoreV1.Toleration(operator: "Exists"), true),
            (CoreV1.Toleration(effect: "NoSchedule", operator: "Exists"), false),
            (CoreV1.Toleration(key: "k", operator: "Exists"), true),
            (CoreV1.Toleration(key: "k", value: "v"), true),
            (CoreV1.Toleration(key: "k", operator: "Equal", value: "w"), false),
            (CoreV1.Toleration(key: "other", operator: "Exists"), false),
            (CoreV1.Toleration(effect: "NoExecute", key: "k", operator: "Equal", value: "v"), true),
        ]
        for (toleration, expected) in cases {
            #expect(NodeLifecycleCore.tolerates(toleration, taint) == expected, "\(toleration)")
        }
    }

    @Test func evictionTimes() {
        let unreachable = CoreV1.Taint(effect: "NoExecute", key: NodeLifecycleCore.unreachableTaint, timeAdded: TestPods.time(100))
        func pod(_ tolerations: [CoreV1.Toleration]) -> CoreV1.Pod {
            var p = TestPods.pod("p")
            p.spec?.tolerations = tolerations
            return p
        }
        let defaults = CoreV1.Toleration(effect: "NoExecute", key: NodeLifecycleCore.unreachableTaint, operator: "Exists", tolerationSeconds: 300)
        #expect(NodeLifecycleCore.eviction(of: pod([defaults]), taints: [unreachable], now: 120) == .at(400))
        #expect(NodeLifecycleCore.eviction(of: pod([]), taints: [unreachable], now: 120) == .at(120))
        #expect(NodeLifecycleCore.eviction(of: pod([CoreV1.Toleration(operator: "Exists")]), taints: [unreachable], now: 120) == .never)
        // The shortest limit among matching tolerations wins.
        let short = CoreV1.Toleration(key: NodeLifecycleCore.unreachableTaint, operator: "Exists", tolerationSeconds: 30)
        #expect(NodeLifecycleCore.eviction(of: pod([CoreV1.Toleration(operator: "Exists"), short]), taints: [unreachable], now: 120) == .at(130))
        // NoSchedule taints never evict.
        let noSchedule = CoreV1.Taint(effect: "NoSchedule", key: "x")
        #expect(NodeLifecycleCore.eviction(of: pod([]), taints: [noSchedule], now: 120) == .never)
    }
}
