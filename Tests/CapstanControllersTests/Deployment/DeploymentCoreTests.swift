import CapstanAPI
import Foundation
import Testing
@testable import CapstanControllers

@Suite struct DeploymentCoreTests {
    typealias RS = DeploymentCore.ReplicaSetInfo
    typealias Scale = DeploymentCore.Scale

    @Test(arguments: [
        // desired, maxSurge, maxUnavailable, surge, unavailable
        (10, nil, nil, 3, 2),             // 25% of 10: surge rounds up, unavailable down
        (4, nil, nil, 1, 1),
        (1, nil, nil, 1, 0),
        (10, .int(0), .int(0), 0, 1),     // both zero: one may be unavailable
        (10, .string("50%"), .string("10%"), 5, 1),
        (3, .string("34%"), .string("34%"), 2, 1),
        (5, .int(2), .int(1), 2, 1),
    ] as [(Int, IntOrString?, IntOrString?, Int, Int)])
    func fenceposts(desired: Int, maxSurge: IntOrString?, maxUnavailable: IntOrString?, surge: Int, unavailable: Int) {
        let f = DeploymentCore.fenceposts(maxSurge: maxSurge, maxUnavailable: maxUnavailable, desired: desired)
        #expect(f.surge == surge && f.unavailable == unavailable)
    }

    @Test(arguments: [
        ("new scales up into the surge", 10, 3, 2, RS(name: "new", replicas: 0, available: 0), [RS(name: "old", replicas: 10, available: 10)],
         [Scale(name: "new", from: 0, to: 3)]),
        ("surge used: old scales down to keep minAvailable", 10, 3, 2, RS(name: "new", replicas: 3, available: 0),
         [RS(name: "old", replicas: 10, available: 10)], [Scale(name: "old", from: 10, to: 8)]),
        ("surge full, new pods available: more old go", 10, 3, 2, RS(name: "new", replicas: 3, available: 3),
         [RS(name: "old", replicas: 10, available: 10)], [Scale(name: "old", from: 10, to: 5)]),
        ("room under the surge: new first", 10, 3, 2, RS(name: "new", replicas: 3, available: 3),
         [RS(name: "old", replicas: 8, available: 8)], [Scale(name: "new", from: 3, to: 5)]),
        ("unhealthy old replicas go first, oldest first", 4, 1, 0, RS(name: "new", replicas: 1, available: 1),
         [RS(name: "a", replicas: 2, available: 1, created: 1), RS(name: "b", replicas: 2, available: 2, created: 2)],
         [Scale(name: "a", from: 2, to: 1)]),
        ("nothing to do at the bounds", 10, 0, 1, RS(name: "new", replicas: 1, available: 0), [RS(name: "old", replicas: 9, available: 9)], []),
        ("maxSurge 0: old first", 3, 0, 1, RS(name: "new", replicas: 0, available: 0), [RS(name: "old", replicas: 3, available: 3)],
         [Scale(name: "old", from: 3, to: 2)]),
        ("too many new replicas after a scale down", 2, 1, 0, RS(name: "new", replicas: 4, available: 4), [], [Scale(name: "new", from: 4, to: 2)]),
    ] as [(String, Int, Int, Int, RS, [RS], [Scale])])
    func rollingSteps(_ row: String, desired: Int, surge: Int, unavailable: Int, new: RS, old: [RS], expected: [Scale]) {
        #expect(DeploymentCore.rollingStep(desired: desired, surge: surge, unavailable: unavailable, new: new, old: old) == expected, "\(row)")
    }

    /// Replays a whole rollout with pods becoming available at once and checks the bounds at every step.
    @Test(arguments: [(10, 3, 2), (5, 1, 0), (3, 0, 1), (1, 1, 0), (7, 2, 3)])
    func rolloutKeepsBoundsAtEveryStep(desired: Int, surge: Int, unavailable: Int) {
        var new = RS(name: "new", replicas: 0, available: 0)
        var old = [RS(name: "old", replicas: desired, available: desired)]
        var steps = 0
        while new.available < desired || old.contains(where: { $0.replicas > 0 }) {
            let scales = DeploymentCore.rollingStep(desired: desired, surge: surge, unavailable: unavailable, new: new, old: old)
            #expect(!scales.isEmpty, "stuck at new=\(new) old=\(old)")
            if scales.isEmpty { return }
            for s in scales {
                if s.name == "new" { new.replicas = s.to } else if let i = old.firstIndex(where: { $0.name == s.name }) {
                    old[i].replicas = s.to
                    old[i].available = min(old[i].available, s.to)
                }
            }
            let total = new.replicas + old.reduce(0) { $0 + $1.replicas }
            let available = new.available + old.reduce(0) { $0 + $1.available }
            #expect(total <= desired + surge)
            #expect(available >= desired - unavailable)
            new.available = new.replicas  // the new pods become available
            steps += 1
            if steps > 100 { Issue.record("no convergence"); return }
        }
        #expect(new.replicas == desired)
    }

    @Test func recreateScalesOldDownThenWaitsForPodsThenScalesUp() {
        let new = RS(name: "new", replicas: 0, available: 0)
        #expect(DeploymentCore.recreateStep(desired: 3, new: new, old: [RS(name: "old", replicas: 3, available: 3)], oldPodsRunning: true)
            == [Scale(name: "old", from: 3, to: 0)])
        #expect(DeploymentCore.recreateStep(desired: 3, new: new, old: [RS(name: "old", replicas: 0, available: 0)], oldPodsRunning: true) == [])
        #expect(DeploymentCore.recreateStep(desired: 3, new: new, old: [RS(name: "old", replicas: 0, available: 0)], oldPodsRunning: false)
            == [Scale(name: "new", from: 0, to: 3)])
    }

    @Test func proportionalScalingSpreadsByReplicaSetSize() {
        // Mid-rollout 10 -> 20 with surge 3: 13 allowed now 23; +10 spread 2:8 by size... shares sum to 10.
        let scales = DeploymentCore.proportionalScale(desired: 20, surge: 3, new: RS(name: "new", replicas: 5, available: 5, created: 2),
                                                      old: [RS(name: "old", replicas: 8, available: 8, created: 1)])
        let after = Dictionary(uniqueKeysWithValues: scales.map { ($0.name, $0.to) })
        #expect((after["new"] ?? 5) + (after["old"] ?? 8) == 23)
        #expect((after["old"] ?? 8) > (after["new"] ?? 5))
        #expect(DeploymentCore.proportionalScale(desired: 2, surge: 1, new: RS(name: "new", replicas: 5, available: 5), old: [])
            == [Scale(name: "new", from: 5, to: 2)])
    }

    @Test func historyKeepsTheLimitDeletingLowestRevisionsThatAreScaledDown() {
        let old: [(name: String, revision: Int64, replicas: Int, statusReplicas: Int)] = [
            ("r1", 1, 0, 0), ("r2", 2, 0, 0), ("r3", 3, 1, 1), ("r4", 4, 0, 0),
        ]
        #expect(DeploymentCore.historyToDelete(old: old, limit: 2) == ["r1", "r2"])
        #expect(DeploymentCore.historyToDelete(old: old, limit: 10) == [])
        #expect(DeploymentCore.historyToDelete(old: old, limit: 0) == ["r1", "r2", "r4"], "a scaled-up one stays")
    }

    @Test func templateHashIsStableSafeAndChangesWithTemplateAndCollisions() {
        let t1 = CoreV1.PodTemplateSpec(metadata: MetaV1.ObjectMeta(labels: ["app": "web"]),
                                        spec: CoreV1.PodSpec(containers: [CoreV1.Container(image: "nginx:1", name: "c")]))
        var t2 = t1
        t2.spec?.containers[0].image = "nginx:2"
        let h = DeploymentCore.templateHash(t1, collisionCount: nil)
        #expect(h == DeploymentCore.templateHash(t1, collisionCount: nil))
        #expect(h != DeploymentCore.templateHash(t2, collisionCount: nil))
        #expect(h != DeploymentCore.templateHash(t1, collisionCount: 1))
        #expect(h.allSatisfy { "bcdfghjklmnpqrstvwxz2456789".contains($0) } && !h.isEmpty)
    }

    @Test func progressingConditionFollowsTheRollout() {
        let now = Date(timeIntervalSince1970: 1_000)
        var status = AppsV1.DeploymentStatus(availableReplicas: 0, observedGeneration: 1, replicas: 3, updatedReplicas: 3)
        DeploymentCore.setProgressing(&status, previous: nil, desired: 3, generation: 1, newName: "web-abc",
                                      progress: .newReplicaSetCreated("web-abc"), deadlineSeconds: 600, now: now)
        #expect(status.conditions?.first?.reason == "NewReplicaSetCreated")
        let previous = status
        // Nothing moves for longer than the deadline.
        let recheck = DeploymentCore.setProgressing(&status, previous: previous, desired: 3, generation: 1, newName: "web-abc",
                                                    progress: .none, deadlineSeconds: 600, now: now + 100)
        #expect(recheck == 500)
        DeploymentCore.setProgressing(&status, previous: previous, desired: 3, generation: 1, newName: "web-abc",
                                      progress: .none, deadlineSeconds: 600, now: now + 601)
        #expect(status.conditions?.first?.reason == "ProgressDeadlineExceeded" && status.conditions?.first?.status == "False")
        // Complete.
        var done = AppsV1.DeploymentStatus(availableReplicas: 3, observedGeneration: 1, replicas: 3, updatedReplicas: 3)
        DeploymentCore.setProgressing(&done, previous: previous, desired: 3, generation: 1, newName: "web-abc", progress: .none,
                                      deadlineSeconds: 600, now: now)
        #expect(done.conditions?.first?.reason == "NewReplicaSetAvailable" && done.conditions?.first?.status == "True")
        #expect(done.conditions?.first?.message == "ReplicaSet \"web-abc\" has successfully progressed.")
    }

    @Test func availableConditionUsesMaxUnavailable() {
        let rs = AppsV1.ReplicaSet(metadata: MetaV1.ObjectMeta(name: "a"), status: AppsV1.ReplicaSetStatus(availableReplicas: 8, readyReplicas: 8, replicas: 10))
        let ok = DeploymentCore.status(desired: 10, unavailable: 2, generation: 2, all: [rs], new: rs, previous: nil, collisionCount: nil, now: Date())
        #expect(ok.conditions?.first(where: { $0.type == "Available" })?.reason == "MinimumReplicasAvailable")
        #expect(ok.unavailableReplicas == 2 && ok.updatedReplicas == 10 && ok.observedGeneration == 2)
        let low = DeploymentCore.status(desired: 10, unavailable: 1, generation: 2, all: [rs], new: rs, previous: nil, collisionCount: nil, now: Date())
        #expect(low.conditions?.first(where: { $0.type == "Available" })?.status == "False")
    }
}
