import CapstanAPI
@testable import CapstanControllers
import Testing

@Suite struct DisruptionCoreTests {
    static let rs = MetaV1.OwnerReference(apiVersion: "apps/v1", kind: "ReplicaSet", controller: true, name: "web-abc", uid: "rs-uid")

    static func budget(minAvailable: IntOrString? = nil, maxUnavailable: IntOrString? = nil,
                       disrupted: [String: MetaV1.Time]? = nil) -> PolicyV1.PodDisruptionBudget {
        var b = PolicyV1.PodDisruptionBudget(
            metadata: MetaV1.ObjectMeta(generation: 3, name: "web", namespace: "default"),
            spec: PolicyV1.PodDisruptionBudgetSpec(maxUnavailable: maxUnavailable, minAvailable: minAvailable,
                                                   selector: MetaV1.LabelSelector(matchLabels: ["app": "web"])))
        if let disrupted {
            b.status = PolicyV1.PodDisruptionBudgetStatus(currentHealthy: 0, desiredHealthy: 0, disruptedPods: disrupted,
                                                          disruptionsAllowed: 0, expectedPods: 0)
        }
        return b
    }

    static func pods(ready: Int, notReady: Int = 0, owner: MetaV1.OwnerReference? = rs) -> [CoreV1.Pod] {
        (0..<ready).map { TestPods.pod("r\($0)", ready: true, owner: owner) } + (0..<notReady).map { TestPods.pod("n\($0)", owner: owner) }
    }

    struct Case: Sendable {
        var minAvailable: IntOrString?
        var maxUnavailable: IntOrString?
        var replicas: Int
        var ready: Int
        var notReady: Int
        var expected: Int32
        var desired: Int32
        var allowed: Int32
    }

    @Test(arguments: [
        Case(minAvailable: .int(2), replicas: 3, ready: 3, notReady: 0, expected: 3, desired: 2, allowed: 1),
        Case(minAvailable: .int(3), replicas: 3, ready: 3, notReady: 0, expected: 3, desired: 3, allowed: 0),
        Case(minAvailable: .int(2), replicas: 3, ready: 2, notReady: 1, expected: 3, desired: 2, allowed: 0),
        Case(minAvailable: .string("50%"), replicas: 5, ready: 5, notReady: 0, expected: 5, desired: 3, allowed: 2),
        Case(maxUnavailable: .int(1), replicas: 4, ready: 4, notReady: 0, expected: 4, desired: 3, allowed: 1),
        Case(maxUnavailable: .string("25%"), replicas: 10, ready: 8, notReady: 0, expected: 10, desired: 7, allowed: 1),
        Case(maxUnavailable: .int(0), replicas: 2, ready: 2, notReady: 0, expected: 2, desired: 2, allowed: 0),
    ])
    func budgets(_ c: Case) throws {
        let result = DisruptionCore.status(budget: Self.budget(minAvailable: c.minAvailable, maxUnavailable: c.maxUnavailable),
                                           pods: Self.pods(ready: c.ready, notReady: c.notReady), scale: { _ in c.replicas }, now: 100)
        #expect(result.status.expectedPods == c.expected)
        #expect(result.status.desiredHealthy == c.desired)
        #expect(result.status.currentHealthy == Int32(c.ready))
        #expect(result.status.disruptionsAllowed == c.allowed)
        #expect(result.status.observedGeneration == 3)
        let condition = try #require(result.status.conditions?.first)
        #expect(condition.type == "DisruptionAllowed")
        #expect(condition.status == (c.allowed > 0 ? "True" : "False"))
        #expect(condition.reason == (c.allowed > 0 ? "SufficientPods" : "InsufficientPods"))
    }

    @Test func percentagesNeedControllers() {
        let result = DisruptionCore.status(budget: Self.budget(maxUnavailable: .int(1)), pods: Self.pods(ready: 2, owner: nil),
                                           scale: { _ in 2 }, now: 0)
        #expect(result.status.disruptionsAllowed == 0)
        #expect(result.status.conditions?.first?.reason == "SyncFailed")
    }

    @Test func recentlyEvictedPodsDoNotCountUntilTheyGoOrExpire() {
        let budget = Self.budget(minAvailable: .int(1), disrupted: ["r0": TestPods.time(100), "gone": TestPods.time(100)])
        let pods = Self.pods(ready: 2)
        let fresh = DisruptionCore.status(budget: budget, pods: pods, scale: { _ in 2 }, now: 130)
        #expect(fresh.status.currentHealthy == 1)
        #expect(fresh.status.disruptionsAllowed == 0)
        #expect(fresh.status.disruptedPods == ["r0": TestPods.time(100)])
        #expect(fresh.recheckAt == 220)
        let expired = DisruptionCore.status(budget: budget, pods: pods, scale: { _ in 2 }, now: 221)
        #expect(expired.status.disruptedPods == nil)
        #expect(expired.status.disruptionsAllowed == 1)
    }

    @Test func selectors() {
        let budget = Self.budget(minAvailable: .int(1))
        #expect(DisruptionCore.selects(budget, TestPods.pod("a")))
        #expect(!DisruptionCore.selects(budget, TestPods.pod("b", labels: ["app": "db"])))
        #expect(!DisruptionCore.selects(budget, TestPods.pod("c", namespace: "other")))
        var everything = budget
        everything.spec?.selector = MetaV1.LabelSelector()
        #expect(DisruptionCore.selects(everything, TestPods.pod("b", labels: ["app": "db"])))
        var none = budget
        none.spec?.selector = nil
        #expect(!DisruptionCore.selects(none, TestPods.pod("a")))
    }
}
