import CapstanAPI
import CapstanContainerRuntime
import Foundation
import Testing
@testable import CapstanNodeAgent

@Suite struct PodStatusBuilderTests {
    let builder = PodStatusBuilder(runtimeName: "runc", hostIP: "10.0.0.5", podIPs: ["10.42.0.7"])

    func condition(_ status: CoreV1.PodStatus, _ type: String) -> CoreV1.PodCondition? {
        status.conditions?.first { $0.type == type }
    }

    @Test func runningReadyPodLooksLikeKubelets() {
        let pod = makePod(containers: [container("app")])
        var planner = PodPlanner()
        let state = runtime([run("app", .running, started: 2)])
        _ = planner.plan(pod: pod, runtime: state, now: at(3))
        let status = builder.status(pod: pod, runtime: state, planner: planner, now: at(3))
        #expect(status.phase == "Running")
        #expect(status.podIP == "10.42.0.7" && status.podIPs == [CoreV1.PodIP(ip: "10.42.0.7")])
        #expect(status.hostIP == "10.0.0.5" && status.hostIPs == [CoreV1.HostIP(ip: "10.0.0.5")])
        #expect(status.qosClass == "BestEffort")
        #expect(status.conditions?.map(\.type) == ["PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"])
        #expect(status.conditions?.allSatisfy { $0.status == "True" } == true)
        let app = try! #require(status.containerStatuses?.first)
        #expect(app.ready && app.started == true && app.restartCount == 0)
        #expect(app.containerID == "runc://app-0" && app.imageID == "sha256:abc" && app.image == "busybox")
        #expect(app.state?.running?.startedAt == at(2).metaTime)
    }

    @Test func waitingReasonsFollowInitAndPulls() {
        let pod = makePod(containers: [container("app")], initContainers: [container("init")])
        var planner = PodPlanner()
        let state = runtime([run("init", .running)])
        _ = planner.plan(pod: pod, runtime: state, now: epoch)
        var status = builder.status(pod: pod, runtime: state, planner: planner, now: epoch)
        #expect(status.phase == "Pending")
        #expect(status.containerStatuses?.first?.state?.waiting?.reason == "PodInitializing")
        #expect(condition(status, "Initialized")?.status == "False")
        #expect(condition(status, "Initialized")?.reason == "ContainersNotInitialized")
        #expect(condition(status, "Initialized")?.message == "containers with incomplete status: [init]")
        #expect(condition(status, "Ready")?.message == "containers with unready status: [app]")

        let done = runtime([run("init", .exited, exit: 0)])
        planner.recordFailure(container: "app", image: "busybox", .imagePull("manifest unknown"), now: epoch)
        status = builder.status(pod: pod, runtime: done, planner: planner, now: epoch)
        #expect(status.containerStatuses?.first?.state?.waiting == CoreV1.ContainerStateWaiting(message: "manifest unknown", reason: "ErrImagePull"))
        #expect(status.initContainerStatuses?.first?.state?.terminated?.reason == "Completed")
        #expect(condition(status, "Initialized")?.status == "True")
    }

    @Test func crashLoopShowsLastStateAndRestartCount() {
        let pod = makePod(containers: [container("app")])
        var planner = PodPlanner()
        let first = runtime([run("app", attempt: 0, .exited, exit: 1, started: 0, finished: 1)])
        _ = planner.plan(pod: pod, runtime: first, now: at(1))
        let second = runtime([run("app", attempt: 0, .exited, exit: 1, started: 0, finished: 1),
                              run("app", attempt: 1, .exited, exit: 2, started: 1, finished: 2)])
        _ = planner.plan(pod: pod, runtime: second, now: at(3))
        let status = builder.status(pod: pod, runtime: second, planner: planner, now: at(3))
        let app = try! #require(status.containerStatuses?.first)
        #expect(app.restartCount == 1)
        #expect(app.state?.waiting?.reason == "CrashLoopBackOff")
        #expect(app.state?.waiting?.message == "back-off 10s restarting failed container=app pod=web_default(uid-1)")
        #expect(app.lastState?.terminated?.exitCode == 2 && app.lastState?.terminated?.reason == "Error")
        #expect(status.phase == "Running")
        #expect(condition(status, "Ready")?.status == "False")
    }

    @Test(arguments: [
        ("Never", [Int32(0), 0], "Succeeded"), ("Never", [0, 1], "Failed"),
        ("OnFailure", [0, 0], "Succeeded"), ("OnFailure", [0, 3], "Running"), ("Always", [0, 0], "Running"),
    ])
    func phaseFromExitCodes(policy: String, codes: [Int32], phase: String) {
        let pod = makePod(containers: [container("a"), container("b")], restartPolicy: policy)
        let state = runtime([run("a", .exited, exit: codes[0]), run("b", .exited, exit: codes[1])])
        let status = builder.status(pod: pod, runtime: state, planner: PodPlanner(), now: epoch)
        #expect(status.phase == phase)
        if phase == "Succeeded" { #expect(condition(status, "Ready")?.reason == "PodCompleted") }
    }

    @Test func conditionTransitionTimesMoveOnlyOnChange() {
        var pod = makePod(containers: [container("app")])
        var planner = PodPlanner()
        let running = runtime([run("app", .running)])
        _ = planner.plan(pod: pod, runtime: running, now: at(10))
        pod.status = builder.status(pod: pod, runtime: running, planner: planner, now: at(10))
        #expect(condition(pod.status!, "Ready")?.status == "True")
        let later = builder.status(pod: pod, runtime: running, planner: planner, now: at(50))
        #expect(condition(later, "Ready")?.lastTransitionTime == at(10).metaTime)
        let exited = runtime([run("app", .exited, exit: 1)])
        _ = planner.plan(pod: pod, runtime: exited, now: at(60))
        let notReady = builder.status(pod: pod, runtime: exited, planner: planner, now: at(60))
        #expect(condition(notReady, "Ready")?.status == "False")
        #expect(condition(notReady, "Ready")?.lastTransitionTime == at(60).metaTime)
        #expect(condition(notReady, "PodReadyToStartContainers")?.lastTransitionTime == at(10).metaTime)
    }

    @Test(arguments: [
        (["cpu": "1", "memory": "1Gi"], ["cpu": "1", "memory": "1Gi"], "Guaranteed"),
        ([:], ["cpu": "500m", "memory": "128Mi"], "Guaranteed"),
        (["cpu": "100m"], [:], "Burstable"),
        ([:], [:], "BestEffort"),
    ] as [([String: String], [String: String], String)])
    func qosClasses(requests: [String: String], limits: [String: String], expected: String) {
        var app = container("app")
        app.resources = CoreV1.ResourceRequirements(limits: limits.mapValues { Quantity(stringLiteral: $0) },
                                                    requests: requests.mapValues { Quantity(stringLiteral: $0) })
        #expect(PodStatusBuilder.qosClass(CoreV1.PodSpec(containers: [app])) == expected)
    }
}
