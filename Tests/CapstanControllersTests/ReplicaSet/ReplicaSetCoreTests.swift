import CapstanAPI
import CapstanAPIMachinery
import CapstanControllerRuntime
import Foundation
import Testing
@testable import CapstanControllers

@Suite struct PodDeletionRankingTests {
    static func pod(_ name: String, node: String? = "n1", phase: String = "Running", ready: Bool = true, readySince: Int64 = 100,
                    restarts: Int32 = 0, created: Int64 = 0, cost: String? = nil) -> CoreV1.Pod {
        var meta = MetaV1.ObjectMeta(creationTimestamp: MetaV1.Time(secondsSinceEpoch: created), name: name, namespace: "ns")
        if let cost { meta.annotations = [PodDeletionRanking.deletionCostAnnotation: cost] }
        let conditions = [CoreV1.PodCondition(lastTransitionTime: MetaV1.Time(secondsSinceEpoch: readySince), status: ready ? "True" : "False", type: "Ready")]
        let statuses = [CoreV1.ContainerStatus(image: "i", imageID: "", name: "c", ready: ready, restartCount: restarts)]
        return CoreV1.Pod(metadata: meta, spec: CoreV1.PodSpec(containers: [], nodeName: node),
                          status: CoreV1.PodStatus(conditions: conditions, containerStatuses: statuses, phase: phase))
    }

    /// Each row: the pod that must be deleted first, and the other one.
    @Test(arguments: [
        ("unassigned before assigned", pod("a", node: nil), pod("b")),
        ("pending before running", pod("a", phase: "Pending"), pod("b")),
        ("unknown before running", pod("a", phase: "Unknown"), pod("b")),
        ("pending before unknown", pod("a", phase: "Pending"), pod("b", phase: "Unknown")),
        ("not ready before ready", pod("a", ready: false), pod("b")),
        ("lower deletion cost first", pod("a", cost: "-5"), pod("b", cost: "10")),
        ("ready more recently first", pod("a", readySince: 500), pod("b", readySince: 100)),
        ("more restarts first", pod("a", restarts: 3), pod("b", restarts: 1)),
        ("newer first", pod("a", created: 50), pod("b", created: 10)),
    ])
    func ranking(_ rule: String, first: CoreV1.Pod, second: CoreV1.Pod) {
        #expect(PodDeletionRanking.deleteFirst(first, rank: 0, than: second, rank: 0), "\(rule)")
        #expect(!PodDeletionRanking.deleteFirst(second, rank: 0, than: first, rank: 0), "\(rule), reversed")
    }

    @Test func doubledUpNodesLoseTheirPodsFirst() {
        let pods = [Self.pod("a", node: "n1"), Self.pod("b", node: "n2"), Self.pod("c", node: "n2")]
        let chosen = PodDeletionRanking.podsToDelete(pods, count: 1, relatedPods: pods)
        #expect(chosen.count == 1 && ["b", "c"].contains(chosen[0].name))
    }

    @Test func scaleCreatesOrDeletesTheDifference() {
        let pods = [Self.pod("a"), Self.pod("b", ready: false), Self.pod("c", node: nil)]
        #expect(ReplicaSetCore.scale(replicas: 5, pods: pods, relatedPods: pods) == .create(2))
        #expect(ReplicaSetCore.scale(replicas: 3, pods: pods, relatedPods: pods) == .none)
        #expect(ReplicaSetCore.scale(replicas: 1, pods: pods, relatedPods: pods) == .delete(["c", "b"]))
        #expect(ReplicaSetCore.scale(replicas: 1000, pods: [], relatedPods: []) == .create(ReplicaSetCore.burstReplicas))
    }

    @Test func statusCountsReadyAvailableAndFullyLabeled() {
        var rs = AppsV1.ReplicaSet(metadata: MetaV1.ObjectMeta(generation: 4, name: "rs"),
                                   spec: AppsV1.ReplicaSetSpec(minReadySeconds: 30, replicas: 3, selector: MetaV1.LabelSelector(matchLabels: ["app": "x"]),
                                                               template: CoreV1.PodTemplateSpec(metadata: MetaV1.ObjectMeta(labels: ["app": "x", "tier": "web"]))))
        var labeled = Self.pod("a", readySince: 0)
        labeled.objectMeta.labels = ["app": "x", "tier": "web"]
        var partly = Self.pod("b", readySince: 90)
        partly.objectMeta.labels = ["app": "x"]
        let notReady = Self.pod("c", ready: false)
        let now = Date(timeIntervalSince1970: 100)
        let status = ReplicaSetCore.status(of: rs, pods: [labeled, partly, notReady], now: now, failure: nil)
        #expect(status.replicas == 3 && status.fullyLabeledReplicas == 1 && status.readyReplicas == 2)
        #expect(status.availableReplicas == 1, "b is ready for 10 s of the 30 s minReadySeconds")
        #expect(status.observedGeneration == 4 && status.conditions == nil)
        #expect(ReplicaSetCore.nextAvailability(pods: [labeled, partly, notReady], minReadySeconds: 30, now: now) == 20)
        rs.status = status
        let failed = ReplicaSetCore.status(of: rs, pods: [], now: now, failure: ("FailedCreate", "quota"))
        #expect(failed.conditions?.first?.type == "ReplicaFailure" && failed.conditions?.first?.reason == "FailedCreate")
    }

    @Test(arguments: [
        ("owned and matching", "me", true, false, ReplicaSetCore.Claim.owned),
        ("owned, no longer matching", "me", false, false, .release),
        ("orphan matching", nil, true, false, .adopt),
        ("orphan, owner deleting", nil, true, true, .ignore),
        ("someone else's", "other", true, false, .ignore),
        ("orphan not matching", nil, false, false, .ignore),
    ] as [(String, String?, Bool, Bool, ReplicaSetCore.Claim)])
    func claims(_ row: String, controller: String?, matching: Bool, deleting: Bool, expected: ReplicaSetCore.Claim) throws {
        var pod = Self.pod("p")
        pod.objectMeta.labels = matching ? ["app": "x"] : ["app": "y"]
        if let controller {
            pod.objectMeta.ownerReferences = [MetaV1.OwnerReference(apiVersion: "apps/v1", kind: "ReplicaSet", controller: true, name: "rs", uid: controller)]
        }
        let selector = try LabelSelector(MetaV1.LabelSelector(matchLabels: ["app": "x"]))
        #expect(ReplicaSetCore.claim(pod, ownerUID: "me", selector: selector, ownerDeleting: deleting) == expected, "\(row)")
    }
}
