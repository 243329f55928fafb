import CapstanAPI
@testable import CapstanNodeSimulator
import Testing

@Suite("Node simulator decisions (pure)")
struct PodTrackerTests {
    static func pod(phase: String = "Pending", terminating: Bool = false, annotations: [String: String] = [:]) -> SimulatedPod {
        var meta: [String: JSONValue] = ["name": .string("p"), "namespace": .string("default"), "uid": .string("u1")]
        if terminating { meta["deletionTimestamp"] = .string("2026-01-01T00:00:00Z") }
        if !annotations.isEmpty { meta["annotations"] = .object(annotations.mapValues { .string($0) }) }
        return SimulatedPod(.object([
            "metadata": .object(meta),
            "spec": .object(["nodeName": .string("n"), "containers": .array([.object(["name": .string("c"), "image": .string("i")])])]),
            "status": .object(["phase": .string(phase)]),
        ]))!
    }

    @Test func startsOnceAfterTheStartupDelay() {
        var t = PodTracker(podStartup: .seconds(2))
        guard case .start(_, let at)? = t.observe(Self.pod(), now: .seconds(10)) else {
            Issue.record("expected a start")
            return
        }
        #expect(at == .seconds(12))
        #expect(t.observe(Self.pod(), now: .seconds(11)) == nil)
        t.forget(uid: "u1")
        #expect(t.observe(Self.pod(), now: .seconds(13)) != nil)
    }

    @Test func annotatedRunningPodsFinishOnce() {
        var t = PodTracker(podStartup: .zero)
        let running = Self.pod(phase: "Running", annotations: [NodeSimulator.failAfterAnnotation: "1.5s"])
        guard case .finish(_, let succeeded, let at)? = t.observe(running, now: .seconds(1)) else {
            Issue.record("expected a finish")
            return
        }
        #expect(!succeeded)
        #expect(at == .milliseconds(2500))
        #expect(t.observe(running, now: .seconds(2)) == nil)
        #expect(t.observe(Self.pod(phase: "Failed"), now: .seconds(3)) == nil)
        #expect(t.stages.isEmpty)
    }

    @Test func terminatingPodsAreFinalizedOnce() {
        var t = PodTracker(podStartup: .zero)
        guard case .finalize? = t.observe(Self.pod(phase: "Running", terminating: true), now: .zero) else {
            Issue.record("expected a finalize")
            return
        }
        #expect(t.observe(Self.pod(phase: "Running", terminating: true), now: .zero) == nil)
        t.deleted(uid: "u1")
        #expect(t.stages.isEmpty)
    }

    @Test func deadlinesPopInOrder() {
        var d = Deadlines<String>()
        for (item, due) in [("c", 3), ("a", 1), ("d", 3), ("b", 2)] { d.push(item, due: .seconds(due)) }
        #expect(d.nextDue == .seconds(1))
        #expect(d.popDue(now: .seconds(2)) == ["a", "b"])
        #expect(d.popDue(now: .seconds(5)) == ["c", "d"])
        #expect(d.isEmpty)
    }
}

extension PodTracker.Action: Equatable {
    public static func == (a: PodTracker.Action, b: PodTracker.Action) -> Bool {
        switch (a, b) {
        case (.start(let p, let x), .start(let q, let y)): return p.uid == q.uid && x == y
        case (.finish(let p, let s, let x), .finish(let q, let t, let y)): return p.uid == q.uid && s == t && x == y
        case (.finalize(let p), .finalize(let q)): return p.uid == q.uid
        case (.invalidAnnotation(let p, _), .invalidAnnotation(let q, _)): return p.uid == q.uid
        default: return false
        }
    }
}
