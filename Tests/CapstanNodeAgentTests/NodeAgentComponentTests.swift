import CapstanAPI
import CapstanAPIMachinery
import CapstanClient
import CapstanContainerRuntime
import CapstanTesting
import Foundation
import Synchronization
import Testing
@testable import CapstanNodeAgent

/// A manual clock that a background task moves 1 s every few milliseconds: back-offs of minutes
/// pass in well under a second, and every date the agent writes comes from it.
final class FastClock: Sendable {
    let clock = ManualClock()
    let agentClock: AgentClock
    private let ticker: Task<Void, Never>

    init(step: Duration = .seconds(1), every interval: Duration = .milliseconds(4)) {
        let clock = clock
        agentClock = AgentClock(clock, epoch: Date())
        ticker = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                clock.advance(by: step)
            }
        }
    }

    deinit { ticker.cancel() }
}

/// Runs an agent with the fake runtime against the server until `body` returns.
func withAgent<R>(_ client: APIClient, runtime: FakeContainerRuntime, clock: AgentClock, server: AgentServerConfiguration? = nil,
                  node: String = "node-1", parallelStarts: Int = NodeAgentConfiguration.defaultParallelStarts, _ body: (NodeAgent) async throws -> R) async throws -> R {
    try await withTemporaryDirectory { root in
        var configuration = NodeAgentConfiguration(nodeName: node, rootDirectory: root, network: .none, syncInterval: .seconds(1),
                                                   server: server, clock: clock)
        configuration.parallelStarts = parallelStarts
        let agent = NodeAgent(client: client, configuration: configuration, runtime: runtime, imageService: runtime, logger: quietLogger)
        let task = Task { try await agent.run() }
        defer { task.cancel() }
        let result = try await body(agent)
        task.cancel()
        _ = await task.result
        return result
    }
}

/// `withAgent` with a fresh fake runtime on a fast clock (holding `busybox:1.36` unless `image` is false).
func withFakeAgent<R>(_ client: APIClient, image: Bool = true, server: AgentServerConfiguration? = nil, parallelStarts: Int = NodeAgentConfiguration.defaultParallelStarts,
                      _ body: (FakeContainerRuntime, NodeAgent) async throws -> R) async throws -> R {
    let fast = FastClock()
    let runtime = FakeContainerRuntime(now: { fast.agentClock.now() })
    if image { runtime.addImage("busybox:1.36") }
    return try await withAgent(client, runtime: runtime, clock: fast.agentClock, server: server, parallelStarts: parallelStarts) {
        try await body(runtime, $0)
    }
}

/// The events kubelet recorded about a pod of the default namespace.
func kubeletEvents(_ client: APIClient, pod: String) async -> [CoreV1.Event] {
    let events = (try? await client.list(CoreV1.Event.self, namespace: "default").items) ?? []
    return events.filter { $0.involvedObject.name == pod && $0.source?.component == "kubelet" }
}

func boundPod(_ name: String, command: [String], node: String = "node-1", grace: Int64? = nil,
              readiness: CoreV1.Probe? = nil) -> CoreV1.Pod {
    CoreV1.Pod(metadata: MetaV1.ObjectMeta(name: name, namespace: "default"),
               spec: CoreV1.PodSpec(containers: [CoreV1.Container(command: command, image: "busybox:1.36", imagePullPolicy: "IfNotPresent",
                                                                  name: "app", readinessProbe: readiness)],
                                    nodeName: node, terminationGracePeriodSeconds: grace))
}

@Suite(.serialized) struct NodeAgentComponentTests {
    @Test func registersNodeWithLeaseAndRenewsIt() async throws {
        try await withClient { client, _ in
            try await withFakeAgent(client, image: false) { _, _ in
                #expect(await eventually { (try? await client.get(CoordinationV1.Lease.self, name: "node-1", namespace: "kube-node-lease")) != nil })
                let node = try await client.get(CoreV1.Node.self, name: "node-1")
                #expect(node.metadata?.labels?["kubernetes.io/hostname"] == "node-1")
                #expect(node.status?.nodeInfo?.containerRuntimeVersion == "fake://1.0.0")
                #expect(node.status?.nodeInfo?.kubeletVersion == "v1.33.0-capstan")
                #expect(node.status?.capacity?["pods"] == Quantity(110))
                #expect(node.status?.conditions?.first { $0.type == "Ready" }?.status == "True")
                let first = try await client.get(CoordinationV1.Lease.self, name: "node-1", namespace: "kube-node-lease").spec?.renewTime
                #expect(await eventually {
                    let renewed = try? await client.get(CoordinationV1.Lease.self, name: "node-1", namespace: "kube-node-lease").spec?.renewTime
                    return renewed != nil && renewed != first
                })
            }
        }
    }

    @Test func boundPodBecomesRunningAndReady() async throws {
        try await withClient { client, _ in
            try await withFakeAgent(client) { runtime, _ in
                let probe = CoreV1.Probe(exec: CoreV1.ExecAction(command: ["fake", "exit", "0"]), periodSeconds: 5)
                _ = try await client.create(boundPod("web", command: ["sleep", "infinity"], readiness: probe))
                var pod: CoreV1.Pod?
                #expect(await eventually {
                    pod = try? await client.get(CoreV1.Pod.self, name: "web", namespace: "default")
                    return pod?.status?.conditions?.first { $0.type == "Ready" }?.status == "True"
                })
                let status = try #require(pod?.status)
                #expect(status.phase == "Running")
                #expect(status.qosClass == "BestEffort" && status.startTime != nil && status.hostIP != nil)
                #expect(status.conditions?.first { $0.type == "PodReadyToStartContainers" }?.status == "True")
                #expect(status.conditions?.first { $0.type == "Initialized" }?.status == "True")
                #expect(status.conditions?.first { $0.type == "ContainersReady" }?.status == "True")
                let app = try #require(status.containerStatuses?.first)
                #expect(app.ready && app.started == true && app.restartCount == 0)
                #expect(app.containerID?.hasPrefix("fake://") == true && app.imageID.hasPrefix("sha256:"))
                #expect(app.state?.running?.startedAt != nil)
                // Kubelet's events, about the container, from the kubelet of this node.
                var events: [CoreV1.Event] = []
                #expect(await eventually {
                    events = await kubeletEvents(client, pod: "web")
                    return Set(events.map(\.reason)).isSuperset(of: ["Pulled", "Created", "Started"])
                }, "\(events.map(\.reason))")
                let started = try #require(events.first { $0.reason == "Started" })
                #expect(started.message == "Started container app" && started.type == "Normal", "\(started)")
                #expect(started.involvedObject.fieldPath == "spec.containers{app}" && started.involvedObject.kind == "Pod")
                #expect(started.source?.component == "kubelet" && started.source?.host == "node-1")
                #expect(events.first { $0.reason == "Pulled" }?.message?.contains("already present on machine") == true)
            }
        }
    }

    /// As kubelet: a container without a readiness probe is ready in the first status that
    /// reports it running; the pod is not first written Running and unready.
    @Test func firstRunningStatusIsReadyWithoutAReadinessProbe() async throws {
        try await withClient { client, _ in
            try await withFakeAgent(client) { runtime, _ in
                // The Pending status is written while the container starts.
                runtime.delayStarts(by: .milliseconds(300))
                let firstRunning = Task { () -> CoreV1.Pod? in
                    for try await event in client.watch(CoreV1.Pod.self, namespace: "default") {
                        if case .modified(let pod) = event, pod.metadata?.name == "plain", pod.status?.phase == "Running" { return pod }
                    }
                    return nil
                }
                try await Task.sleep(for: .milliseconds(100))
                _ = try await client.create(boundPod("plain", command: ["sleep", "infinity"]))
                let result = await withTaskGroup(of: CoreV1.Pod?.self) { group in
                    group.addTask { try? await firstRunning.value }
                    group.addTask { try? await Task.sleep(for: .seconds(20)); return nil }
                    let first = await group.next() ?? nil
                    firstRunning.cancel()
                    group.cancelAll()
                    return first
                }
                let pod = try #require(result)
                #expect(pod.status?.containerStatuses?.first?.ready == true, "\(String(describing: pod.status))")
                #expect(pod.status?.conditions?.first { $0.type == "Ready" }?.status == "True")
                #expect(pod.status?.conditions?.first { $0.type == "ContainersReady" }?.status == "True")
            }
        }
    }

    /// Statuses are written beside the pod worker: a condition once reported keeps its
    /// transition time in every later write, and a readiness gate's condition set by someone
    /// else stays.
    @Test func conditionsKeepTheirTransitionTimesAcrossStatusWrites() async throws {
        try await withClient { client, _ in
            try await withFakeAgent(client) { _, _ in
                var pod = boundPod("gated", command: ["sleep", "infinity"])
                pod.spec?.readinessGates = [CoreV1.PodReadinessGate(conditionType: "example.com/ready")]
                let created = try await client.create(pod)
                let versions = Mutex<[CoreV1.PodStatus]>([])
                let watch = Task {
                    for try await event in client.watch(CoreV1.Pod.self, namespace: "default") {
                        if case .modified(let p) = event, p.metadata?.name == "gated", let status = p.status {
                            versions.withLock { $0.append(status) }
                        }
                    }
                }
                defer { watch.cancel() }
                #expect(await eventually {
                    let p = try? await client.get(CoreV1.Pod.self, name: "gated", namespace: "default")
                    return p?.status?.conditions?.first { $0.type == "ContainersReady" }?.status == "True"
                })
                // The gate opens: the pod becomes Ready and the gate's condition stays in later writes.
                let gate = CoreV1.PodCondition(lastTransitionTime: MetaV1.Time(date: Date()), status: "True", type: "example.com/ready")
                _ = try await client.patch(CoreV1.Pod.self, name: "gated", namespace: "default",
                                           .strategicMerge(.object(["status": .object(["conditions": .array([try .encoding(gate)])])])),
                                           subresource: "status")
                var ready: CoreV1.Pod?
                #expect(await eventually {
                    ready = try? await client.get(CoreV1.Pod.self, name: "gated", namespace: "default")
                    return ready?.status?.conditions?.first { $0.type == "Ready" }?.status == "True"
                })
                #expect(ready?.status?.conditions?.first { $0.type == "example.com/ready" }?.status == "True")
                #expect(ready?.metadata?.uid == created.metadata?.uid)
                let seen = versions.withLock { $0 }
                for type in ["PodReadyToStartContainers", "Initialized", "PodScheduled"] {
                    let times = Set(seen.compactMap { s in s.conditions?.first { $0.type == type && $0.status == "True" }?.lastTransitionTime })
                    #expect(times.count == 1, "\(type): \(times) over \(seen.count) versions")
                }
            }
        }
    }

    @Test func crashingContainerGoesIntoCrashLoopBackOffWithGrowingDelays() async throws {
        try await withClient { client, _ in
            try await withFakeAgent(client) { runtime, _ in
                _ = try await client.create(boundPod("crash", command: ["fake", "exit", "3"]))
                var messages = Set<String>()
                var last: CoreV1.ContainerStatus?
                #expect(await eventually(timeout: .seconds(20)) {
                    last = try? await client.get(CoreV1.Pod.self, name: "crash", namespace: "default").status?.containerStatuses?.first
                    if let waiting = last?.state?.waiting, waiting.reason == "CrashLoopBackOff", let message = waiting.message {
                        messages.insert(String(message.prefix { $0 != "r" }))
                    }
                    return (last?.restartCount ?? 0) >= 4
                })
                // Back-off doubles from 10 s; under load some steps pass between two reads, so at
                // least two of the series must have been seen, and nothing outside it.
                let series: Set<String> = ["back-off 10s ", "back-off 20s ", "back-off 40s ", "back-off 1m20s ", "back-off 2m40s ", "back-off 5m0s "]
                #expect(messages.count >= 2 && messages.isSubset(of: series), "\(messages)")
                #expect(last?.lastState?.terminated?.exitCode == 3 && last?.lastState?.terminated?.reason == "Error")
                let pod = try await client.get(CoreV1.Pod.self, name: "crash", namespace: "default")
                #expect(pod.status?.phase == "Running")
                #expect(pod.status?.conditions?.first { $0.type == "Ready" }?.reason == "ContainersNotReady")
                // Only the newest two runs are kept.
                #expect(await eventually { (try? await runtime.listContainers(ContainerFilter()).count) ?? 0 <= 2 })
                #expect(await eventually {
                    await kubeletEvents(client, pod: "crash").contains {
                        $0.reason == "BackOff" && $0.type == "Warning" && $0.message?.hasPrefix("Back-off restarting failed container app in pod crash_default(") == true
                    }
                })
            }
        }
    }

    @Test func gracefulDeletionStopsContainersThenFinalizes() async throws {
        try await withClient { client, _ in
            try await withFakeAgent(client) { runtime, _ in
                var pod = boundPod("doomed", command: ["sleep", "infinity"], grace: 7)
                pod.spec?.containers[0].lifecycle = CoreV1.Lifecycle(preStop: CoreV1.LifecycleHandler(exec: CoreV1.ExecAction(command: ["fake", "echo", "bye"])))
                _ = try await client.create(pod)
                #expect(await eventually { (try? await client.get(CoreV1.Pod.self, name: "doomed", namespace: "default"))?.status?.phase == "Running" })
                try await client.delete(CoreV1.Pod.self, name: "doomed", namespace: "default")
                #expect(await eventually {
                    do { _ = try await client.get(CoreV1.Pod.self, name: "doomed", namespace: "default"); return false } catch {
                        return (error as? APIError)?.code == 404
                    }
                })
                let operations = runtime.calls.map(\.operation)
                let exec = try #require(operations.firstIndex(of: .execSync))
                let stop = try #require(operations.firstIndex(of: .stopContainer))
                #expect(exec < stop)
                #expect(operations.contains(.removePodSandbox))
                #expect(try await runtime.listPodSandboxes(PodSandboxFilter()).isEmpty)
            }
        }
    }

    @Test func restartedAgentAdoptsRunningContainers() async throws {
        try await withClient { client, _ in
            let fast = FastClock()
            let runtime = FakeContainerRuntime(now: { fast.agentClock.now() })
            runtime.addImage("busybox:1.36")
            let first = try await withAgent(client, runtime: runtime, clock: fast.agentClock) { _ in
                _ = try await client.create(boundPod("keep", command: ["sleep", "infinity"]))
                var id: String?
                _ = await eventually {
                    id = try? await client.get(CoreV1.Pod.self, name: "keep", namespace: "default").status?.containerStatuses?.first?.containerID
                    return id != nil
                }
                return id
            }
            runtime.resetCalls()
            try await withAgent(client, runtime: runtime, clock: fast.agentClock) { _ in
                try await Task.sleep(for: .milliseconds(300))
                let pod = try await client.get(CoreV1.Pod.self, name: "keep", namespace: "default")
                #expect(pod.status?.containerStatuses?.first?.containerID == first)
                #expect(pod.status?.containerStatuses?.first?.restartCount == 0)
                #expect(!runtime.calls.contains { $0.operation == .startContainer || $0.operation == .runPodSandbox })
            }
        }
    }

    @Test func missingEnvironmentSecretIsCreateContainerConfigError() async throws {
        try await withClient { client, _ in
            try await withFakeAgent(client) { _, _ in
                var pod = boundPod("noenv", command: ["sleep", "infinity"])
                pod.spec?.containers[0].env = [CoreV1.EnvVar(name: "PASSWORD", valueFrom: CoreV1.EnvVarSource(
                    secretKeyRef: CoreV1.SecretKeySelector(key: "password", name: "absent")))]
                _ = try await client.create(pod)
                var waiting: CoreV1.ContainerStateWaiting?
                #expect(await eventually {
                    waiting = try? await client.get(CoreV1.Pod.self, name: "noenv", namespace: "default").status?.containerStatuses?.first?.state?.waiting
                    return waiting?.reason == "CreateContainerConfigError"
                })
                #expect(waiting?.message == "secret \"absent\" not found")
            }
        }
    }

    @Test func errImagePullThenImagePullBackOff() async throws {
        try await withClient { client, _ in
            try await withFakeAgent(client, image: false) { _, _ in
                _ = try await client.create(boundPod("nope", command: ["sleep", "1"]))
                var reasons = Set<String>()
                #expect(await eventually {
                    let waiting = try? await client.get(CoreV1.Pod.self, name: "nope", namespace: "default").status?.containerStatuses?.first?.state?.waiting
                    if let reason = waiting?.reason { reasons.insert(reason) }
                    return reasons.contains("ImagePullBackOff")
                })
                let pod = try await client.get(CoreV1.Pod.self, name: "nope", namespace: "default")
                #expect(pod.status?.phase == "Pending")
                var events: [CoreV1.Event] = []
                #expect(await eventually {
                    events = await kubeletEvents(client, pod: "nope")
                    return Set(events.map(\.reason)).isSuperset(of: ["Pulling", "Failed", "BackOff"])
                }, "\(events.map { "\($0.reason): \($0.message)" })")
                #expect(events.contains { $0.reason == "Failed" && $0.message == "Error: ErrImagePull" && $0.type == "Warning" })
            }
        }
    }

    /// With one pod starting at a time, a pod stuck pulling or crash-looping gives the slot up:
    /// the pods after it start.
    @Test func oneStartAtATimeStillStartsEveryPodPastAStuckOne() async throws {
        try await withClient { client, _ in
            try await withFakeAgent(client, parallelStarts: 1) { _, _ in
                var stuck = boundPod("stuck", command: ["sleep", "1"])
                stuck.spec?.containers[0].image = "registry.invalid/missing:1"
                _ = try await client.create(stuck)
                _ = try await client.create(boundPod("crashing", command: ["fake", "exit", "1"]))
                for i in 0..<3 { _ = try await client.create(boundPod("web-\(i)", command: ["sleep", "infinity"])) }
                #expect(await eventually {
                    let pods = (try? await client.list(CoreV1.Pod.self, namespace: "default").items) ?? []
                    return pods.filter { $0.metadata?.name?.hasPrefix("web-") == true && $0.status?.phase == "Running" }.count == 3
                })
                let stuckPod = try await client.get(CoreV1.Pod.self, name: "stuck", namespace: "default")
                #expect(stuckPod.status?.phase == "Pending")
            }
        }
    }
}

@Suite(.serialized) struct AgentLogEndpointTests {
    func curl(_ arguments: [String]) async throws -> CommandResult {
        try await Command.run(["curl", "-sS", "-k", "--max-time", "5"] + arguments, check: false)
    }

    @Test func servesContainerLogsToClientsWithClusterCertificates() async throws {
        try await withClient { client, server in
            let endpoint = try AgentServerConfiguration.selfSigned(nodeName: "node-1", ipAddresses: ["127.0.0.1"], bindAddress: "127.0.0.1",
                                                                   port: 0, clientCAPEM: server.pki.caCertificatePEM)
            try await withTemporaryDirectory { directory in
                let cert = directory + "/admin.crt"
                let key = directory + "/admin.key"
                try server.pki.adminCertificatePEM.write(toFile: cert, atomically: true, encoding: .utf8)
                try server.pki.adminPrivateKeyPEM.write(toFile: key, atomically: true, encoding: .utf8)
                try await withFakeAgent(client, server: endpoint) { _, agent in
                    var pod = boundPod("hello", command: ["fake", "echo", "hello", "world"])
                    pod.spec?.restartPolicy = "Never"
                    _ = try await client.create(pod)
                    #expect(await eventually { (try? await client.get(CoreV1.Pod.self, name: "hello", namespace: "default"))?.status?.phase == "Succeeded" })
                    let port = try #require(agent.serverPort)
                    let node = try await client.get(CoreV1.Node.self, name: "node-1")
                    #expect(node.status?.daemonEndpoints?.kubeletEndpoint?.Port == Int32(port))
                    let base = "https://127.0.0.1:\(port)/containerLogs/default/hello/app"
                    let plain = try await curl(["--cert", cert, "--key", key, base])
                    #expect(plain.stdout == "hello world\n")
                    let stamped = try await curl(["--cert", cert, "--key", key, base + "?timestamps=true"])
                    #expect(stamped.stdout.hasSuffix("Z hello world\n") && stamped.stdout.count > 30)
                    #expect(try await curl(["--cert", cert, "--key", key, base + "?tailLines=0"]).stdout == "")
                    let missing = try await curl(["--cert", cert, "--key", key, "-w", "%{http_code}", "-o", "/dev/null",
                                                  "https://127.0.0.1:\(port)/containerLogs/default/nope/app"])
                    #expect(missing.stdout == "404")
                    let bad = try await curl(["--cert", cert, "--key", key, "-w", "%{http_code}", "-o", "/dev/null", base + "?tailLines=x"])
                    #expect(bad.stdout == "400")
                    // Without a client certificate the handshake fails.
                    #expect(try await curl([base]).status != 0)
                }
            }
        }
    }
}

extension AgentLogEndpointTests {
    @Test func followStreamsNewLinesUntilTheContainerExits() async throws {
        try await withClient { client, _ in
            let endpoint = try AgentServerConfiguration.selfSigned(nodeName: "node-1", ipAddresses: ["127.0.0.1"], bindAddress: "127.0.0.1",
                                                                   port: 0, clientCAPEM: nil)
            try await withFakeAgent(client, server: endpoint) { runtime, agent in
                var pod = boundPod("tail", command: ["sleep", "infinity"])
                pod.spec?.restartPolicy = "Never"
                pod = try await client.create(pod)
                #expect(await eventually { (try? await client.get(CoreV1.Pod.self, name: "tail", namespace: "default"))?.status?.phase == "Running" })
                let path = agent.configuration.logPath(namespace: "default", name: "tail", uid: pod.metadata?.uid ?? "", container: "app", attempt: 0)
                func append(_ text: String) throws {
                    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
                    try handle.seekToEnd()
                    try handle.write(contentsOf: Data(CRILog.format(timestamp: CRILog.timestamp(Date()), stream: .stdout, partial: false,
                                                                    content: Array(text.utf8))))
                    try handle.close()
                }
                if !FileManager.default.fileExists(atPath: path) { FileManager.default.createFile(atPath: path, contents: nil) }
                try append("first")
                let port = try #require(agent.serverPort)
                async let output = curl(["--no-buffer", "https://127.0.0.1:\(port)/containerLogs/default/tail/app?follow=true"])
                try await Task.sleep(for: .milliseconds(300))
                try append("second")
                try await Task.sleep(for: .milliseconds(300))
                let id = try #require(try await runtime.listContainers(ContainerFilter()).first?.id)
                runtime.exit(id, code: 0)
                #expect(try await output.stdout == "first\nsecond\n")
            }
        }
    }
}

@Suite struct CRILogRendererTests {
    let file = """
    2024-05-01T10:00:00.100000000Z stdout F one
    2024-05-01T10:00:01.000000000Z stderr P par
    2024-05-01T10:00:01.500000000Z stderr F tial
    not a cri line
    2024-05-01T10:00:09.000000000Z stdout F three

    """

    @Test func joinsPartialsTailsAndFiltersBySince() throws {
        var renderer = CRILogRenderer(options: LogOptions(), now: Date())
        #expect(renderer.render(file) == ["one\n", "partial\n", "three\n"])
        var tail = CRILogRenderer(options: try LogOptions(query: "tailLines=1&timestamps=true"), now: Date())
        #expect(tail.render(file) == ["2024-05-01T10:00:09.000000000Z three\n"])
        let now = try #require(CRILogRenderer.parse("2024-05-01T10:00:10.000000000Z"))
        var since = CRILogRenderer(options: try LogOptions(query: "sinceSeconds=9"), now: now)
        #expect(since.render(file) == ["partial\n", "three\n"])
    }

    @Test(arguments: ["tailLines=-1", "follow=maybe", "sinceSeconds=x", "sinceTime=yesterday"])
    func badQueriesAreErrors(query: String) {
        #expect(throws: LogRequestError.self) { try LogOptions(query: query) }
    }
}

/// Real bridge and network namespaces (root only): two pods reach each other and the node reaches both.
@Suite(.serialized, .enabled(if: getuid() == 0)) struct BridgeNetworkTests {
    @Test func podsReachEachOtherAndTheNodeReachesPods() async throws {
        let tag = String(UInt32.random(in: 0..<UInt32.max), radix: 36)
        let third = Int.random(in: 100..<250)
        try await withTemporaryDirectory { directory in
            let settings = BridgeNetwork.Settings(bridgeName: "cst\(tag)".prefix(15).description, podCIDR: "10.199.\(third).0/24",
                                                  stateDirectory: directory + "/ipam", namespacePrefix: "cstest-\(tag)-")
            let network = try BridgeNetwork(settings: settings)
            defer {
                let cleanup = Task {
                    try? await network.tearDown(podUID: "a")
                    try? await network.tearDown(podUID: "b")
                    try? await network.removeBridge()
                }
                _ = cleanup
            }
            try await network.ensureBridge()
            let a = try await network.setUp(podUID: "a")
            let b = try await network.setUp(podUID: "b")
            #expect(a.ip == "10.199.\(third).2" && b.ip == "10.199.\(third).3")
            #expect(FileManager.default.fileExists(atPath: a.namespacePath))
            let podToPod = try await Command.run(["ip", "netns", "exec", network.namespaceName(podUID: "a"), "busybox", "ping", "-c", "1", "-W", "2", b.ip],
                                                 check: false)
            #expect(podToPod.status == 0, "\(podToPod.stderr)")
            let nodeToPod = try await Command.run(["busybox", "ping", "-c", "1", "-W", "2", a.ip], check: false)
            #expect(nodeToPod.status == 0, "\(nodeToPod.stderr)")
            let route = try await Command.run(["ip", "-n", network.namespaceName(podUID: "b"), "route", "show", "default"])
            #expect(route.stdout.contains("via 10.199.\(third).1"))

            // A new instance (an agent restart) keeps the allocations and finds the set-up namespace.
            let again = try BridgeNetwork(settings: settings)
            #expect(again.address(podUID: "a") == a.ip)
            #expect(try await again.setUp(podUID: "a") == a)

            try await again.tearDown(podUID: "a")
            try await again.tearDown(podUID: "b")
            #expect(!FileManager.default.fileExists(atPath: a.namespacePath))
            #expect(again.allocatedPods.isEmpty)
            try await again.removeBridge()
            #expect(try await Command.run(["ip", "link", "show", "dev", settings.bridgeName], check: false).status != 0)
        }
    }
}

@Suite(.serialized) struct VolumeComponentTests {
    @Test func configMapSecretDownwardAndEmptyDirVolumesAreWrittenAndRefreshed() async throws {
        try await withClient { client, _ in
            _ = try await client.create(CoreV1.ConfigMap(metadata: MetaV1.ObjectMeta(name: "cfg", namespace: "default"),
                                                         data: ["greeting": "hello", "other": "x"]))
            _ = try await client.create(CoreV1.Secret(metadata: MetaV1.ObjectMeta(name: "sec", namespace: "default"),
                                                      data: ["password": Data("s3cret".utf8).base64EncodedString()]))
            try await withFakeAgent(client) { _, agent in
                var pod = boundPod("vols", command: ["sleep", "infinity"])
                pod.metadata?.labels = ["app": "vols"]
                pod.spec?.volumes = [
                    CoreV1.Volume(configMap: CoreV1.ConfigMapVolumeSource(items: [CoreV1.KeyToPath(key: "greeting", path: "dir/greeting.txt")], name: "cfg"),
                                  name: "cfg"),
                    CoreV1.Volume(name: "sec", secret: CoreV1.SecretVolumeSource(defaultMode: 0o400, secretName: "sec")),
                    CoreV1.Volume(downwardAPI: CoreV1.DownwardAPIVolumeSource(items: [
                        CoreV1.DownwardAPIVolumeFile(fieldRef: CoreV1.ObjectFieldSelector(fieldPath: "metadata.labels"), path: "labels")]),
                                  name: "info"),
                    CoreV1.Volume(emptyDir: CoreV1.EmptyDirVolumeSource(), name: "scratch"),
                ]
                pod.spec?.containers[0].volumeMounts = ["cfg", "sec", "info", "scratch"].map { CoreV1.VolumeMount(mountPath: "/mnt/" + $0, name: $0) }
                pod = try await client.create(pod)
                #expect(await eventually { (try? await client.get(CoreV1.Pod.self, name: "vols", namespace: "default"))?.status?.phase == "Running" })
                let volumes = agent.configuration.podDirectory(namespace: "default", name: "vols", uid: pod.metadata?.uid ?? "") + "/volumes"
                func read(_ path: String) -> String? { try? String(contentsOfFile: volumes + "/" + path, encoding: .utf8) }
                #expect(read("cfg/dir/greeting.txt") == "hello")
                #expect(read("cfg/other") == nil)
                #expect(read("sec/password") == "s3cret")
                let attributes = try FileManager.default.attributesOfItem(atPath: volumes + "/sec/..data/password")
                #expect((attributes[.posixPermissions] as? Int) == 0o400)
                #expect(read("info/labels") == "app=\"vols\"")
                #expect(FileManager.default.fileExists(atPath: volumes + "/scratch"))
                #expect(try FileManager.default.destinationOfSymbolicLink(atPath: volumes + "/cfg/..data").hasPrefix(".."))

                _ = try await client.patch(CoreV1.ConfigMap.self, name: "cfg", namespace: "default", .merge(.object(["data": .object(["greeting": .string("bonjour")])])))
                #expect(await eventually { read("cfg/dir/greeting.txt") == "bonjour" })
            }
        }
    }

    @Test func persistentVolumeClaimMountsTheBoundHostPathVolume() async throws {
        let hostDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("capstan-pv-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: hostDirectory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: hostDirectory) }
        try await withClient { client, _ in
            try await withFakeAgent(client) { runtime, _ in
                var pod = boundPod("claims", command: ["sleep", "infinity"])
                pod.spec?.volumes = [CoreV1.Volume(name: "data", persistentVolumeClaim: CoreV1.PersistentVolumeClaimVolumeSource(claimName: "data"))]
                pod.spec?.containers[0].volumeMounts = [CoreV1.VolumeMount(mountPath: "/data", name: "data")]
                _ = try await client.create(pod)
                // No claim yet: the container waits with the reason in its message.
                #expect(await eventually {
                    let waiting = try? await client.get(CoreV1.Pod.self, name: "claims", namespace: "default").status?.containerStatuses?.first?.state?.waiting
                    return waiting?.reason == "ContainerCreating" && waiting?.message?.contains("persistentvolumeclaim \"data\" not found") == true
                })
                // A claim bound to a hostPath volume (as the binder leaves them): the container starts with it mounted.
                _ = try await client.create(CoreV1.PersistentVolume(metadata: MetaV1.ObjectMeta(name: "pv-data"),
                                                                    spec: CoreV1.PersistentVolumeSpec(accessModes: ["ReadWriteOnce"], capacity: ["storage": try Quantity(parsing: "1Gi")],
                                                                                                      hostPath: CoreV1.HostPathVolumeSource(path: hostDirectory))))
                var claim = try await client.create(CoreV1.PersistentVolumeClaim(
                    metadata: MetaV1.ObjectMeta(name: "data", namespace: "default"),
                    spec: CoreV1.PersistentVolumeClaimSpec(accessModes: ["ReadWriteOnce"], volumeName: "pv-data")))
                claim.status = CoreV1.PersistentVolumeClaimStatus(phase: "Bound")
                _ = try await client.patch(CoreV1.PersistentVolumeClaim.self, name: "data", namespace: "default",
                                           .merge(.object(["status": try .encoding(claim.status)])), subresource: "status")
                #expect(await eventually(timeout: .seconds(20)) {
                    (try? await client.get(CoreV1.Pod.self, name: "claims", namespace: "default"))?.status?.phase == "Running"
                })
                let containers = try await runtime.listContainers(ContainerFilter())
                let mounts = containers.compactMap { runtime.config(ofContainer: $0.id) }.flatMap(\.mounts)
                #expect(mounts.contains { $0.hostPath == hostDirectory && $0.containerPath == "/data" && !$0.readOnly }, "\(mounts)")
            }
        }
    }

    @Test func missingConfigMapVolumeKeepsTheContainerCreating() async throws {
        try await withClient { client, _ in
            try await withFakeAgent(client) { _, _ in
                var pod = boundPod("novol", command: ["sleep", "infinity"])
                pod.spec?.volumes = [CoreV1.Volume(configMap: CoreV1.ConfigMapVolumeSource(name: "absent"), name: "cfg")]
                pod.spec?.containers[0].volumeMounts = [CoreV1.VolumeMount(mountPath: "/cfg", name: "cfg")]
                _ = try await client.create(pod)
                var waiting: CoreV1.ContainerStateWaiting?
                #expect(await eventually {
                    waiting = try? await client.get(CoreV1.Pod.self, name: "novol", namespace: "default").status?.containerStatuses?.first?.state?.waiting
                    return waiting?.message?.contains("configmap \"absent\" not found") == true
                })
                #expect(waiting?.reason == "ContainerCreating")
            }
        }
    }
}
