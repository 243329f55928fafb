import CapstanAPI

/// The facts of a pod the simulator acts on, read from its JSON.
struct SimulatedPod: Sendable {
    struct Container: Sendable {
        var name: String
        var image: String
    }

    var uid: String
    var namespace: String
    var name: String
    var nodeName: String
    var phase: String
    var isTerminating: Bool
    var completeAfter: String?
    var failAfter: String?
    var containers: [Container]
    var initContainers: [Container]

    init?(_ json: JSONValue) {
        guard let meta = json["metadata"], let name = meta["name"]?.stringValue, let spec = json["spec"] else { return nil }
        self.name = name
        namespace = meta["namespace"]?.stringValue ?? "default"
        uid = meta["uid"]?.stringValue ?? (namespace + "/" + name)
        nodeName = spec["nodeName"]?.stringValue ?? ""
        phase = json["status"]?["phase"]?.stringValue ?? ""
        isTerminating = meta["deletionTimestamp"].map { $0 != .null } ?? false
        let annotations = meta["annotations"]
        completeAfter = annotations?[NodeSimulator.completeAfterAnnotation]?.stringValue
        failAfter = annotations?[NodeSimulator.failAfterAnnotation]?.stringValue
        func list(_ key: String) -> [Container] {
            (spec[key]?.arrayValue ?? []).compactMap { c in
                c["name"]?.stringValue.map { Container(name: $0, image: c["image"]?.stringValue ?? "") }
            }
        }
        containers = list("containers")
        initContainers = list("initContainers")
    }

    var key: String { namespace + "/" + name }
}

/// What the simulator does for each pod on its nodes, decided without IO: start a bound pod
/// after the start-up delay, end it when its annotation says so, finalize it once deleted.
struct PodTracker {
    enum Stage: Equatable {
        case starting
        case running
        case finishing
        case finalizing
    }

    enum Action: Sendable {
        /// Write Running status at `at` (time since the simulator started).
        case start(SimulatedPod, at: Duration)
        /// Write Succeeded/Failed at `at`.
        case finish(SimulatedPod, succeeded: Bool, at: Duration)
        /// DELETE with gracePeriodSeconds=0, now.
        case finalize(SimulatedPod)
        /// An annotation could not be parsed.
        case invalidAnnotation(SimulatedPod, SimulatorInputError)
    }

    let podStartup: Duration
    private(set) var stages: [String: Stage] = [:]

    init(podStartup: Duration) {
        self.podStartup = podStartup
    }

    /// A pod of one of our nodes was seen (added, modified, listed).
    mutating func observe(_ pod: SimulatedPod, now: Duration) -> Action? {
        let stage = stages[pod.uid]
        if pod.isTerminating {
            if stage == .finalizing { return nil }
            stages[pod.uid] = .finalizing
            return .finalize(pod)
        }
        switch pod.phase {
        case "Succeeded", "Failed":
            stages[pod.uid] = nil
            return nil
        case "Running":
            if stage == .running || stage == .finishing { return nil }
            let (after, succeeded) = pod.completeAfter.map { ($0, true) } ?? pod.failAfter.map { ($0, false) } ?? (nil, true)
            guard let after else {
                stages[pod.uid] = .running
                return nil
            }
            do {
                let d = try SimulatorParsing.duration(after)
                stages[pod.uid] = .finishing
                return .finish(pod, succeeded: succeeded, at: now + d)
            } catch {
                stages[pod.uid] = .running
                return .invalidAnnotation(pod, error)
            }
        default:
            if stage != nil { return nil }
            stages[pod.uid] = .starting
            return .start(pod, at: now + podStartup)
        }
    }

    /// A write for the pod failed: forget it, so the next event decides again.
    mutating func forget(uid: String) {
        stages[uid] = nil
    }

    /// The pod is gone.
    mutating func deleted(uid: String) {
        stages[uid] = nil
    }

    /// After a relist: forget pods no longer there.
    mutating func retain(uids: Set<String>) {
        stages = stages.filter { uids.contains($0.key) }
    }
}

/// Items due at a time, earliest first (a binary min-heap).
struct Deadlines<Item> {
    private var heap: [(due: Duration, seq: UInt64, item: Item)] = []
    private var seq: UInt64 = 0

    var isEmpty: Bool { heap.isEmpty }
    var count: Int { heap.count }
    var nextDue: Duration? { heap.first?.due }

    mutating func push(_ item: Item, due: Duration) {
        seq &+= 1
        heap.append((due, seq, item))
        var i = heap.count - 1
        while i > 0 {
            let p = (i - 1) / 2
            guard less(i, p) else { break }
            heap.swapAt(i, p)
            i = p
        }
    }

    /// Removes and returns every item due at or before `now`, in order.
    mutating func popDue(now: Duration) -> [Item] {
        var out: [Item] = []
        while let first = heap.first, first.due <= now {
            out.append(first.item)
            let last = heap.removeLast()
            if heap.isEmpty { break }
            heap[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < heap.count, less(l, m) { m = l }
                if r < heap.count, less(r, m) { m = r }
                if m == i { break }
                heap.swapAt(i, m)
                i = m
            }
        }
        return out
    }

    private func less(_ a: Int, _ b: Int) -> Bool {
        heap[a].due != heap[b].due ? heap[a].due < heap[b].due : heap[a].seq < heap[b].seq
    }
}
