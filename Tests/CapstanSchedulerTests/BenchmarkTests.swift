import CapstanAPI
import CapstanSchedulerFramework
import CapstanSchedulerPlugins
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Micro-benchmarks: schedule many pods through the whole core (queue, snapshot, filters,
/// scores, assume, confirm) to catch pathological complexity. They print times; they do not
/// assert them. Larger shapes run when CAPSTAN_SCHED_BENCH=1.
@Suite("Scheduling micro-benchmark", .tags(.benchmark))
struct BenchmarkTests {
    enum Workload: String, CaseIterable { case basic, spread, affinity }

    static func run(nodes: Int, pods: Int, workload: Workload) -> (seconds: Double, placed: Int) {
        let core = makeCore(seed: 42)
        for i in 0..<nodes {
            core.addNode(makeNode("node-\(i)", cpu: "32", memory: "256Gi", pods: 110,
                                  labels: ["topology.kubernetes.io/zone": "zone-\(i % 10)"]))
        }
        let podObjects = (0..<pods).map { i in
            makePod("pod-\(i)", cpu: "100m", memory: "128Mi", labels: ["app": "bench", "shard": "s\(i % 50)"]) { spec in
                switch workload {
                case .basic:
                    break
                case .spread:
                    spec.topologySpreadConstraints = [CoreV1.TopologySpreadConstraint(
                        labelSelector: selector(["app": "bench"]), maxSkew: 1, topologyKey: "topology.kubernetes.io/zone",
                        whenUnsatisfiable: "DoNotSchedule")]
                case .affinity:
                    spec.affinity = CoreV1.Affinity(podAntiAffinity: CoreV1.PodAntiAffinity(requiredDuringSchedulingIgnoredDuringExecution: [
                        CoreV1.PodAffinityTerm(labelSelector: selector(["shard": "s\(i % 50)"]), topologyKey: "kubernetes.io/hostname")]))
                }
            }
        }
        let clock = ContinuousClock()
        let start = clock.now
        for p in podObjects { core.addPod(p) }
        var placed = 0
        while let outcome = core.scheduleOne() {
            guard case .bind(let task) = outcome else { continue }
            core.bindingSucceeded(task)
            var bound = task.pod.pod
            bound.spec?.nodeName = task.nodeName
            core.updatePod(old: task.pod.pod, new: bound)
            placed += 1
        }
        let d = start.duration(to: clock.now)
        let seconds = Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
        print("scheduler micro-benchmark workload=\(workload.rawValue) nodes=\(nodes) pods=\(pods) placed=\(placed) "
              + "seconds=\((seconds * 1000).rounded() / 1000) pods_per_s=\(Int(Double(placed) / seconds))")
        return (seconds, placed)
    }

    @Test func twoThousandPodsOnFiveHundredNodes() {
        let r = Self.run(nodes: 500, pods: 2000, workload: .basic)
        #expect(r.placed == 2000)
    }

    @Test(arguments: Workload.allCases)
    func largeShapes(_ workload: Workload) {
        guard getenv("CAPSTAN_SCHED_BENCH") != nil else { return }
        let r = Self.run(nodes: 5000, pods: 10_000, workload: workload)
        #expect(r.placed == 10_000)
    }
}
