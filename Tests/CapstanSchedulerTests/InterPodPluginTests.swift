import CapstanAPI
import CapstanSchedulerFramework
import CapstanSchedulerPlugins
import Testing

private let zone = "topology.kubernetes.io/zone"
private let hostname = "kubernetes.io/hostname"

private func spread(_ key: String, maxSkew: Int32 = 1, when: String = "DoNotSchedule", labels: [String: String] = ["foo": "bar"],
                    minDomains: Int32? = nil, nodeAffinityPolicy: String? = nil) -> CoreV1.TopologySpreadConstraint {
    CoreV1.TopologySpreadConstraint(labelSelector: selector(labels), maxSkew: maxSkew, minDomains: minDomains,
                                    nodeAffinityPolicy: nodeAffinityPolicy, topologyKey: key, whenUnsatisfiable: when)
}

private func fooPod(_ name: String, on node: String) -> CoreV1.Pod { makePod(name, labels: ["foo": "bar"], nodeName: node) }

@Suite("PodTopologySpread")
struct PodTopologySpreadTests {
    /// The docs' cluster: zoneA {node1, node2}, zoneB {node3, node4}, one foo=bar pod on node1..3.
    static func docsCluster() -> Cluster {
        Cluster(nodes: [
            makeNode("node1", labels: [zone: "zoneA"]), makeNode("node2", labels: [zone: "zoneA"]),
            makeNode("node3", labels: [zone: "zoneB"]), makeNode("node4", labels: [zone: "zoneB"]),
        ], pods: [fooPod("p1", on: "node1"), fooPod("p2", on: "node2"), fooPod("p3", on: "node3")])
    }

    // "one-constraint.yaml": maxSkew 1 over zones puts the pod in zoneB.
    @Test func oneConstraint() {
        let c = Self.docsCluster()
        let pod = podInfo("mypod", labels: ["foo": "bar"]) { $0.topologySpreadConstraints = [spread(zone)] }
        #expect(c.feasible(pod, plugins: [PodTopologySpread()]) == ["node3", "node4"])
        let statuses = c.filter(pod, plugins: [PodTopologySpread()])
        #expect(statuses["node1"]?.message == "node(s) didn't match pod topology spread constraints")
        #expect(statuses["node1"]?.code == .unschedulable)
    }

    // "two-constraints.yaml": zones and nodes together leave only node4.
    @Test func twoConstraints() {
        let c = Self.docsCluster()
        let pod = podInfo("mypod", labels: ["foo": "bar"]) { $0.topologySpreadConstraints = [spread(zone), spread(hostname)] }
        #expect(c.feasible(pod, plugins: [PodTopologySpread()]) == ["node4"])
    }

    // Conflicting constraints: the zone wants zoneB, the hostnames want node2 (in zoneA).
    @Test func conflictingConstraintsLeaveThePodPending() {
        let c = Cluster(nodes: [
            makeNode("node1", labels: [zone: "zoneA"]), makeNode("node2", labels: [zone: "zoneA"]), makeNode("node3", labels: [zone: "zoneB"]),
        ], pods: [fooPod("a", on: "node1"), fooPod("b", on: "node1"), fooPod("c", on: "node2"), fooPod("d", on: "node3"), fooPod("e", on: "node3")])
        let pod = podInfo("mypod", labels: ["foo": "bar"]) { $0.topologySpreadConstraints = [spread(zone), spread(hostname)] }
        #expect(c.feasible(pod, plugins: [PodTopologySpread()]) == [])
    }

    @Test func minDomainsTreatsTheGlobalMinimumAsZero() {
        let c = Cluster(nodes: [makeNode("a", labels: [zone: "A"]), makeNode("b", labels: [zone: "B"])],
                        pods: [fooPod("x", on: "a"), fooPod("y", on: "b")])
        let two = podInfo("p", labels: ["foo": "bar"]) { $0.topologySpreadConstraints = [spread(zone, minDomains: 2)] }
        #expect(c.feasible(two, plugins: [PodTopologySpread()]) == ["a", "b"])
        let three = podInfo("p", labels: ["foo": "bar"]) { $0.topologySpreadConstraints = [spread(zone, minDomains: 3)] }
        #expect(c.feasible(three, plugins: [PodTopologySpread()]) == [])
    }

    @Test func nodeAffinityPolicy() {
        let c = Cluster(nodes: [makeNode("a", labels: [zone: "A"]), makeNode("b", labels: [zone: "B"]), makeNode("c", labels: [zone: "C"])],
                        pods: [fooPod("x", on: "a"), fooPod("y", on: "b")])
        func pod(_ policy: String?) -> PodInfo {
            podInfo("p", labels: ["foo": "bar"]) {
                $0.topologySpreadConstraints = [spread(zone, nodeAffinityPolicy: policy)]
                $0.affinity = CoreV1.Affinity(nodeAffinity: CoreV1.NodeAffinity(requiredDuringSchedulingIgnoredDuringExecution:
                    CoreV1.NodeSelector(nodeSelectorTerms: [CoreV1.NodeSelectorTerm(matchExpressions: [
                        CoreV1.NodeSelectorRequirement(key: zone, operator: "In", values: ["A", "B"])])])))
            }
        }
        // Honor (default): zone C does not count, the minimum is 1, A and B fit.
        #expect(c.feasible(pod(nil), plugins: [NodeAffinity(), PodTopologySpread()]) == ["a", "b"])
        // Ignore: zone C counts with 0 pods, so neither A nor B may grow.
        #expect(c.feasible(pod("Ignore"), plugins: [NodeAffinity(), PodTopologySpread()]) == [])
    }

    @Test func missingTopologyLabel() {
        let c = Cluster(nodes: [makeNode("labelled", labels: [zone: "A"]), makeNode("bare")])
        let pod = podInfo("p", labels: ["foo": "bar"]) { $0.topologySpreadConstraints = [spread(zone)] }
        let s = c.filter(pod, plugins: [PodTopologySpread()])
        #expect(s["bare"]?.message == "node(s) didn't match pod topology spread constraints (missing required label)")
        #expect(s["bare"]?.code == .unschedulableAndUnresolvable)
        #expect(s["labelled"]?.isSuccess == true)
    }

    @Test func scheduleAnywayScoresEmptierDomainsHigher() {
        let c = Self.docsCluster()
        let pod = podInfo("p", labels: ["foo": "bar"]) { $0.topologySpreadConstraints = [spread(zone, when: "ScheduleAnyway")] }
        let s = c.scores(pod, plugins: [PodTopologySpread()])
        #expect(s["node3"]! > s["node1"]!)
        #expect(s["node3"] == s["node4"])
        #expect(s["node1"] == s["node2"])
    }

    // Pods without constraints spread by hostname and zone when a Service selects them.
    @Test func clusterDefaultConstraints() {
        let c = Cluster(nodes: [makeNode("a", labels: [zone: "A"]), makeNode("b", labels: [zone: "A"])],
                        pods: (0..<3).map { makePod("web\($0)", labels: ["app": "web"], nodeName: "a") })
        let pod = podInfo("new", labels: ["app": "web"])
        // No Service: no default selector, so nothing to spread.
        let plain = c.scores(pod, plugins: [PodTopologySpread()])
        #expect(plain["a"] == plain["b"])
        c.cache.setService(CoreV1.Service(metadata: MetaV1.ObjectMeta(name: "web", namespace: "default"),
                                          spec: CoreV1.ServiceSpec(selector: ["app": "web"])))
        c.cache.updateSnapshot(c.snapshot)
        let s = c.scores(pod, plugins: [PodTopologySpread()])
        #expect(s["b"]! > s["a"]!)
        #expect(PodTopologySpread.defaultSelector(pod, c.snapshot.workloads).description == "app=web")
    }
}

@Suite("InterPodAffinity")
struct InterPodAffinityTests {
    static func term(_ labels: [String: String], _ key: String) -> CoreV1.PodAffinityTerm {
        CoreV1.PodAffinityTerm(labelSelector: selector(labels), topologyKey: key)
    }

    // pods/pod-with-pod-affinity.yaml: required affinity to security=S1 by zone, preferred
    // anti-affinity to security=S2 by hostname.
    @Test func affinityAndPreferredAntiAffinityFromTheDocs() {
        let c = Cluster(nodes: [
            makeNode("n1", labels: [zone: "V"]), makeNode("n2", labels: [zone: "V"]), makeNode("n3", labels: [zone: "W"]),
        ], pods: [makePod("s1", labels: ["security": "S1"], nodeName: "n1"), makePod("s2", labels: ["security": "S2"], nodeName: "n2")])
        let pod = podInfo("with-pod-affinity") {
            $0.affinity = CoreV1.Affinity(
                podAffinity: CoreV1.PodAffinity(requiredDuringSchedulingIgnoredDuringExecution: [Self.term(["security": "S1"], zone)]),
                podAntiAffinity: CoreV1.PodAntiAffinity(preferredDuringSchedulingIgnoredDuringExecution: [
                    CoreV1.WeightedPodAffinityTerm(podAffinityTerm: Self.term(["security": "S2"], hostname), weight: 100)]))
        }
        let statuses = c.filter(pod, plugins: [InterPodAffinity()])
        #expect(statuses["n3"]?.message == "node(s) didn't match pod affinity rules")
        #expect(c.feasible(pod, plugins: [InterPodAffinity()]) == ["n1", "n2"])
        #expect(c.scores(pod, plugins: [InterPodAffinity()], nodes: ["n1", "n2"]) == ["n1": 100, "n2": 0])
    }

    @Test func firstPodOfASelfAffineGroupMayGoAnywhere() {
        let c = Cluster(nodes: [makeNode("a", labels: [zone: "A"]), makeNode("b")])
        let pod = podInfo("p", labels: ["app": "x"]) {
            $0.affinity = CoreV1.Affinity(podAffinity: CoreV1.PodAffinity(requiredDuringSchedulingIgnoredDuringExecution: [Self.term(["app": "x"], zone)]))
        }
        #expect(c.feasible(pod, plugins: [InterPodAffinity()]) == ["a"])
        let other = podInfo("q", labels: ["app": "y"]) {
            $0.affinity = CoreV1.Affinity(podAffinity: CoreV1.PodAffinity(requiredDuringSchedulingIgnoredDuringExecution: [Self.term(["app": "x"], zone)]))
        }
        #expect(c.feasible(other, plugins: [InterPodAffinity()]) == [])
    }

    @Test func antiAffinityAndExistingPodsAntiAffinity() {
        let guarded = makePod("guard", labels: ["app": "guard"], nodeName: "a") {
            $0.affinity = CoreV1.Affinity(podAntiAffinity: CoreV1.PodAntiAffinity(requiredDuringSchedulingIgnoredDuringExecution: [
                Self.term(["app": "intruder"], hostname)]))
        }
        let c = Cluster(nodes: [makeNode("a"), makeNode("b")], pods: [guarded, makePod("web", labels: ["app": "web"], nodeName: "b")])
        let intruder = podInfo("i", labels: ["app": "intruder"])
        let s = c.filter(intruder, plugins: [InterPodAffinity()])
        #expect(s["a"]?.message == "node(s) didn't satisfy existing pods anti-affinity rules")
        #expect(s["a"]?.code == .unschedulable)
        #expect(s["b"]?.isSuccess == true)
        let shy = podInfo("s") {
            $0.affinity = CoreV1.Affinity(podAntiAffinity: CoreV1.PodAntiAffinity(requiredDuringSchedulingIgnoredDuringExecution: [
                Self.term(["app": "web"], hostname)]))
        }
        let s2 = c.filter(shy, plugins: [InterPodAffinity()])
        #expect(s2["b"]?.message == "node(s) didn't match pod anti-affinity rules")
        #expect(s2["a"]?.isSuccess == true)
    }

    @Test func namespaceSelector() {
        let c = Cluster(nodes: [makeNode("a"), makeNode("b")],
                        pods: [makePod("db", namespace: "team-a", labels: ["app": "db"], nodeName: "a"),
                               makePod("db", namespace: "team-b", labels: ["app": "db"], nodeName: "b")])
        c.cache.setNamespace(CoreV1.Namespace(metadata: MetaV1.ObjectMeta(labels: ["team": "a"], name: "team-a")))
        c.cache.setNamespace(CoreV1.Namespace(metadata: MetaV1.ObjectMeta(labels: ["team": "b"], name: "team-b")))
        c.cache.updateSnapshot(c.snapshot)
        let pod = podInfo("app", namespace: "other") {
            $0.affinity = CoreV1.Affinity(podAffinity: CoreV1.PodAffinity(requiredDuringSchedulingIgnoredDuringExecution: [
                CoreV1.PodAffinityTerm(labelSelector: selector(["app": "db"]), namespaceSelector: selector(["team": "b"]), topologyKey: hostname)]))
        }
        #expect(c.feasible(pod, plugins: [InterPodAffinity()]) == ["b"])
        // Without namespaces or a selector, a term looks in the pod's own namespace only.
        let own = podInfo("app2", namespace: "other") {
            $0.affinity = CoreV1.Affinity(podAffinity: CoreV1.PodAffinity(requiredDuringSchedulingIgnoredDuringExecution: [Self.term(["app": "db"], hostname)]))
        }
        #expect(c.feasible(own, plugins: [InterPodAffinity()]) == [])
    }

    // The docs' web-store / redis-cache example, run through the whole scheduler: caches
    // spread one per node, web servers spread and each joins a cache.
    @Test func colocatedWebStoreAndCache() {
        let core = makeCore()
        for i in 1...3 { core.addNode(makeNode("node-\(i)")) }
        for i in 0..<3 {
            core.addPod(makePod("redis-cache-\(i)", labels: ["app": "store"]) {
                $0.affinity = CoreV1.Affinity(podAntiAffinity: CoreV1.PodAntiAffinity(requiredDuringSchedulingIgnoredDuringExecution: [
                    Self.term(["app": "store"], hostname)]))
            })
        }
        let caches = core.drain()
        #expect(Set(caches.values).count == 3)
        for i in 0..<3 {
            core.addPod(makePod("web-server-\(i)", labels: ["app": "web-store"]) {
                $0.affinity = CoreV1.Affinity(
                    podAffinity: CoreV1.PodAffinity(requiredDuringSchedulingIgnoredDuringExecution: [Self.term(["app": "store"], hostname)]),
                    podAntiAffinity: CoreV1.PodAntiAffinity(requiredDuringSchedulingIgnoredDuringExecution: [Self.term(["app": "web-store"], hostname)]))
            })
        }
        let webs = core.drain()
        #expect(webs.count == 3)
        #expect(Set(webs.values) == Set(caches.values))
        // A fourth cache has nowhere to go.
        core.addPod(makePod("redis-cache-3", labels: ["app": "store"]) {
            $0.affinity = CoreV1.Affinity(podAntiAffinity: CoreV1.PodAntiAffinity(requiredDuringSchedulingIgnoredDuringExecution: [
                Self.term(["app": "store"], hostname)]))
        })
        guard case .unschedulable(_, let u)? = core.scheduleOne() else {
            Issue.record("expected unschedulable")
            return
        }
        #expect(u.message.hasPrefix("0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules."))
    }
}
