import CapstanAPI
import CapstanSchedulerFramework
import CapstanSchedulerPlugins
import Testing

@Suite("DefaultPreemption")
struct PreemptionTests {
    static func preemption(_ core: SchedulerCore) -> Preemption? {
        guard case .preempt(_, let p)? = core.scheduleOne() else { return nil }
        return p
    }

    // A high-priority pod evicts only what it needs: reprieving the most important victims first.
    @Test func minimalVictims() throws {
        let core = makeCore()
        core.addNode(makeNode("n1", cpu: "4"))
        core.addPod(makePod("low", cpu: "2", nodeName: "n1", priority: 1))
        core.addPod(makePod("mid", cpu: "2", nodeName: "n1", priority: 2))
        core.addPod(makePod("high", cpu: "2", priority: 100))
        let p = try #require(Self.preemption(core))
        #expect(p.nominatedNodeName == "n1")
        #expect(p.victims.map(\.name) == ["low"])
        #expect(p.message == "0/1 nodes are available: 1 Insufficient cpu.")
        #expect(p.condition.reason == "Unschedulable")
        #expect(core.queue.nominatedPods(forNode: "n1").map(\.name) == ["high"])
    }

    // PriorityClasses give pods their priority (pods/priority classes from the docs).
    @Test func priorityClassesResolvePriority() throws {
        let core = makeCore()
        core.setPriorityClasses([
            SchedulingV1.PriorityClass(metadata: MetaV1.ObjectMeta(name: "high-priority"), value: 1_000_000),
            SchedulingV1.PriorityClass(metadata: MetaV1.ObjectMeta(name: "low"), globalDefault: true, value: 10),
        ])
        core.addNode(makeNode("n1", cpu: "1"))
        core.addPod(makePod("batch", cpu: "1", nodeName: "n1"))
        #expect(core.cache.pod(uid: "uid-default-batch")?.priority == 10)
        core.addPod(makePod("nginx", cpu: "1") { $0.priorityClassName = "high-priority" })
        let p = try #require(Self.preemption(core))
        #expect(p.victims.map(\.name) == ["batch"])
    }

    @Test func picksTheNodeWithTheLeastImportantVictims() throws {
        let core = makeCore()
        core.addNode(makeNode("a", cpu: "2"))
        core.addNode(makeNode("b", cpu: "2"))
        core.addPod(makePod("on-a", cpu: "2", nodeName: "a", priority: 10))
        core.addPod(makePod("on-b", cpu: "2", nodeName: "b", priority: 5))
        core.addPod(makePod("urgent", cpu: "2", priority: 100))
        let p = try #require(Self.preemption(core))
        #expect(p.nominatedNodeName == "b")
        #expect(p.victims.map(\.name) == ["on-b"])
    }

    static func pdb(_ labels: [String: String], allowed: Int32) -> PolicyV1.PodDisruptionBudget {
        PolicyV1.PodDisruptionBudget(metadata: MetaV1.ObjectMeta(name: "pdb", namespace: "default"),
                                     spec: PolicyV1.PodDisruptionBudgetSpec(selector: selector(labels)),
                                     status: PolicyV1.PodDisruptionBudgetStatus(currentHealthy: 1, desiredHealthy: 1, disruptionsAllowed: allowed,
                                                                               expectedPods: 1))
    }

    @Test func avoidsViolatingDisruptionBudgets() throws {
        let core = makeCore()
        core.setPodDisruptionBudget(Self.pdb(["app": "critical"], allowed: 0))
        core.addNode(makeNode("a", cpu: "2"))
        core.addNode(makeNode("b", cpu: "2"))
        core.addPod(makePod("protected", cpu: "2", labels: ["app": "critical"], nodeName: "a", priority: 1))
        core.addPod(makePod("plain", cpu: "2", labels: ["app": "other"], nodeName: "b", priority: 1))
        core.addPod(makePod("urgent", cpu: "2", priority: 100))
        let p = try #require(Self.preemption(core))
        #expect(p.nominatedNodeName == "b")
        #expect(p.victims.map(\.name) == ["plain"])
    }

    @Test func reprievesPDBProtectedPodsFirst() throws {
        let core = makeCore()
        core.setPodDisruptionBudget(Self.pdb(["app": "critical"], allowed: 0))
        core.addNode(makeNode("a", cpu: "4"))
        core.addPod(makePod("protected", cpu: "2", labels: ["app": "critical"], nodeName: "a", priority: 1))
        core.addPod(makePod("plain", cpu: "2", labels: ["app": "other"], nodeName: "a", priority: 1))
        core.addPod(makePod("urgent", cpu: "2", priority: 100))
        let p = try #require(Self.preemption(core))
        #expect(p.victims.map(\.name) == ["plain"])
    }

    @Test func messagesWhenPreemptionCannotHelp() {
        let core = makeCore()
        core.addNode(makeNode("master", labels: [:], taints: [taint("node-role.kubernetes.io/control-plane", nil)]))
        core.addNode(makeNode("w1", cpu: "1"))
        core.addNode(makeNode("w2", cpu: "1"))
        core.addPod(makePod("big", cpu: "2"))
        guard case .unschedulable(_, let u)? = core.scheduleOne() else {
            Issue.record("expected unschedulable")
            return
        }
        #expect(u.message == "0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, "
            + "2 Insufficient cpu. preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, "
            + "2 No preemption victims found for incoming pod..")
        #expect(u.condition.type == "PodScheduled")
        #expect(u.condition.status == "False")
        #expect(u.condition.reason == "Unschedulable")
        #expect(u.unschedulablePlugins == ["TaintToleration", "NodeResourcesFit"])

        let never = makeCore()
        never.addNode(makeNode("n", cpu: "1"))
        never.addPod(makePod("low", cpu: "1", nodeName: "n", priority: 1))
        never.addPod(makePod("polite", cpu: "1", priority: 100) { $0.preemptionPolicy = "Never" })
        guard case .unschedulable(_, let u2)? = never.scheduleOne() else {
            Issue.record("expected unschedulable")
            return
        }
        #expect(u2.message == "0/1 nodes are available: 1 Insufficient cpu. preemption: not eligible due to preemptionPolicy=Never..")
    }

    // End to end: victims go, the preemptor lands on its nominated node, and a lower-priority
    // pod arriving meanwhile does not take the room made for it.
    @Test func preemptorGetsTheRoomItMade() throws {
        let clock = ManualClock()
        let core = makeCore(clock: clock)
        core.addNode(makeNode("n1", cpu: "2"))
        core.addPod(makePod("victim", cpu: "2", nodeName: "n1", priority: 1))
        core.addPod(makePod("preemptor", cpu: "2", priority: 100))
        let p = try #require(Self.preemption(core))
        #expect(p.victims.map(\.name) == ["victim"])
        core.deletePod(makePod("victim", cpu: "2", nodeName: "n1", priority: 1))
        // A lower-priority pod arrives before the preemptor's retry.
        core.addPod(makePod("sneaky", cpu: "2", priority: 50))
        guard case .unschedulable(let pod, _)? = core.scheduleOne() else {
            Issue.record("the lower-priority pod must not take the nominated room")
            return
        }
        #expect(pod.name == "sneaky")
        clock.advance(by: .seconds(2))
        core.tick()
        let placed = core.drain()
        #expect(placed["preemptor"] == "n1")
        #expect(placed["sneaky"] == nil)
    }
}
