import CapstanAPI
@testable import CapstanControllers
import Testing

@Suite struct PodGCCoreTests {
    @Test func plansEachKindOfGarbage() {
        let pods = [
            TestPods.pod("done-old", phase: "Succeeded", node: "n1", created: 1),
            TestPods.pod("done-new", phase: "Failed", node: "n1", created: 5),
            TestPods.pod("done-mid", phase: "Succeeded", node: "n1", created: 3),
            TestPods.pod("running", node: "n1"),
            TestPods.pod("orphan", node: "gone"),
            TestPods.pod("orphan-done", phase: "Succeeded", node: "gone", created: 0),
            TestPods.pod("pending", phase: "Pending"),
            TestPods.pod("pending-deleted", phase: "Pending", terminating: true),
        ]
        let plan = PodGCCore.plan(pods: pods, nodeExists: { $0 == "n1" }, terminatedThreshold: 2)
        #expect(plan.orphaned.map(\.metadata?.name) == ["orphan", "orphan-done"])
        // Four terminated pods, threshold two: the two oldest go (one of them already as an orphan).
        #expect(plan.terminated.map(\.metadata?.name) == ["done-old"])
        #expect(plan.unscheduledTerminating.map(\.metadata?.name) == ["pending-deleted"])
        let lenient = PodGCCore.plan(pods: pods, nodeExists: { _ in true }, terminatedThreshold: 10)
        #expect(lenient.terminated.isEmpty && lenient.orphaned.isEmpty)
    }
}
