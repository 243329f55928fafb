import CapstanAPI
import CapstanSchedulerFramework
import CapstanSchedulerPlugins
import Testing

@Suite("TaintToleration")
struct TaintTolerationTests {
    // kubectl taint nodes node1 key1=value1:NoSchedule, and the tolerations of the docs.
    @Test func tolerationMatchingFromTheDocs() {
        let t = taint("key1", "value1", "NoSchedule")
        #expect(Taints.tolerates(toleration("key1", "Equal", "value1", "NoSchedule"), t))
        #expect(Taints.tolerates(toleration("key1", "Exists", nil, "NoSchedule"), t))
        #expect(!Taints.tolerates(toleration("key1", "Equal", "value2", "NoSchedule"), t))
        #expect(!Taints.tolerates(toleration("key1", "Equal", "value1", "NoExecute"), t))
        // An empty key with Exists matches every taint; an empty effect every effect.
        #expect(Taints.tolerates(toleration(nil, "Exists"), t))
        #expect(Taints.tolerates(toleration("key1", "Equal", "value1", nil), t))
        // An empty operator means Equal.
        #expect(Taints.tolerates(CoreV1.Toleration(effect: "NoSchedule", key: "key1", value: "value1"), t))
    }

    @Test func untoleratedTaintKeepsPodOff() {
        let c = Cluster(nodes: [makeNode("node1", taints: [taint("key1", "value1")]), makeNode("node2")])
        let statuses = c.filter(podInfo("p"), plugins: [TaintToleration()])
        #expect(statuses["node2"]?.isSuccess == true)
        #expect(statuses["node1"]?.code == .unschedulableAndUnresolvable)
        #expect(statuses["node1"]?.message == "node(s) had untolerated taint {key1: value1}")
        let tolerating = podInfo("q") { $0.tolerations = [toleration("key1", "Equal", "value1", "NoSchedule")] }
        #expect(c.feasible(tolerating, plugins: [TaintToleration()]) == ["node1", "node2"])
    }

    // The docs' three-taint example: tolerating two of three taints is not enough.
    @Test func allTaintsMustBeTolerated() {
        let c = Cluster(nodes: [makeNode("node1", taints: [taint("key1", "value1", "NoSchedule"), taint("key1", "value1", "NoExecute"),
                                                           taint("key2", "value1", "NoSchedule")])])
        let pod = podInfo("p") {
            $0.tolerations = [toleration("key1", "Equal", "value1", "NoSchedule"), toleration("key1", "Equal", "value1", "NoExecute")]
        }
        let s = c.filter(pod, plugins: [TaintToleration()])["node1"]
        #expect(s?.message == "node(s) had untolerated taint {key2: value1}")
        // PreferNoSchedule taints never filter.
        let soft = Cluster(nodes: [makeNode("n", taints: [taint("k", "v", "PreferNoSchedule")])])
        #expect(soft.feasible(podInfo("p"), plugins: [TaintToleration()]) == ["n"])
    }

    @Test func preferNoScheduleScoring() {
        let c = Cluster(nodes: [
            makeNode("a"),
            makeNode("b", taints: [taint("k1", "v", "PreferNoSchedule")]),
            makeNode("c", taints: [taint("k1", "v", "PreferNoSchedule"), taint("k2", "v", "PreferNoSchedule")]),
        ])
        let s = c.scores(podInfo("p"), plugins: [TaintToleration()])
        #expect(s == ["a": 100, "b": 50, "c": 0])
        let tolerant = podInfo("t") { $0.tolerations = [toleration("k2", "Exists", nil, "PreferNoSchedule")] }
        #expect(c.scores(tolerant, plugins: [TaintToleration()]) == ["a": 100, "b": 0, "c": 0])
    }
}

@Suite("NodeName, NodeUnschedulable, NodePorts")
struct SimpleFilterTests {
    @Test func nodeName() {
        let c = Cluster(nodes: [makeNode("a"), makeNode("b")])
        let statuses = c.filter(podInfo("p", nodeName: "b"), plugins: [NodeName()])
        #expect(statuses["b"]?.isSuccess == true)
        #expect(statuses["a"]?.message == "node(s) didn't match the requested node name")
        #expect(c.feasible(podInfo("q"), plugins: [NodeName()]) == ["a", "b"])
    }

    @Test func cordonedNode() {
        let c = Cluster(nodes: [makeNode("a", unschedulable: true), makeNode("b")])
        let statuses = c.filter(podInfo("p"), plugins: [NodeUnschedulable()])
        #expect(statuses["a"]?.message == "node(s) were unschedulable")
        #expect(statuses["a"]?.code == .unschedulableAndUnresolvable)
        let tolerant = podInfo("t") { $0.tolerations = [toleration("node.kubernetes.io/unschedulable", "Exists", nil, "NoSchedule")] }
        #expect(c.feasible(tolerant, plugins: [NodeUnschedulable()]) == ["a", "b"])
    }

    @Test func hostPorts() {
        let existing = makePod("web", nodeName: "a") { $0.containers = [container(hostPort: 8080)] }
        let c = Cluster(nodes: [makeNode("a"), makeNode("b")], pods: [existing])
        let same = podInfo("p") { $0.containers = [container(hostPort: 8080)] }
        let statuses = c.filter(same, plugins: [NodePorts()])
        #expect(statuses["a"]?.message == "node(s) didn't have free ports for the requested pod ports")
        #expect(statuses["a"]?.code == .unschedulable)
        #expect(statuses["b"]?.isSuccess == true)
        let other = podInfo("q") { $0.containers = [container(hostPort: 9090)] }
        #expect(c.feasible(other, plugins: [NodePorts()]) == ["a", "b"])
        // 0.0.0.0 conflicts with a specific address on the same port and protocol.
        var info = HostPortInfo()
        info.add(HostPort(ip: "10.0.0.1", protocol: "TCP", port: 80))
        #expect(info.conflicts(HostPort(ip: nil, protocol: nil, port: 80)))
        #expect(!info.conflicts(HostPort(ip: "10.0.0.2", protocol: "TCP", port: 80)))
        #expect(!info.conflicts(HostPort(ip: nil, protocol: "UDP", port: 80)))
    }
}

@Suite("NodeResourcesFit and BalancedAllocation")
struct ResourceTests {
    // The example in Kubernetes' computePodResourceRequest: init containers run one at a time.
    @Test func effectiveRequestsWithInitContainers() {
        let pod = podInfo("p") {
            $0.initContainers = [container("ic1", cpu: "2", memory: "1G"), container("ic2", cpu: "2", memory: "3G")]
            $0.containers = [container("c1", cpu: "2", memory: "1G"), container("c2", cpu: "1", memory: "1G")]
        }
        #expect(pod.requests.milliCPU == 3000)
        #expect(pod.requests.memory == 3_000_000_000)
    }

    // Sidecars (restartable init containers) keep running: they add to everything after them.
    @Test func effectiveRequestsWithSidecarsAndOverhead() {
        let pod = podInfo("p") {
            $0.initContainers = [container("sidecar", cpu: "1", restartPolicy: "Always"), container("setup", cpu: "3")]
            $0.containers = [container("app", cpu: "1")]
        }
        // max(app + sidecar = 2, setup + sidecar = 4)
        #expect(pod.requests.milliCPU == 4000)
        let withOverhead = podInfo("o", cpu: "500m") { $0.overhead = ["cpu": "250m", "memory": "120Mi"] }
        #expect(withOverhead.requests.milliCPU == 750)
        #expect(withOverhead.requests.memory == 120 * 1024 * 1024)
        // Scoring counts 100m / 200Mi for a container without requests.
        #expect(podInfo("e").nonZeroRequests.milliCPU == 100)
        #expect(podInfo("e").nonZeroRequests.memory == 200 * 1024 * 1024)
    }

    @Test func insufficientResources() {
        let c = Cluster(nodes: [makeNode("a", cpu: "4", memory: "8Gi", pods: 2, extended: ["example.com/gpu": "2"])],
                        pods: [makePod("x", cpu: "3", nodeName: "a")])
        func reasons(_ p: PodInfo, _ fit: NodeResourcesFit = NodeResourcesFit()) -> [String] {
            c.filter(p, plugins: [fit])["a"]!.reasons
        }
        #expect(reasons(podInfo("p", cpu: "1")) == [])
        #expect(reasons(podInfo("p", cpu: "2", memory: "9Gi")) == ["Insufficient cpu", "Insufficient memory"])
        let gpu = podInfo("g") { $0.containers = [container(extended: ["example.com/gpu": "3"])] }
        #expect(reasons(gpu) == ["Insufficient example.com/gpu"])
        #expect(reasons(gpu, NodeResourcesFit(ignoredResourceGroups: ["example.com"])) == [])
        c.add(makePod("y", nodeName: "a"))
        #expect(reasons(podInfo("p")) == ["Too many pods"])
    }

    @Test func scoringStrategies() {
        let c = Cluster(nodes: [makeNode("a", cpu: "4", memory: "10000")])
        let pod = podInfo("p", cpu: "1", memory: "2000")
        // cpu (4000-1000)*100/4000 = 75, memory (10000-2000)*100/10000 = 80 -> 77
        #expect(c.scores(pod, plugins: [NodeResourcesFit()])["a"] == 77)
        // cpu 25, memory 20 -> 22
        #expect(c.scores(pod, plugins: [NodeResourcesFit(scoringStrategy: ScoringStrategy(.mostAllocated))])["a"] == 22)
        let shape = [UtilizationShapePoint(utilization: 0, score: 0), UtilizationShapePoint(utilization: 100, score: 10)]
        #expect(c.scores(pod, plugins: [NodeResourcesFit(scoringStrategy: ScoringStrategy(.requestedToCapacityRatio(shape)))])["a"] == 23)
        // Fractions 0.25 and 0.2: std 0.025 -> 97.
        #expect(c.scores(pod, plugins: [NodeResourcesBalancedAllocation()])["a"] == 97)
    }

    @Test func leastAllocatedPrefersEmptierNode() {
        let c = Cluster(nodes: [makeNode("busy"), makeNode("idle")], pods: [makePod("x", cpu: "3", memory: "6Gi", nodeName: "busy")])
        let s = c.scores(podInfo("p", cpu: "500m", memory: "512Mi"), plugins: [NodeResourcesFit()])
        #expect(s["idle"]! > s["busy"]!)
    }
}

@Suite("NodeAffinity")
struct NodeAffinityTests {
    static func requirement(_ key: String, _ op: String, _ values: [String]? = nil) -> CoreV1.NodeSelectorRequirement {
        CoreV1.NodeSelectorRequirement(key: key, operator: op, values: values)
    }

    // pods/pod-with-node-affinity.yaml
    @Test func requiredAndPreferredFromTheDocs() {
        let c = Cluster(nodes: [
            makeNode("east", labels: ["topology.kubernetes.io/zone": "antarctica-east1", "another-node-label-key": "another-node-label-value"]),
            makeNode("west", labels: ["topology.kubernetes.io/zone": "antarctica-west1"]),
            makeNode("north", labels: ["topology.kubernetes.io/zone": "arctic-north1"]),
        ])
        let pod = podInfo("with-node-affinity") {
            $0.affinity = CoreV1.Affinity(nodeAffinity: CoreV1.NodeAffinity(
                preferredDuringSchedulingIgnoredDuringExecution: [CoreV1.PreferredSchedulingTerm(
                    preference: CoreV1.NodeSelectorTerm(matchExpressions: [Self.requirement("another-node-label-key", "In", ["another-node-label-value"])]),
                    weight: 1)],
                requiredDuringSchedulingIgnoredDuringExecution: CoreV1.NodeSelector(nodeSelectorTerms: [CoreV1.NodeSelectorTerm(
                    matchExpressions: [Self.requirement("topology.kubernetes.io/zone", "In", ["antarctica-east1", "antarctica-west1"])])])))
        }
        let statuses = c.filter(pod, plugins: [NodeAffinity()])
        #expect(statuses["north"]?.message == "node(s) didn't match Pod's node affinity/selector")
        #expect(statuses["north"]?.code == .unschedulableAndUnresolvable)
        #expect(c.feasible(pod, plugins: [NodeAffinity()]) == ["east", "west"])
        #expect(c.scores(pod, plugins: [NodeAffinity()], nodes: ["east", "west"]) == ["east": 100, "west": 0])
    }

    // pods/pod-with-affinity-preferred-weight.yaml: the heavier preference wins.
    @Test func preferenceWeights() {
        let c = Cluster(nodes: [
            makeNode("n1", labels: ["kubernetes.io/os": "linux", "label-1": "key-1"]),
            makeNode("n2", labels: ["kubernetes.io/os": "linux", "label-2": "key-2"]),
        ])
        let pod = podInfo("with-affinity-preferred-weight") {
            $0.affinity = CoreV1.Affinity(nodeAffinity: CoreV1.NodeAffinity(
                preferredDuringSchedulingIgnoredDuringExecution: [
                    CoreV1.PreferredSchedulingTerm(preference: CoreV1.NodeSelectorTerm(matchExpressions: [Self.requirement("label-1", "In", ["key-1"])]), weight: 1),
                    CoreV1.PreferredSchedulingTerm(preference: CoreV1.NodeSelectorTerm(matchExpressions: [Self.requirement("label-2", "In", ["key-2"])]), weight: 50),
                ],
                requiredDuringSchedulingIgnoredDuringExecution: CoreV1.NodeSelector(nodeSelectorTerms: [CoreV1.NodeSelectorTerm(
                    matchExpressions: [Self.requirement("kubernetes.io/os", "In", ["linux"])])])))
        }
        #expect(c.scores(pod, plugins: [NodeAffinity()]) == ["n1": 2, "n2": 100])
    }

    @Test func nodeSelectorGtAndNodeNames() {
        let c = Cluster(nodes: [
            makeNode("ssd", labels: ["disktype": "ssd", "cores": "8"]),
            makeNode("hdd", labels: ["disktype": "hdd", "cores": "2"]),
        ])
        let bySelector = podInfo("p") { $0.nodeSelector = ["disktype": "ssd"] }
        #expect(c.feasible(bySelector, plugins: [NodeAffinity()]) == ["ssd"])
        let byGt = podInfo("q") {
            $0.affinity = CoreV1.Affinity(nodeAffinity: CoreV1.NodeAffinity(requiredDuringSchedulingIgnoredDuringExecution:
                CoreV1.NodeSelector(nodeSelectorTerms: [CoreV1.NodeSelectorTerm(matchExpressions: [Self.requirement("cores", "Gt", ["4"])])])))
        }
        #expect(c.feasible(byGt, plugins: [NodeAffinity()]) == ["ssd"])
        // metadata.name pins narrow the cycle in PreFilter.
        let byName = podInfo("r") {
            $0.affinity = CoreV1.Affinity(nodeAffinity: CoreV1.NodeAffinity(requiredDuringSchedulingIgnoredDuringExecution:
                CoreV1.NodeSelector(nodeSelectorTerms: [CoreV1.NodeSelectorTerm(matchFields: [Self.requirement("metadata.name", "In", ["hdd"])])])))
        }
        let fw = Framework(profile: Profile(plugins: [NodeAffinity()]))
        let (result, status, _) = fw.runPreFilterPlugins(state: CycleState(snapshot: c.snapshot), pod: byName)
        #expect(status.isSuccess)
        #expect(result?.nodeNames == ["hdd"])
        #expect(c.feasible(byName, plugins: [NodeAffinity()]) == ["hdd"])
        // An empty term matches nothing.
        let empty = podInfo("s") {
            $0.affinity = CoreV1.Affinity(nodeAffinity: CoreV1.NodeAffinity(requiredDuringSchedulingIgnoredDuringExecution:
                CoreV1.NodeSelector(nodeSelectorTerms: [CoreV1.NodeSelectorTerm()])))
        }
        #expect(c.feasible(empty, plugins: [NodeAffinity()]) == [])
    }
}

@Suite("ImageLocality")
struct ImageLocalityTests {
    @Test func prefersNodesWithTheImage() {
        let mb: Int64 = 1024 * 1024
        let c = Cluster(nodes: [makeNode("has", images: [(["nginx:1.25"], 300 * mb)]), makeNode("lacks")])
        let pod = podInfo("p") { $0.containers = [container(image: "nginx:1.25")] }
        // 300 MB x 1/2 of the nodes = 150 MB: 100 x (150 - 23) / (1000 - 23) = 12.
        #expect(c.scores(pod, plugins: [ImageLocality()]) == ["has": 12, "lacks": 0])
        #expect(PodInfo.normalizedImageName("nginx") == "nginx:latest")
        #expect(PodInfo.normalizedImageName("localhost:5000/app") == "localhost:5000/app:latest")
        #expect(PodInfo.normalizedImageName("nginx:1.25") == "nginx:1.25")
    }
}
