import CapstanAPI
import CapstanSchedulerFramework
import CapstanSchedulerPlugins
import Synchronization
import Testing

extension Tag {
    @Tag static var benchmark: Self
    @Tag static var property: Self
}

/// A clock that moves only when the test advances it.
final class ManualClock: Clock, Sendable {
    struct Instant: InstantProtocol {
        var offset: Duration
        func advanced(by d: Duration) -> Instant { Instant(offset: offset + d) }
        func duration(to other: Instant) -> Duration { other.offset - offset }
        static func < (a: Instant, b: Instant) -> Bool { a.offset < b.offset }
    }

    private let current = Mutex(Instant(offset: .zero))
    var now: Instant { current.withLock { $0 } }
    var minimumResolution: Duration { .zero }
    func sleep(until deadline: Instant, tolerance: Duration?) async throws {
        preconditionFailure("tests never sleep")
    }
    func advance(by d: Duration) { current.withLock { $0 = $0.advanced(by: d) } }
    var schedulerClock: SchedulerClock { SchedulerClock(self) }
}

// MARK: Builders

func makeNode(_ name: String, cpu: String = "4", memory: String = "8Gi", pods: Int = 110, labels: [String: String] = [:],
              taints: [CoreV1.Taint] = [], unschedulable: Bool = false, extended: [String: String] = [:],
              images: [(names: [String], size: Int64)] = []) -> CoreV1.Node {
    var allocatable: [String: Quantity] = ["cpu": Quantity(stringLiteral: cpu), "memory": Quantity(stringLiteral: memory),
                                           "pods": Quantity(Int64(pods))]
    for (k, v) in extended { allocatable[k] = Quantity(stringLiteral: v) }
    var l = labels
    l["kubernetes.io/hostname"] = l["kubernetes.io/hostname"] ?? name
    return CoreV1.Node(
        metadata: MetaV1.ObjectMeta(labels: l, name: name, uid: "node-" + name),
        spec: CoreV1.NodeSpec(taints: taints.isEmpty ? nil : taints, unschedulable: unschedulable ? true : nil),
        status: CoreV1.NodeStatus(allocatable: allocatable, capacity: allocatable,
                                  images: images.isEmpty ? nil : images.map { CoreV1.ContainerImage(names: $0.names, sizeBytes: $0.size) }))
}

func container(_ name: String = "c", cpu: String? = nil, memory: String? = nil, image: String? = "registry.k8s.io/pause:3.10",
               extended: [String: String] = [:], hostPort: Int32? = nil, restartPolicy: String? = nil) -> CoreV1.Container {
    var req: [String: Quantity] = [:]
    if let cpu { req["cpu"] = Quantity(stringLiteral: cpu) }
    if let memory { req["memory"] = Quantity(stringLiteral: memory) }
    for (k, v) in extended { req[k] = Quantity(stringLiteral: v) }
    return CoreV1.Container(image: image, name: name, ports: hostPort.map { [CoreV1.ContainerPort(containerPort: 80, hostPort: $0)] },
                            resources: req.isEmpty ? nil : CoreV1.ResourceRequirements(requests: req), restartPolicy: restartPolicy)
}

func makePod(_ name: String, namespace: String = "default", cpu: String? = nil, memory: String? = nil, labels: [String: String] = [:],
             nodeName: String? = nil, priority: Int32? = nil, configure: (inout CoreV1.PodSpec) -> Void = { _ in }) -> CoreV1.Pod {
    var spec = CoreV1.PodSpec(containers: [container(cpu: cpu, memory: memory)])
    spec.nodeName = nodeName
    spec.priority = priority
    configure(&spec)
    return CoreV1.Pod(metadata: MetaV1.ObjectMeta(labels: labels.isEmpty ? nil : labels, name: name, namespace: namespace,
                                                  uid: "uid-\(namespace)-\(name)"),
                      spec: spec)
}

func podInfo(_ name: String, namespace: String = "default", cpu: String? = nil, memory: String? = nil, labels: [String: String] = [:],
             nodeName: String? = nil, priority: Int32? = nil, configure: (inout CoreV1.PodSpec) -> Void = { _ in }) -> PodInfo {
    PodInfo(makePod(name, namespace: namespace, cpu: cpu, memory: memory, labels: labels, nodeName: nodeName, priority: priority,
                    configure: configure))
}

func taint(_ key: String, _ value: String? = nil, _ effect: String = "NoSchedule") -> CoreV1.Taint {
    CoreV1.Taint(effect: effect, key: key, value: value)
}

func toleration(_ key: String?, _ op: String? = "Equal", _ value: String? = nil, _ effect: String? = nil) -> CoreV1.Toleration {
    CoreV1.Toleration(effect: effect, key: key, operator: op, value: value)
}

func selector(_ labels: [String: String]) -> MetaV1.LabelSelector { MetaV1.LabelSelector(matchLabels: labels) }

/// A cluster in a cache and a snapshot, for plugin-level tests.
final class Cluster {
    let cache = SchedulerCache(clock: ManualClock().schedulerClock)
    let snapshot = Snapshot()

    init(nodes: [CoreV1.Node], pods: [CoreV1.Pod] = []) {
        for n in nodes { cache.addNode(n) }
        for p in pods { cache.addPod(PodInfo(p)) }
        cache.updateSnapshot(snapshot)
    }

    func add(_ pod: CoreV1.Pod) {
        cache.addPod(PodInfo(pod))
        cache.updateSnapshot(snapshot)
    }

    func node(_ name: String) -> NodeInfo { snapshot.get(name)! }

    /// Runs PreFilter then Filter of `plugins` (as a profile) for `pod` on every node.
    func filter(_ pod: PodInfo, plugins: [any Plugin]) -> [String: Status] {
        let fw = Framework(profile: Profile(plugins: plugins))
        let state = CycleState(snapshot: snapshot)
        let (res, s, _) = fw.runPreFilterPlugins(state: state, pod: pod)
        var out: [String: Status] = [:]
        for n in snapshot.nodeInfoList {
            if !s.isSuccess { out[n.name] = s; continue }
            if let names = res?.nodeNames, !names.contains(n.name) {
                out[n.name] = Status(.unschedulableAndUnresolvable, reason: "excluded by PreFilter")
                continue
            }
            out[n.name] = fw.runFilterPlugins(state: state, pod: pod, node: n)
        }
        return out
    }

    /// Nodes that pass `plugins`' filters, sorted.
    func feasible(_ pod: PodInfo, plugins: [any Plugin]) -> [String] {
        filter(pod, plugins: plugins).filter { $0.value.isSuccess }.map(\.key).sorted()
    }

    /// Weighted, normalised scores of `plugins` for `pod` over `nodes` (default: all).
    func scores(_ pod: PodInfo, plugins: [any Plugin], weights: [String: Int64] = [:], nodes: [String]? = nil) -> [String: Int64] {
        let fw = Framework(profile: Profile(plugins: plugins, scoreWeights: weights))
        let state = CycleState(snapshot: snapshot)
        let list = nodes.map { $0.map { node($0) } } ?? snapshot.nodeInfoList
        _ = fw.runPreFilterPlugins(state: state, pod: pod)
        let pre = fw.runPreScorePlugins(state: state, pod: pod, nodes: list)
        precondition(pre.isSuccess, "\(pre)")
        let (totals, s) = fw.runScorePlugins(state: state, pod: pod, nodes: list)
        precondition(s.isSuccess, "\(s)")
        return Dictionary(uniqueKeysWithValues: zip(list.map(\.name), totals))
    }
}

/// A scheduler core with the default profile on a manual clock.
func makeCore(clock: ManualClock = ManualClock(), seed: UInt64 = 1, percentageOfNodesToScore: Int32 = 0) -> SchedulerCore {
    var config = SchedulerCore.Configuration()
    config.seed = seed
    config.percentageOfNodesToScore = percentageOfNodesToScore
    return SchedulerCore(profiles: [DefaultPlugins.profile()], clock: clock.schedulerClock, configuration: config)
}

extension SchedulerCore {
    /// Schedules until the active queue is empty, confirming every binding; returns pod -> node.
    @discardableResult
    func drain(maxCycles: Int = 1_000_000) -> [String: String] {
        var placed: [String: String] = [:]
        var cycles = 0
        while cycles < maxCycles, let outcome = scheduleOne() {
            cycles += 1
            if case .bind(let task) = outcome {
                bindingSucceeded(task)
                var p = task.pod.pod
                p.spec?.nodeName = task.nodeName
                addPod(p)
                placed[task.pod.name] = task.nodeName
            }
        }
        return placed
    }
}
