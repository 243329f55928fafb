import CapstanAPI
import CapstanClient
import CapstanControllerRuntime
import Foundation
import Testing
@testable import CapstanControllers

@Suite struct StatefulSetCoreTests {
    static let now = Date(timeIntervalSince1970: 1_000)

    static func set(replicas: Int32 = 3, parallel: Bool = false, partition: Int32? = nil, onDelete: Bool = false, start: Int32? = nil,
                    minReady: Int32? = nil, claims: [String] = [], deleting: Bool = false) -> AppsV1.StatefulSet {
        var spec = AppsV1.StatefulSetSpec(selector: MetaV1.LabelSelector(matchLabels: ["app": "db"]),
                                          template: CoreV1.PodTemplateSpec(metadata: MetaV1.ObjectMeta(labels: ["app": "db"]),
                                                                           spec: CoreV1.PodSpec(containers: [CoreV1.Container(image: "db", name: "db")])))
        spec.replicas = replicas
        spec.podManagementPolicy = parallel ? "Parallel" : "OrderedReady"
        spec.updateStrategy = onDelete ? AppsV1.StatefulSetUpdateStrategy(type: "OnDelete")
            : AppsV1.StatefulSetUpdateStrategy(rollingUpdate: AppsV1.RollingUpdateStatefulSetStrategy(partition: partition ?? 0), type: "RollingUpdate")
        spec.ordinals = start.map { AppsV1.StatefulSetOrdinals(start: $0) }
        spec.minReadySeconds = minReady
        spec.serviceName = "db"
        spec.volumeClaimTemplates = claims.isEmpty ? nil : claims.map {
            CoreV1.PersistentVolumeClaim(metadata: MetaV1.ObjectMeta(labels: ["kind": "storage"], name: $0))
        }
        return AppsV1.StatefulSet(metadata: MetaV1.ObjectMeta(deletionTimestamp: deleting ? MetaV1.Time(secondsSinceEpoch: 1) : nil,
                                                               generation: 2, name: "web", namespace: "ns", uid: "set-uid"),
                                  spec: spec)
    }

    /// A pod from a short code: ordinal, then R (running and ready), N (running, not ready),
    /// P (pending), T (terminating), F (failed); a trailing `o` puts it on the old revision.
    static func pod(_ code: String, readyFor: TimeInterval = 600, labelled: Bool = true) -> CoreV1.Pod {
        let ordinal = String(code.prefix { $0.isNumber })
        let rest = code.dropFirst(ordinal.count)
        let state = rest.first ?? "R"
        let old = rest.dropFirst().first == "o"
        let name = "web-\(ordinal)"
        var labels = ["app": "db", StatefulSetCore.revisionLabel: old ? "web-old" : "web-new"]
        if labelled {
            labels[StatefulSetCore.podNameLabel] = name
            labels[StatefulSetCore.podIndexLabel] = ordinal
        }
        let ready = state == "R" || state == "T"
        let phase = switch state {
        case "P": "Pending"
        case "F": "Failed"
        default: "Running"
        }
        let since = MetaV1.Time(now.addingTimeInterval(-readyFor))
        return CoreV1.Pod(metadata: MetaV1.ObjectMeta(deletionTimestamp: state == "T" ? MetaV1.Time(now) : nil, labels: labels, name: name,
                                                      namespace: "ns", uid: name),
                          status: CoreV1.PodStatus(conditions: [CoreV1.PodCondition(lastTransitionTime: since, status: ready ? "True" : "False", type: "Ready")],
                                                   phase: phase))
    }

    static func describe(_ actions: [StatefulSetCore.Action]) -> [String] {
        actions.map {
            switch $0 {
            case .create(let ordinal, let current): "create web-\(ordinal)" + (current ? " current" : "")
            case .delete(let name, _, let reason): "delete \(name) \(reason)"
            case .relabel(let name): "relabel \(name)"
            }
        }
    }

    /// Each row: what it shows, the set, its pods, the expected actions.
    @Test(arguments: [
        ("ordered: the first pod first", set(), [String](), ["create web-0"]),
        ("ordered: next once the previous is ready", set(), ["0R"], ["create web-1"]),
        ("ordered: waits for a pending pod", set(), ["0R", "1P"], []),
        ("ordered: waits for a running, unready pod", set(), ["0N"], []),
        ("ordered: nothing to do when all are ready", set(), ["0R", "1R", "2R"], []),
        ("parallel: every missing pod at once", set(parallel: true), [], ["create web-0", "create web-1", "create web-2"]),
        ("parallel: does not wait", set(parallel: true), ["0P"], ["create web-1", "create web-2"]),
        ("ordered scale down: highest first, one at a time", set(replicas: 1), ["0R", "1R", "2R"], ["delete web-2 condemned"]),
        ("ordered scale down: waits for a terminating pod", set(replicas: 1), ["0R", "1R", "2T"], []),
        ("ordered scale down: the first unhealthy pod may go", set(replicas: 1), ["0R", "1R", "2N"], ["delete web-2 condemned"]),
        ("ordered scale down: blocked by an unhealthy lower pod", set(replicas: 1), ["0R", "1N", "2N"], []),
        ("ordered scale down: waits for pods in range", set(replicas: 2), ["0N", "1R", "2R"], []),
        ("parallel scale down: all at once, highest first", set(replicas: 1, parallel: true), ["0R", "1R", "2R"],
         ["delete web-2 condemned", "delete web-1 condemned"]),
        ("a failed pod is recreated", set(replicas: 2), ["0F", "1R"], ["delete web-0 finished"]),
        ("rolling update: highest ordinal first", set(), ["0Ro", "1Ro", "2Ro"], ["delete web-2 update"]),
        ("rolling update: waits for the replacement", set(), ["0Ro", "1Ro", "2P"], []),
        ("rolling update: then the next one down", set(), ["0Ro", "1Ro", "2R"], ["delete web-1 update"]),
        ("rolling update: the partition holds lower ordinals", set(partition: 2), ["0Ro", "1Ro", "2R"], []),
        ("rolling update: down to the partition", set(partition: 1), ["0Ro", "1Ro", "2R"], ["delete web-1 update"]),
        ("partition: a pod at or above it comes at the update revision", set(partition: 2), ["0Ro", "1Ro"], ["create web-2"]),
        ("partition: a pod below it comes back at the current revision", set(partition: 2), ["0Ro"], ["create web-1 current"]),
        ("OnDelete leaves old pods", set(onDelete: true), ["0Ro", "1Ro", "2Ro"], []),
        ("OnDelete creates at the update revision", set(onDelete: true), ["0Ro", "1Ro"], ["create web-2"]),
        ("parallel rolling update: still one at a time", set(parallel: true), ["0Ro", "1Ro", "2Ro"], ["delete web-2 update"]),
        ("ordinals.start: names from the start", set(replicas: 2, start: 5), [], ["create web-5"]),
        ("ordinals.start: pods below the start are condemned", set(replicas: 2, start: 5), ["0R", "5R", "6R"], ["delete web-0 condemned"]),
        ("ordinals.start: the partition counts from the start", set(replicas: 2, partition: 1, start: 5), ["5Ro", "6Ro"], ["delete web-6 update"]),
        ("a set being deleted does nothing", set(deleting: true), [], []),
    ])
    func plan(_ rule: String, set: AppsV1.StatefulSet, pods: [String], expected: [String]) {
        let actions = StatefulSetCore.plan(set, pods: pods.map { Self.pod($0) }, currentRevision: "web-old", updateRevision: "web-new", now: Self.now)
        #expect(Self.describe(actions) == expected, "\(rule)")
    }

    @Test func minReadySecondsHoldsTheNextPod() {
        let set = Self.set(minReady: 30)
        let young = StatefulSetCore.plan(set, pods: [Self.pod("0R", readyFor: 10)], currentRevision: "web-new", updateRevision: "web-new", now: Self.now)
        #expect(young.isEmpty)
        let old = StatefulSetCore.plan(set, pods: [Self.pod("0R", readyFor: 60)], currentRevision: "web-new", updateRevision: "web-new", now: Self.now)
        #expect(Self.describe(old) == ["create web-1"])
    }

    @Test func podsWithoutIdentityLabelsAreRelabelled() {
        let actions = StatefulSetCore.plan(Self.set(), pods: [Self.pod("0R", labelled: false)], currentRevision: "web-new", updateRevision: "web-new", now: Self.now)
        #expect(Self.describe(actions) == ["relabel web-0", "create web-1"])
    }

    @Test(arguments: [
        ("web-0", 0), ("web-12", 12), ("web-", nil), ("web-01", nil), ("web-x", nil), ("webb-1", nil), ("web-1-2", nil), ("other-1", nil),
    ] as [(String, Int?)])
    func ordinals(_ name: String, ordinal: Int?) {
        #expect(StatefulSetCore.ordinal(of: name, setName: "web") == ordinal)
    }

    @Test func podHasIdentityStorageAndRevision() {
        var set = Self.set(claims: ["data"])
        set.spec?.template.spec?.volumes = [CoreV1.Volume(name: "data"), CoreV1.Volume(name: "scratch")]
        let pod = StatefulSetCore.makePod(set, template: set.spec!.template, revision: "web-abc", ordinal: 1)
        #expect(pod.metadata?.name == "web-1")
        #expect(pod.metadata?.generateName == nil)
        #expect(pod.metadata?.labels == ["app": "db", StatefulSetCore.podNameLabel: "web-1", StatefulSetCore.podIndexLabel: "1",
                                         StatefulSetCore.revisionLabel: "web-abc"])
        #expect(pod.spec?.hostname == "web-1" && pod.spec?.subdomain == "db")
        #expect(pod.spec?.volumes?.map(\.name) == ["data", "scratch"])
        #expect(pod.spec?.volumes?.first?.persistentVolumeClaim?.claimName == "data-web-1")
        #expect(pod.metadata?.ownerReferences?.first?.uid == "set-uid" && pod.metadata?.ownerReferences?.first?.controller == true)

        let claims = StatefulSetCore.claims(set, ordinal: 1)
        #expect(claims.map { $0.metadata?.name } == ["data-web-1"])
        #expect(claims.first?.metadata?.labels == ["kind": "storage", "app": "db"])
        #expect(claims.first?.metadata?.namespace == "ns")
    }

    /// Each row: whenDeleted, whenScaled, whether the pod is in range, the expected owner kinds.
    @Test(arguments: [
        ("Retain", "Retain", true, [String]()), ("Retain", "Retain", false, []),
        ("Delete", "Retain", true, ["StatefulSet"]), ("Delete", "Retain", false, ["StatefulSet"]),
        ("Retain", "Delete", true, []), ("Retain", "Delete", false, ["Pod"]),
        ("Delete", "Delete", true, ["StatefulSet"]), ("Delete", "Delete", false, ["Pod"]),
    ])
    func claimRetention(whenDeleted: String, whenScaled: String, inRange: Bool, owners: [String]) {
        var set = Self.set(claims: ["data"])
        set.spec?.persistentVolumeClaimRetentionPolicy = AppsV1.StatefulSetPersistentVolumeClaimRetentionPolicy(whenDeleted: whenDeleted, whenScaled: whenScaled)
        var claim = StatefulSetCore.claims(set, ordinal: 2)[0]
        // A stale reference to the set is replaced, other owners are kept.
        claim.metadata?.ownerReferences = [MetaV1.OwnerReference(apiVersion: "apps/v1", kind: "StatefulSet", name: "web", uid: "stale"),
                                           MetaV1.OwnerReference(apiVersion: "v1", kind: "ConfigMap", name: "keep", uid: "cm")]
        let refs = StatefulSetCore.claimOwnerReferences(claim, set: set, pod: Self.pod("2R"), inRange: inRange)
        #expect(refs.map(\.kind) == ["ConfigMap"] + owners)
        #expect(refs.dropFirst().allSatisfy { $0.controller == true && ($0.uid == "set-uid" || $0.uid == "web-2") })
    }

    @Test func statusCountsPodsAndRevisions() {
        let set = Self.set()
        let mid = StatefulSetCore.status(set, pods: ["0Ro", "1R", "2P"].map { Self.pod($0) }, currentRevision: "web-old", updateRevision: "web-new",
                                         collisionCount: nil, now: Self.now)
        #expect(mid.replicas == 3 && mid.readyReplicas == 2 && mid.availableReplicas == 2)
        #expect(mid.currentReplicas == 1 && mid.updatedReplicas == 2)
        #expect(mid.currentRevision == "web-old" && mid.updateRevision == "web-new" && mid.observedGeneration == 2)

        // Every pod updated and ready: the update revision becomes current.
        let done = StatefulSetCore.status(set, pods: ["0R", "1R", "2R"].map { Self.pod($0) }, currentRevision: "web-old", updateRevision: "web-new",
                                          collisionCount: 1, now: Self.now)
        #expect(done.currentRevision == "web-new" && done.currentReplicas == 3 && done.updatedReplicas == 3 && done.collisionCount == 1)

        // Terminating pods count as replicas but not toward a revision.
        let leaving = StatefulSetCore.status(set, pods: ["0R", "1T"].map { Self.pod($0) }, currentRevision: "web-new", updateRevision: "web-new",
                                             collisionCount: nil, now: Self.now)
        #expect(leaving.replicas == 2 && leaving.updatedReplicas == 1 && leaving.currentReplicas == 1)
    }
}
