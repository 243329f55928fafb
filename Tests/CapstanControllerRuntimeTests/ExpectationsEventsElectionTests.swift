import CapstanAPI
import CapstanTesting
import Foundation
import Testing
@testable import CapstanControllerRuntime

@Suite struct ExpectationsTests {
    @Test func satisfiedOnceEveryExpectedChangeIsObservedOrTheTTLPasses() {
        let manual = ManualClock()
        let e = Expectations(ttl: .seconds(300), clock: ControllerClock(manual))
        #expect(e.satisfied("ns/rs"))
        e.expect("ns/rs", adds: 2)
        #expect(!e.satisfied("ns/rs"))
        e.creationObserved("ns/rs")
        #expect(!e.satisfied("ns/rs"))
        e.creationObserved("ns/rs")
        #expect(e.satisfied("ns/rs"))
        e.expect("ns/rs", deletes: 1)
        e.raise("ns/rs", deletes: 1)
        #expect(e.pending("ns/rs")! == (0, 2))
        manual.advance(by: .seconds(301))
        #expect(e.satisfied("ns/rs"), "expired expectations do not block forever")
        e.delete("ns/rs")
        #expect(e.pending("ns/rs") == nil)
    }
}

@Suite struct EventAggregatorTests {
    static let ref = CoreV1.ObjectReference(apiVersion: "apps/v1", kind: "Deployment", name: "web", namespace: "prod", uid: "u1")

    @Test func sameEventWithinTenMinutesBumpsTheCount() throws {
        var agg = EventAggregator(component: "deployment-controller")
        let t0 = Date(timeIntervalSince1970: 1_700_000_000)
        let record = EventRecord(involvedObject: Self.ref, type: .normal, reason: "ScalingReplicaSet", message: "Scaled up to 3")
        guard case .create(let event) = agg.record(record, at: t0) else { Issue.record("expected a create"); return }
        #expect(event.metadata.namespace == "prod")
        #expect(event.metadata.name?.hasPrefix("web.") == true)
        #expect(event.count == 1 && event.source?.component == "deployment-controller" && event.type == "Normal")
        #expect(agg.record(record, at: t0 + 60) == .update(namespace: "prod", name: event.metadata.name!, count: 2,
                                                            lastTimestamp: MetaV1.Time(t0 + 60)))
        var other = record
        other.message = "Scaled up to 4"
        guard case .create = agg.record(other, at: t0 + 61) else { Issue.record("a different message is a new event"); return }
        guard case .create(let later) = agg.record(record, at: t0 + 60 + 601) else { Issue.record("after the window: new event"); return }
        #expect(later.metadata.name != event.metadata.name)
    }

    @Test func clusterScopedObjectsGetEventsInDefault() {
        var agg = EventAggregator(component: "x")
        let node = CoreV1.ObjectReference(apiVersion: "v1", kind: "Node", name: "n1", uid: "n")
        guard case .create(let e) = agg.record(EventRecord(involvedObject: node, type: .warning, reason: "R", message: "m"), at: Date()) else {
            Issue.record("expected a create"); return
        }
        #expect(e.metadata.namespace == "default" && e.type == "Warning")
    }
}

@Suite struct LeaderElectionCoreTests {
    let date = Date(timeIntervalSince1970: 1_700_000_000)

    @Test func createsWhenNoLeaseThenRenewsItsOwn() {
        var a = LeaderElectionCore(identity: "a")
        a.observe(nil, now: .zero)
        guard case .create(let spec) = a.decide(now: .zero, date: date) else { Issue.record("expected create"); return }
        #expect(spec.holderIdentity == "a" && spec.leaseDurationSeconds == 15 && spec.leaseTransitions == 0)
        a.observe(spec, now: .zero)
        #expect(a.isLeader)
        guard case .update(let renewed) = a.decide(now: .seconds(2), date: date + 2) else { Issue.record("expected renew"); return }
        #expect(renewed.renewTime == MetaV1.MicroTime(date + 2) && renewed.acquireTime == spec.acquireTime)
    }

    @Test func takesOverOnlyAfterTheLeaseStoppedChangingForItsDuration() {
        let held = CoordinationV1.LeaseSpec(acquireTime: MetaV1.MicroTime(date), holderIdentity: "a", leaseDurationSeconds: 15,
                                            leaseTransitions: 3, renewTime: MetaV1.MicroTime(date))
        var b = LeaderElectionCore(identity: "b")
        b.observe(held, now: .seconds(100))
        #expect(b.decide(now: .seconds(114), date: date) == .wait)
        b.observe(held, now: .seconds(114))  // unchanged: the observation time stays
        guard case .update(let taken) = b.decide(now: .seconds(115), date: date + 115) else { Issue.record("expected take-over"); return }
        #expect(taken.holderIdentity == "b" && taken.leaseTransitions == 4)
        var renewedByA = held
        renewedByA.renewTime = MetaV1.MicroTime(date + 10)
        b.observe(renewedByA, now: .seconds(116))
        #expect(b.decide(now: .seconds(130), date: date) == .wait, "a renewal restarts the wait")
    }

    @Test func releasedLeaseIsTakenAtOnce() {
        var b = LeaderElectionCore(identity: "b")
        b.observe(CoordinationV1.LeaseSpec(holderIdentity: nil, leaseDurationSeconds: 1, leaseTransitions: 2), now: .zero)
        guard case .update(let spec) = b.decide(now: .zero, date: date) else { Issue.record("expected acquire"); return }
        #expect(spec.holderIdentity == "b" && spec.leaseTransitions == 2)
    }
}

@Suite struct ControllerSelectionTests {
    @Test(arguments: [
        (["*"], "job", true, true),
        (["*", "-job"], "job", true, false),
        (["*,-job"], "job", true, false),
        (["job"], "deployment", true, false),
        (["job"], "job", true, true),
        (["*"], "bootstrapsigner", false, false),
        (["*", "bootstrapsigner"], "bootstrapsigner", false, true),
    ])
    func selection(items: [String], name: String, byDefault: Bool, enabled: Bool) {
        #expect(ControllerSelection(items).isEnabled(name, enabledByDefault: byDefault) == enabled)
    }

    @Test func unknownNamesAreRejected() {
        #expect(throws: ControllerSelectionError.self) { try ControllerSelection(["*", "-nope"]).validate(known: ["job"]) }
        #expect(throws: Never.self) { try ControllerSelection(["*", "-job"]).validate(known: ["job"]) }
    }
}
