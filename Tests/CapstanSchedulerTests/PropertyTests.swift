import CapstanAPI
import CapstanSchedulerFramework
import CapstanSchedulerPlugins
import Testing

/// Random clusters and pods: whatever the scheduler decides must pass independent checks.
@Suite("Properties", .tags(.property))
struct PropertyTests {
    static let zones = ["z0", "z1", "z2"]

    static func randomCluster(_ rng: inout SplitMix64) -> [CoreV1.Node] {
        (0..<(5 + rng.next(below: 30))).map { i in
            var taints: [CoreV1.Taint] = []
            if rng.next(below: 5) == 0 { taints.append(taint("dedicated", "x")) }
            if rng.next(below: 8) == 0 { taints.append(taint("flaky", "yes", "PreferNoSchedule")) }
            return makeNode("n\(i)", cpu: ["1", "2", "4", "8"][rng.next(below: 4)], memory: ["2Gi", "4Gi", "16Gi"][rng.next(below: 3)],
                            pods: 3 + rng.next(below: 15),
                            labels: ["topology.kubernetes.io/zone": zones[rng.next(below: 3)], "disk": rng.next(below: 2) == 0 ? "ssd" : "hdd"],
                            taints: taints, unschedulable: rng.next(below: 20) == 0)
        }
    }

    static func randomPod(_ i: Int, _ rng: inout SplitMix64) -> CoreV1.Pod {
        let cpu = ["50m", "100m", "250m", "500m", "1", "2"][rng.next(below: 6)]
        let memory = ["64Mi", "256Mi", "1Gi", "3Gi"][rng.next(below: 4)]
        let app = ["a", "b", "c", "d"][rng.next(below: 4)]
        let r = (tolerate: rng.next(below: 3) == 0, selectDisk: rng.next(below: 5) == 0, port: rng.next(below: 15) == 0,
                 anti: rng.next(below: 6) == 0, sidecar: rng.next(below: 10) == 0)
        return makePod("p\(i)", cpu: cpu, memory: memory, labels: ["app": app]) { spec in
            if r.tolerate { spec.tolerations = [toleration("dedicated", "Exists")] }
            if r.selectDisk { spec.nodeSelector = ["disk": "ssd"] }
            if r.port { spec.containers.append(container("port", hostPort: 8080)) }
            if r.sidecar { spec.initContainers = [container("side", cpu: "100m", memory: "64Mi", restartPolicy: "Always")] }
            if r.anti {
                spec.affinity = CoreV1.Affinity(podAntiAffinity: CoreV1.PodAntiAffinity(requiredDuringSchedulingIgnoredDuringExecution: [
                    CoreV1.PodAffinityTerm(labelSelector: selector(["app": app]), topologyKey: "kubernetes.io/hostname")]))
            }
        }
    }

    @Test(arguments: 0..<24)
    func neverBindsWhereAFilterFailsNorOvercommits(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        let nodes = Self.randomCluster(&rng)
        let core = makeCore(seed: seed)
        for n in nodes { core.addNode(n) }
        let pods = (0..<(50 + rng.next(below: 250))).map { Self.randomPod($0, &rng) }
        for p in pods { core.addPod(p) }
        let placed = core.drain()
        #expect(!placed.isEmpty)
        let byName = Dictionary(uniqueKeysWithValues: pods.map { ($0.metadata!.name!, $0) })
        var onNode: [String: [CoreV1.Pod]] = [:]
        for (pod, node) in placed { onNode[node, default: []].append(byName[pod]!) }
        for n in nodes {
            let name = n.metadata!.name!
            let here = onNode[name] ?? []
            if here.isEmpty { continue }
            let alloc = Resource(n.status?.allocatable)
            var used = Resource()
            for p in here { used.add(PodResources.requests(p.spec)) }
            #expect(used.milliCPU <= alloc.milliCPU, "cpu overcommitted on \(name)")
            #expect(used.memory <= alloc.memory, "memory overcommitted on \(name)")
            #expect(here.count <= alloc.allowedPodNumber, "too many pods on \(name)")
            var ports = 0
            for p in here {
                let spec = p.spec!
                let tolerates = !(spec.tolerations ?? []).isEmpty
                for t in n.spec?.taints ?? [] where t.effect == "NoSchedule" { #expect(tolerates, "\(p.metadata!.name!) on tainted \(name)") }
                #expect(n.spec?.unschedulable != true, "\(p.metadata!.name!) on cordoned \(name)")
                for (k, v) in spec.nodeSelector ?? [:] { #expect(n.metadata?.labels?[k] == v) }
                if spec.containers.contains(where: { $0.ports != nil }) { ports += 1 }
                if let anti = spec.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.first {
                    let app = anti.labelSelector!.matchLabels!["app"]!
                    let others = here.filter { $0.metadata!.name != p.metadata!.name && $0.metadata!.labels?["app"] == app }
                    #expect(others.isEmpty, "\(p.metadata!.name!) shares \(name) with an app=\(app) pod")
                }
            }
            #expect(ports <= 1, "host port 8080 bound twice on \(name)")
        }
        // Every pod left over must really not fit anywhere now: nothing in active.
        #expect(core.queue.activeCount == 0)
    }

    @Test(arguments: 0..<16)
    func spreadSkewStaysWithinMaxSkew(seed: UInt64) {
        var rng = SplitMix64(seed: seed &+ 1000)
        let core = makeCore(seed: seed)
        var nodeZone: [String: String] = [:]
        for (zi, z) in Self.zones.enumerated() {
            for j in 0..<(1 + rng.next(below: 4)) {
                let name = "n\(zi)-\(j)"
                nodeZone[name] = z
                core.addNode(makeNode(name, cpu: "64", memory: "256Gi", labels: ["topology.kubernetes.io/zone": z]))
            }
        }
        let zoneSkew = Int32(1 + rng.next(below: 3))
        let hostSkew = Int32(1 + rng.next(below: 2))
        let count = 20 + rng.next(below: 60)
        for i in 0..<count {
            core.addPod(makePod("s\(i)", cpu: "100m", labels: ["app": "spread"]) {
                $0.topologySpreadConstraints = [
                    CoreV1.TopologySpreadConstraint(labelSelector: selector(["app": "spread"]), maxSkew: zoneSkew,
                                                    topologyKey: "topology.kubernetes.io/zone", whenUnsatisfiable: "DoNotSchedule"),
                    CoreV1.TopologySpreadConstraint(labelSelector: selector(["app": "spread"]), maxSkew: hostSkew,
                                                    topologyKey: "kubernetes.io/hostname", whenUnsatisfiable: "DoNotSchedule"),
                ]
            })
            // Unrelated pods in between.
            if rng.next(below: 3) == 0 { core.addPod(makePod("other\(i)", cpu: "100m", labels: ["app": "other"])) }
            if rng.next(below: 4) == 0 { core.drain() }
        }
        let placed = core.drain()
        _ = placed
        var perZone = Dictionary(uniqueKeysWithValues: Self.zones.map { ($0, 0) })
        var perNode = nodeZone.mapValues { _ in 0 }
        for node in nodeZone.keys {
            let n = core.cache.nodeInfo(node)!
            let spread = n.pods.filter { $0.labels["app"] == "spread" }.count
            perNode[node] = spread
            perZone[nodeZone[node]!]! += spread
        }
        let total = perZone.values.reduce(0, +)
        #expect(total > 0)
        #expect(perZone.values.max()! - perZone.values.min()! <= Int(zoneSkew), "zones \(perZone) maxSkew \(zoneSkew)")
        #expect(perNode.values.max()! - perNode.values.min()! <= Int(hostSkew), "nodes \(perNode) maxSkew \(hostSkew)")
    }
}
