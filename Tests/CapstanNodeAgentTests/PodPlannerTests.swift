import CapstanAPI
import CapstanContainerRuntime
import CapstanTesting
import Foundation
import Testing
@testable import CapstanNodeAgent

@Suite struct PodPlannerTests {
    @Test func noSandboxCreatesOneFirst() {
        var planner = PodPlanner()
        let plan = planner.plan(pod: makePod(containers: [container("app")]), runtime: runtime([], sandbox: nil), now: epoch)
        #expect(plan.actions == [.createSandbox(attempt: 0)])
    }

    @Test func initContainersRunInOrderBeforeAppContainers() {
        let pod = makePod(containers: [container("app")], initContainers: [container("i1"), container("i2")])
        let table: [(runs: [CapstanContainerRuntime.ContainerStatus], expected: [String])] = [
            ([], ["i1"]),
            ([run("i1", .running)], []),
            ([run("i1", .exited, exit: 0)], ["i2"]),
            ([run("i1", .exited, exit: 0), run("i2", .running)], []),
            ([run("i1", .exited, exit: 0), run("i2", .exited, exit: 0)], ["app"]),
        ]
        for row in table {
            var planner = PodPlanner()
            #expect(starts(planner.plan(pod: pod, runtime: runtime(row.runs), now: at(5))) == row.expected)
        }
    }

    @Test func sidecarStartsAndKeepsRunningWhileNextInitRuns() {
        let pod = makePod(containers: [container("app")], initContainers: [container("proxy", sidecar: true), container("setup")])
        var planner = PodPlanner()
        #expect(starts(planner.plan(pod: pod, runtime: runtime([]), now: epoch)) == ["proxy"])
        #expect(starts(planner.plan(pod: pod, runtime: runtime([run("proxy", .running)]), now: epoch)) == ["setup"])
        let done = runtime([run("proxy", .running), run("setup", .exited, exit: 0)])
        #expect(starts(planner.plan(pod: pod, runtime: done, now: epoch)) == ["app"])
    }

    @Test(arguments: [
        ("Always", Int32(0), true), ("Always", Int32(1), true),
        ("OnFailure", Int32(0), false), ("OnFailure", Int32(2), true),
        ("Never", Int32(0), false), ("Never", Int32(1), false),
    ])
    func restartPolicyDecidesRestarts(policy: String, exitCode: Int32, restarts: Bool) {
        let pod = makePod(containers: [container("app")], restartPolicy: policy)
        var planner = PodPlanner()
        let plan = planner.plan(pod: pod, runtime: runtime([run("app", .exited, exit: exitCode)]), now: at(60))
        #expect(starts(plan) == (restarts ? ["app"] : []))
    }

    @Test func crashLoopBackOffDoublesToFiveMinutesAndResetsAfterTenMinutesRunning() {
        let clock = ManualClock()
        let time = AgentClock(clock, epoch: epoch)
        let pod = makePod(containers: [container("app")])
        var planner = PodPlanner()
        var attempt = 0
        var observedDelays: [Int] = []
        var lastMessage = ""
        // Each run crashes 1 s after it starts; the worker restarts it as soon as the plan says so.
        var finished = time.now().addingTimeInterval(1)
        clock.advance(by: .seconds(1))
        while attempt < 8 {
            let state = runtime([run("app", attempt: attempt, .exited, exit: 1, started: finished.timeIntervalSince(epoch) - 1,
                                     finished: finished.timeIntervalSince(epoch))])
            let plan = planner.plan(pod: pod, runtime: state, now: time.now())
            if starts(plan) == ["app"] {
                observedDelays.append(Int(time.now().timeIntervalSince(finished).rounded()))
                attempt += 1
                clock.advance(by: .seconds(1))
                finished = time.now()
            } else {
                #expect(planner.waiting["app"]?.reason == "CrashLoopBackOff")
                lastMessage = planner.waiting["app"]?.message ?? ""
                let wake = try! #require(plan.wakeAt)
                clock.advance(by: Duration(timeInterval: wake.timeIntervalSince(time.now())))
            }
        }
        #expect(observedDelays == [0, 10, 20, 40, 80, 160, 300, 300])
        #expect(lastMessage == "back-off 5m0s restarting failed container=app")

        // A run of more than 10 minutes starts the back-off over: the next restart goes at once.
        let longRunStart = time.now()
        clock.advance(by: .seconds(601))
        let state = runtime([run("app", attempt: attempt, .exited, exit: 1, started: longRunStart.timeIntervalSince(epoch),
                                 finished: time.now().timeIntervalSince(epoch))])
        #expect(starts(planner.plan(pod: pod, runtime: state, now: time.now())) == ["app"])
        #expect(planner.backOff.delay("app") == 10)
    }

    @Test func imagePullFailureBacksOffAsImagePullBackOff() {
        let pod = makePod(containers: [container("app")])
        var planner = PodPlanner()
        #expect(starts(planner.plan(pod: pod, runtime: runtime([]), now: epoch)) == ["app"])
        planner.recordFailure(container: "app", image: "busybox", .imagePull("registry down"), now: epoch)
        #expect(planner.waiting["app"]?.reason == "ErrImagePull")
        let held = planner.plan(pod: pod, runtime: runtime([]), now: at(5))
        #expect(starts(held).isEmpty)
        #expect(planner.waiting["app"]?.reason == "ImagePullBackOff")
        #expect(held.wakeAt == at(10))
        #expect(starts(planner.plan(pod: pod, runtime: runtime([]), now: at(10))) == ["app"])
    }

    @Test func livenessFailureKillsAfterThresholdAndStartupGatesLiveness() {
        let probe = CoreV1.Probe(exec: CoreV1.ExecAction(command: ["true"]), failureThreshold: 2, periodSeconds: 5)
        let pod = makePod(containers: [container("app", liveness: probe, startup: probe)])
        var planner = PodPlanner()
        let running = runtime([run("app", .running)])
        var plan = planner.plan(pod: pod, runtime: running, now: epoch)
        #expect(plan.actions == [.probe(name: "app", containerID: "app-0", kind: .startup)])
        planner.recordProbe(container: "app", containerID: "app-0", kind: .startup, .success, now: epoch)
        #expect(planner.isStarted("app", containerID: "app-0"))
        plan = planner.plan(pod: pod, runtime: running, now: at(1))
        #expect(plan.actions == [.probe(name: "app", containerID: "app-0", kind: .liveness)])
        planner.recordProbe(container: "app", containerID: "app-0", kind: .liveness, .failure("exit 1"), now: at(1))
        plan = planner.plan(pod: pod, runtime: running, now: at(2))
        #expect(plan.actions.isEmpty)
        #expect(plan.wakeAt == at(6))
        planner.recordProbe(container: "app", containerID: "app-0", kind: .liveness, .failure("exit 1"), now: at(6))
        plan = planner.plan(pod: pod, runtime: running, now: at(6))
        #expect(plan.actions == [.killContainer(id: "app-0", name: "app", gracePeriod: 30, reason: .livenessFailed)])
    }

    @Test func readinessNeedsSuccessThreshold() {
        var tracker = ProbeTracker(kind: .readiness, probe: CoreV1.Probe(failureThreshold: 1, initialDelaySeconds: 3, periodSeconds: 1,
                                                                        successThreshold: 2))
        #expect(tracker.result == false)
        var due = tracker.isDue(now: at(1), startedAt: epoch)
        #expect(!due)
        due = tracker.isDue(now: at(3), startedAt: epoch)
        #expect(due)
        var changed = tracker.record(.success, now: at(3))
        #expect(!changed && tracker.result == false)
        due = tracker.isDue(now: at(3.5), startedAt: epoch)
        #expect(!due)
        changed = tracker.record(.success, now: at(4))
        #expect(changed && tracker.result == true)
        changed = tracker.record(.failure("503"), now: at(5))
        #expect(changed && tracker.result == false)
    }

    @Test func deletionKillsThenStopsSandboxThenFinalizes() {
        var pod = makePod(containers: [container("app")])
        pod.metadata?.deletionTimestamp = MetaV1.Time(date: epoch)
        pod.metadata?.deletionGracePeriodSeconds = 5
        var planner = PodPlanner()
        #expect(planner.plan(pod: pod, runtime: runtime([run("app", .running)]), now: epoch).actions
            == [.killContainer(id: "app-0", name: "app", gracePeriod: 5, reason: .podTerminating)])
        #expect(planner.plan(pod: pod, runtime: runtime([run("app", .exited)]), now: epoch).actions
            == [.stopSandbox(id: "sb-0"), .removeSandbox(id: "sb-0"), .finalizeDeletion])
        #expect(planner.plan(pod: pod, runtime: runtime([], sandbox: nil), now: epoch).actions == [.finalizeDeletion])
    }

    @Test func activeDeadlineKillsRunningContainers() {
        var pod = makePod(containers: [container("app")])
        pod.spec?.activeDeadlineSeconds = 30
        var planner = PodPlanner(startTime: epoch)
        let early = planner.plan(pod: pod, runtime: runtime([run("app", .running)]), now: at(10))
        #expect(early.actions.isEmpty && early.wakeAt == at(30))
        #expect(planner.plan(pod: pod, runtime: runtime([run("app", .running)]), now: at(30)).actions
            == [.killContainer(id: "app-0", name: "app", gracePeriod: 30, reason: .deadlineExceeded)])
        let status = PodStatusBuilder(runtimeName: "runc", hostIP: "10.0.0.5", podIPs: ["10.42.0.2"])
            .status(pod: pod, runtime: runtime([run("app", .exited, exit: 137)]), planner: planner, now: at(31))
        #expect(status.phase == "Failed" && status.reason == "DeadlineExceeded")
    }

    @Test func completedPodStopsSidecarsAndSandbox() {
        let pod = makePod(containers: [container("app")], initContainers: [container("log", sidecar: true)], restartPolicy: "Never")
        var planner = PodPlanner()
        let state = runtime([run("log", .running), run("app", .exited, exit: 0)])
        #expect(planner.plan(pod: pod, runtime: state, now: epoch).actions
            == [.killContainer(id: "log-0", name: "log", gracePeriod: 30, reason: .podCompleted)])
        #expect(planner.plan(pod: pod, runtime: runtime([run("log", .exited, exit: 143), run("app", .exited)]), now: epoch).actions
            == [.stopSandbox(id: "sb-0")])
    }

    @Test func oldRunsAreRemovedKeepingTheLatestTwo() {
        var planner = PodPlanner()
        let state = runtime([run("app", attempt: 0, .exited, exit: 1), run("app", attempt: 1, .exited, exit: 1),
                             run("app", attempt: 2, .running)])
        let plan = planner.plan(pod: makePod(containers: [container("app")]), runtime: state, now: at(100))
        #expect(plan.actions == [.removeContainer(id: "app-0")])
    }
}
