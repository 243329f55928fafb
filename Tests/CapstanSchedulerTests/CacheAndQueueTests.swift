import CapstanAPI
import CapstanAPIMachinery
import CapstanSchedulerFramework
import CapstanSchedulerPlugins
import Testing

@Suite("Framework")
struct FrameworkTests {
    @Test func adaptivePercentageOfNodesToScore() {
        func n(_ nodes: Int, _ pct: Int32? = nil) -> Int {
            SchedulingAlgorithm.numFeasibleNodesToFind(percentage: pct, global: 0, numAllNodes: nodes)
        }
        #expect(n(50) == 50)
        #expect(n(100) == 100)    // 50% of 100 is below the minimum of 100
        #expect(n(1000) == 420)   // 50 - 1000/125 = 42%
        #expect(n(5000) == 500)   // 10%
        #expect(n(6000) == 300)   // 2% -> the 5% floor
        #expect(n(10_000) == 500)
        #expect(n(5000, 100) == 5000)
        #expect(n(5000, 1) == 100)
    }

    @Test func statusAndFitErrorText() {
        let s = Status(.unschedulable, ["Insufficient cpu", "Insufficient memory"])
        #expect(s.message == "Insufficient cpu, Insufficient memory")
        #expect(s.isRejected)
        #expect(!Status.success.isRejected)
        var d = Diagnosis()
        d.nodeToStatus.set("a", Status.unresolvable("node(s) had untolerated taint {k: v}"))
        d.nodeToStatus.set("b", s)
        d.nodeToStatus.set("c", Status.unschedulable("Insufficient cpu"))
        let e = FitError(pod: podInfo("p"), numAllNodes: 3, diagnosis: d)
        #expect(e.message == "0/3 nodes are available: 1 Insufficient memory, 1 node(s) had untolerated taint {k: v}, 2 Insufficient cpu.")
        var pre = Diagnosis()
        pre.preFilterMessage = "pod affinity terms conflict"
        #expect(FitError(pod: podInfo("p"), numAllNodes: 2, diagnosis: pre).message == "0/2 nodes are available: pod affinity terms conflict.")
    }

    @Test func noNodes() {
        let core = makeCore()
        core.addPod(makePod("p"))
        guard case .unschedulable(_, let u)? = core.scheduleOne() else {
            Issue.record("expected unschedulable")
            return
        }
        #expect(u.message == "no nodes available to schedule pods")
    }

    @Test func tiesAreBrokenBySeededRandomness() {
        func placements(seed: UInt64) -> [String] {
            let core = makeCore(seed: seed)
            for i in 0..<8 { core.addNode(makeNode("n\(i)")) }
            var out: [String] = []
            for i in 0..<8 {
                let d = core.schedule(podInfo("p\(i)"), snapshot: { core.cache.updateSnapshot(core.snapshot); return core.snapshot }())
                out.append(d.node ?? "")
            }
            return out
        }
        #expect(placements(seed: 7) == placements(seed: 7))
        #expect(Set((0..<5).map { placements(seed: $0) }).count > 1)
    }
}

@Suite("Cache and snapshot")
struct CacheTests {
    @Test func assumeConfirmForgetExpire() throws {
        let clock = ManualClock()
        let cache = SchedulerCache(clock: clock.schedulerClock, assumedPodTTL: .seconds(30))
        cache.addNode(makeNode("n", cpu: "4"))
        let snapshot = Snapshot()
        let a = podInfo("a", cpu: "1").assigned(to: "n")
        try cache.assumePod(a)
        #expect(cache.isAssumed(uid: a.uid))
        cache.updateSnapshot(snapshot)
        #expect(snapshot.get("n")?.requested.milliCPU == 1000)
        // Forget (binding failed).
        try cache.forgetPod(a)
        cache.updateSnapshot(snapshot)
        #expect(snapshot.get("n")?.pods.isEmpty == true)
        // Assume, finish binding, never observed: expires after the TTL.
        try cache.assumePod(a)
        cache.finishBinding(a)
        clock.advance(by: .seconds(29))
        #expect(cache.cleanupExpiredAssumedPods().isEmpty)
        clock.advance(by: .seconds(2))
        #expect(cache.cleanupExpiredAssumedPods().map(\.name) == ["a"])
        cache.updateSnapshot(snapshot)
        #expect(snapshot.get("n")?.requested.milliCPU == 0)
        // Assume, then observe the binding: confirmed, never expires.
        let b = podInfo("b", cpu: "2").assigned(to: "n")
        try cache.assumePod(b)
        cache.finishBinding(b)
        cache.addPod(b)
        #expect(!cache.isAssumed(uid: b.uid))
        clock.advance(by: .seconds(3600))
        #expect(cache.cleanupExpiredAssumedPods().isEmpty)
        #expect(cache.nodeInfo("n")?.requested.milliCPU == 2000)
        #expect(throws: SchedulerCache.CacheError.self) { try cache.assumePod(b) }
    }

    @Test func snapshotsUpdateIncrementally() {
        let cache = SchedulerCache(clock: ManualClock().schedulerClock)
        for i in 0..<10 { cache.addNode(makeNode("n\(i)", labels: ["topology.kubernetes.io/zone": "z\(i % 2)"])) }
        let s1 = Snapshot(), s2 = Snapshot()
        cache.updateSnapshot(s1)
        cache.updateSnapshot(s2)
        #expect(s1.numNodes == 10)
        // Zones interleave: z0, z1, z0, ...
        #expect(s1.nodeInfoList.prefix(4).map { $0.labels["topology.kubernetes.io/zone"]! } == ["z0", "z1", "z0", "z1"])
        let n3 = s1.get("n3")!
        let n4 = s1.get("n4")!
        let gen4 = n4.generation
        cache.addPod(podInfo("p", cpu: "1", nodeName: "n3"))
        // s1 sees nothing until updated; then only n3 changed, in place.
        #expect(s1.get("n3")!.pods.isEmpty)
        cache.updateSnapshot(s1)
        #expect(s1.get("n3") === n3)
        #expect(n3.pods.map(\.name) == ["p"])
        #expect(n4.generation == gen4)
        #expect(s2.get("n3")!.pods.isEmpty)
        // Nodes going away.
        cache.removeNode("n9")
        cache.updateSnapshot(s1)
        cache.updateSnapshot(s2)
        #expect(s1.numNodes == 9 && s2.numNodes == 9)
        #expect(s2.get("n3")!.pods.count == 1)
    }

    @Test func indexesFollowChanges() {
        let c = Cluster(nodes: [makeNode("a", labels: ["zone": "1"]), makeNode("b", labels: ["zone": "2"])])
        let table = c.snapshot.matchCounts(PodMatcher([PodSelection(namespaces: ["default"], selector: .init(matchLabels: ["app": "x"]))]))
        #expect(table.count(on: c.node("a")) == 0)
        c.add(makePod("x1", labels: ["app": "x"], nodeName: "a"))
        c.add(makePod("x2", labels: ["app": "x"], nodeName: "a"))
        c.add(makePod("y", labels: ["app": "y"], nodeName: "b"))
        #expect(table.count(on: c.node("a")) == 2)
        #expect(table.count(on: c.node("b")) == 0)
        let domains = c.snapshot.domains(for: "zone")
        #expect(domains.values[Int(domains.domain(of: c.node("b")))] == "2")
        let anti = makePod("anti", labels: ["app": "z"], nodeName: "b") {
            $0.affinity = CoreV1.Affinity(podAntiAffinity: CoreV1.PodAntiAffinity(requiredDuringSchedulingIgnoredDuringExecution: [
                CoreV1.PodAffinityTerm(labelSelector: selector(["app": "x"]), topologyKey: "zone")]))
        }
        c.add(anti)
        #expect(c.snapshot.existingPodTerms.groups(of: .requiredAntiAffinity).count == 1)
        #expect(c.snapshot.havePodsWithRequiredAntiAffinityList.map(\.name) == ["b"])
        c.cache.removePod(PodInfo(anti))
        c.cache.updateSnapshot(c.snapshot)
        #expect(c.snapshot.existingPodTerms.groups(of: .requiredAntiAffinity).isEmpty)
        #expect(c.snapshot.havePodsWithRequiredAntiAffinityList.isEmpty)
    }
}

@Suite("Scheduling queue")
struct QueueTests {
    static func queue(_ clock: ManualClock, events: [String: [String: [ClusterEventWithHint]]] = [:]) -> SchedulingQueue {
        SchedulingQueue(clock: clock.schedulerClock, less: PrioritySort().less, events: events)
    }

    @Test func priorityThenArrival() {
        let clock = ManualClock()
        let q = Self.queue(clock)
        q.add(podInfo("low", priority: 1))
        clock.advance(by: .milliseconds(1))
        q.add(podInfo("first-high", priority: 10))
        clock.advance(by: .milliseconds(1))
        q.add(podInfo("second-high", priority: 10))
        #expect([q.pop(), q.pop(), q.pop()].map { $0?.podInfo.name } == ["first-high", "second-high", "low"])
        #expect(q.pop() == nil)
    }

    @Test func backoffDoublesToTenSeconds() {
        let initial = Duration.seconds(1), max = Duration.seconds(10)
        let durations = (1...6).map { SchedulingQueue.backoffDuration(attempts: $0, initial: initial, max: max) }
        #expect(durations == [.seconds(1), .seconds(2), .seconds(4), .seconds(8), .seconds(10), .seconds(10)])
    }

    @Test func failedPodWaitsItsBackoff() throws {
        let clock = ManualClock()
        let q = Self.queue(clock)
        q.add(podInfo("p"))
        for expected in [1, 2, 4] {
            let p = try #require(q.pop())
            // No plugin rejected it (an error): straight to back-off.
            q.addUnschedulableIfNotPresent(p, unschedulablePlugins: [], podSchedulingCycle: q.schedulingCycle)
            #expect(q.location(of: "default/p") == .backoff)
            clock.advance(by: .seconds(expected) - .milliseconds(1))
            q.flushBackoffCompleted()
            #expect(q.location(of: "default/p") == .backoff)
            clock.advance(by: .milliseconds(1))
            q.flushBackoffCompleted()
            #expect(q.location(of: "default/p") == .active)
        }
    }

    @Test func eventsRequeueOnlyWhatTheyMayHelp() throws {
        let clock = ManualClock()
        let fit = NodeResourcesFit()
        let q = Self.queue(clock, events: ["default-scheduler": [fit.name: fit.eventsToRegister()]])
        q.add(podInfo("big", cpu: "8"))
        let p = try #require(q.pop())
        q.addUnschedulableIfNotPresent(p, unschedulablePlugins: [fit.name], podSchedulingCycle: q.schedulingCycle)
        #expect(q.location(of: "default/big") == .unschedulable)
        // A node too small does not help (queueing hint); an unrelated event neither.
        q.moveAllToActiveOrBackoffQueue(ClusterEvent(.node, .add), ClusterEventObjects(newNode: makeNode("small", cpu: "4")))
        q.moveAllToActiveOrBackoffQueue(ClusterEvent(.node, .updateNodeCondition))
        #expect(q.location(of: "default/big") == .unschedulable)
        // A node it fits moves it (to back-off while its 1 s runs).
        q.moveAllToActiveOrBackoffQueue(ClusterEvent(.node, .add), ClusterEventObjects(newNode: makeNode("large", cpu: "16")))
        #expect(q.location(of: "default/big") == .backoff)
        clock.advance(by: .seconds(1))
        q.tick()
        #expect(q.location(of: "default/big") == .active)
    }

    @Test func unschedulablePodsAreRetriedAfterFiveMinutes() throws {
        let clock = ManualClock()
        let q = Self.queue(clock)
        q.add(podInfo("p"))
        let p = try #require(q.pop())
        q.addUnschedulableIfNotPresent(p, unschedulablePlugins: ["NodeResourcesFit"], podSchedulingCycle: q.schedulingCycle)
        clock.advance(by: .seconds(4 * 60 + 50))
        q.tick()
        #expect(q.location(of: "default/p") == .unschedulable)
        clock.advance(by: .seconds(30))
        q.tick()
        #expect(q.location(of: "default/p") == .active)
    }

    @Test func eventDuringTheCycleSendsThePodToBackoff() throws {
        let clock = ManualClock()
        let q = Self.queue(clock)
        q.add(podInfo("p"))
        let p = try #require(q.pop())
        let cycle = q.schedulingCycle
        q.moveAllToActiveOrBackoffQueue(ClusterEvent(.node, .add))
        q.addUnschedulableIfNotPresent(p, unschedulablePlugins: ["NodeResourcesFit"], podSchedulingCycle: cycle)
        #expect(q.location(of: "default/p") == .backoff)
    }

    @Test func schedulingGates() {
        let clock = ManualClock()
        let gates = SchedulingGates()
        let q = SchedulingQueue(clock: clock.schedulerClock, less: PrioritySort().less, preEnqueue: { gates.preEnqueue($0) },
                                events: ["default-scheduler": [gates.name: gates.eventsToRegister()]])
        let gated = podInfo("g") { $0.schedulingGates = [CoreV1.PodSchedulingGate(name: "example.com/wait")] }
        q.add(gated)
        #expect(q.location(of: "default/g") == .unschedulable)
        #expect(q.pop() == nil)
        q.update(old: gated, new: podInfo("g"))
        #expect(q.location(of: "default/g") == .active)
    }

    @Test func nominator() {
        let q = Self.queue(ManualClock())
        let p = podInfo("p", priority: 5)
        q.addNominated(p, nodeName: "n1")
        #expect(q.nominatedPods(forNode: "n1").map(\.name) == ["p"])
        q.addNominated(p, nodeName: "n2")
        #expect(q.nominatedPods(forNode: "n1").isEmpty)
        #expect(q.nominatedNode(of: p.uid) == "n2")
        q.deleteNominated(uid: p.uid)
        #expect(q.nominatedPods(forNode: "n2").isEmpty)
    }
}

@Suite("Scheduler core")
struct SchedulerCoreTests {
    @Test func bindsAndReportsTheBinding() throws {
        let core = makeCore()
        core.addNode(makeNode("n1"))
        core.addPod(makePod("p", cpu: "1"))
        guard case .bind(let task)? = core.scheduleOne() else {
            Issue.record("expected a binding")
            return
        }
        #expect(task.nodeName == "n1")
        #expect(task.binding.target.name == "n1")
        #expect(task.binding.target.kind == "Node")
        #expect(task.binding.metadata?.name == "p")
        #expect(core.cache.isAssumed(uid: task.pod.uid))
        core.bindingSucceeded(task)
        #expect(core.queue.count == 0)
    }

    @Test func failedBindingIsRetried() throws {
        let clock = ManualClock()
        let core = makeCore(clock: clock)
        core.addNode(makeNode("n1"))
        core.addPod(makePod("p", cpu: "1"))
        guard case .bind(let task)? = core.scheduleOne() else {
            Issue.record("expected a binding")
            return
        }
        guard case .unschedulable(_, let u)? = core.bindingFailed(task, message: "conflict") else {
            Issue.record("expected a failure outcome")
            return
        }
        #expect(u.reason == "SchedulerError")
        #expect(!core.cache.isAssumed(uid: task.pod.uid))
        #expect(core.queue.location(of: "default/p") == .backoff)
        clock.advance(by: .seconds(1))
        core.tick()
        #expect(core.drain()["p"] == "n1")
    }

    // An unschedulable pod is scheduled as soon as a fitting node appears.
    @Test func unschedulablePodWaitsForAFittingNode() {
        let clock = ManualClock()
        let core = makeCore(clock: clock)
        core.addNode(makeNode("small", cpu: "1"))
        core.addPod(makePod("big", cpu: "4"))
        guard case .unschedulable(_, let u)? = core.scheduleOne() else {
            Issue.record("expected unschedulable")
            return
        }
        #expect(u.message.hasPrefix("0/1 nodes are available: 1 Insufficient cpu."))
        #expect(core.queue.location(of: "default/big") == .unschedulable)
        core.addNode(makeNode("large", cpu: "8"))
        clock.advance(by: .seconds(1))
        core.tick()
        #expect(core.drain()["big"] == "large")
    }

    @Test func taintsKeepPodsOffAndTolerationsLetThemIn() {
        let core = makeCore()
        core.addNode(makeNode("gpu", taints: [taint("dedicated", "gpu")]))
        core.addNode(makeNode("general"))
        for i in 0..<6 { core.addPod(makePod("plain-\(i)", cpu: "100m")) }
        core.addPod(makePod("gpu-job", cpu: "100m") {
            $0.tolerations = [toleration("dedicated", "Equal", "gpu", "NoSchedule")]
            $0.nodeSelector = ["kubernetes.io/hostname": "gpu"]
        })
        let placed = core.drain()
        #expect(placed.count == 7)
        for i in 0..<6 { #expect(placed["plain-\(i)"] == "general") }
        #expect(placed["gpu-job"] == "gpu")
    }

    @Test func profilesBySchedulerName() {
        let core = SchedulerCore(profiles: [DefaultPlugins.profile(), DefaultPlugins.profile(schedulerName: "bin-packer",
                                 scoringStrategy: ScoringStrategy(.mostAllocated))], clock: ManualClock().schedulerClock)
        core.addNode(makeNode("a"))
        core.addNode(makeNode("b"))
        core.addPod(makePod("seed", cpu: "2", memory: "4Gi", nodeName: "a"))
        core.addPod(makePod("packed", cpu: "1", memory: "2Gi") { $0.schedulerName = "bin-packer" })
        core.addPod(makePod("other", cpu: "1") { $0.schedulerName = "someone-else" })
        let placed = core.drain()
        #expect(placed["packed"] == "a")
        #expect(placed["other"] == nil)
        #expect(core.queue.count == 0)
    }
}

/// A Permit plugin that makes every pod wait.
final class WaitingPermit: PermitPlugin {
    var name: String { "WaitingPermit" }
    func permit(state: CycleState, pod: PodInfo, nodeName: String) -> (Status, timeout: Duration) {
        (Status(.wait), .seconds(30))
    }
}

@Suite("Scheduler core extension points")
struct ExtensionPointTests {
    @Test func preFilterNodeRestrictionShowsInTheMessage() {
        let core = makeCore()
        core.addNode(makeNode("a", cpu: "1"))
        core.addNode(makeNode("b"))
        core.addNode(makeNode("c"))
        core.addPod(makePod("pinned", cpu: "2") {
            $0.affinity = CoreV1.Affinity(nodeAffinity: CoreV1.NodeAffinity(requiredDuringSchedulingIgnoredDuringExecution:
                CoreV1.NodeSelector(nodeSelectorTerms: [CoreV1.NodeSelectorTerm(matchFields: [
                    CoreV1.NodeSelectorRequirement(key: "metadata.name", operator: "In", values: ["a"])])])))
        })
        guard case .unschedulable(_, let u)? = core.scheduleOne() else {
            Issue.record("expected unschedulable")
            return
        }
        #expect(u.message.hasPrefix("0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn't satisfy plugin(s) [NodeAffinity]."))
        #expect(u.unschedulablePlugins.contains("NodeResourcesFit"))
    }

    @Test func permitWaitsUntilAllowedOrTimedOut() throws {
        let clock = ManualClock()
        var plugins = DefaultPlugins.plugins()
        plugins.append(WaitingPermit())
        let core = SchedulerCore(profiles: [Profile(plugins: plugins, scoreWeights: DefaultPlugins.scoreWeights)], clock: clock.schedulerClock)
        core.addNode(makeNode("n"))
        core.addPod(makePod("a"))
        core.addPod(makePod("b"))
        guard case .waiting(let a, "n")? = core.scheduleOne() else {
            Issue.record("expected the pod to wait at permit")
            return
        }
        #expect(core.cache.isAssumed(uid: a.uid))
        guard case .bind(let task)? = core.allowWaitingPod(uid: a.uid, plugin: "WaitingPermit") else {
            Issue.record("expected a binding once allowed")
            return
        }
        #expect(task.eventMessage == "Successfully assigned default/a to n")
        core.bindingSucceeded(task)
        guard case .waiting(let b, _)? = core.scheduleOne() else {
            Issue.record("expected the second pod to wait")
            return
        }
        clock.advance(by: .seconds(31))
        let outcomes = core.tick()
        #expect(outcomes.count == 1)
        if case .unschedulable(let p, let u)? = outcomes.first {
            #expect(p.name == b.name)
            #expect(u.message == "rejected due to timeout after waiting at permit")
        }
        #expect(!core.cache.isAssumed(uid: b.uid))
    }
}
