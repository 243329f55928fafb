import CapstanAPI
import CapstanAPIMachinery
import CapstanClient
import CapstanContainerRuntime
import CapstanControllerRuntime
import Foundation
import Logging

/// The shell around one pod's ``PodPlanner``: observes the runtime, performs the plan's actions,
/// writes the status when it changed, and sleeps until the next wake-up, a pod update or the
/// sync interval.
actor PodWorker {
    struct Context: Sendable {
        let client: APIClient
        let runtime: any ContainerRuntime
        let images: any ImageService
        let network: BridgeNetwork?
        let configuration: NodeAgentConfiguration
        let runtimeName: String
        let hostIP: String
        let logger: Logger
        /// Kubelet's events (Pulled, Created, Started, Killing, Unhealthy, BackOff, Failed).
        var events: EventRecorder?
        /// Admits sandbox and container start-ups a few at a time, oldest pod first; nil: no limit.
        var startGate: StartGate?
    }

    private let context: Context
    private var pod: CoreV1.Pod
    /// The pod is gone from the API (no finalizing DELETE needed).
    private var removed = false
    private var planner: PodPlanner
    private var podIP: String?
    /// The status the API last confirmed.
    private var lastWritten: CoreV1.PodStatus?
    /// The newest status handed to the writer (written, in flight or pending).
    private var lastQueued: CoreV1.PodStatus?
    private var pendingStatus: CoreV1.PodStatus?
    private var writingStatus = false
    private let wakeup = Wakeup()
    let uid: String
    /// The order the agent took the pod on in: its place at the ``StartGate``.
    private let arrival: UInt64
    /// Holds a slot of the ``StartGate``: from the first start-up action until the worker waits.
    private var holdsStartSlot = false

    init(pod: CoreV1.Pod, context: Context, arrival: UInt64 = 0) {
        self.pod = pod
        self.context = context
        self.arrival = arrival
        uid = pod.metadata?.uid ?? ""
        planner = PodPlanner(startTime: pod.status?.startTime?.date)
        lastWritten = pod.status
        lastQueued = pod.status
        if pod.spec?.hostNetwork == true { podIP = context.hostIP } else { podIP = context.network?.address(podUID: uid) }
    }

    var current: CoreV1.Pod { pod }
    /// The pod's IP (its sandbox's on the bridge, or the host's with hostNetwork), once it has one.
    var address: String? { podIP }
    var namespace: String { pod.metadata?.namespace ?? "default" }
    var name: String { pod.metadata?.name ?? "" }

    func update(_ pod: CoreV1.Pod) {
        self.pod = pod
        wakeup.signal()
    }

    /// The pod was deleted from the API: stop everything at once.
    func markRemoved() {
        removed = true
        var pod = self.pod
        if pod.metadata?.deletionTimestamp == nil { pod.metadata?.deletionTimestamp = MetaV1.Time(date: context.configuration.clock.now()) }
        pod.metadata?.deletionGracePeriodSeconds = 0
        self.pod = pod
        wakeup.signal()
    }

    /// Runs until the pod is finalized or the task is cancelled.
    func run() async {
        defer { releaseStartSlot() }
        let clock = context.configuration.clock
        var volumesRefreshed = clock.now()
        while !Task.isCancelled {
            let now = clock.now()
            if now.timeIntervalSince(volumesRefreshed) >= context.configuration.volumeRefreshInterval.timeInterval,
               pod.metadata?.deletionTimestamp == nil {
                volumesRefreshed = now
                await VolumeManager(configuration: context.configuration, client: context.client).refresh(pod: pod, podIP: podIP)
            }
            let state: PodRuntimeState
            do { state = try await observe() } catch {
                context.logger.warning("listing the pod's containers failed", metadata: ["pod": "\(namespace)/\(name)", "error": "\(error)"])
                releaseStartSlot()
                await wakeup.wait(timeout: context.configuration.syncInterval, clock: clock)
                continue
            }
            let plan = planner.plan(pod: pod, runtime: state, now: now)
            var finished = false
            for action in plan.actions {
                if Task.isCancelled { return }
                let started = ContinuousClock.now
                if await perform(action, state: state) { finished = true }
                context.logger.debug("performed \(action)", metadata: ["pod": "\(namespace)/\(name)", "ms": "\(Self.ms(since: started))",
                                                                      "at": "\(Self.stamp())"])
            }
            if finished { return }
            let after = plan.actions.contains(where: { if case .probe = $0 { false } else { true } }) ? try? await observe() : state
            if let after { planner.observe(pod: pod, runtime: after) }
            if !removed { writeStatus(runtime: after ?? state) }
            if !plan.actions.isEmpty && plan.actions.allSatisfy({ if case .probe = $0 { false } else { true } }) {
                continue
            }
            var timeout = context.configuration.syncInterval
            if let wake = plan.wakeAt {
                timeout = min(timeout, Duration(timeInterval: max(0, wake.timeIntervalSince(clock.now()))))
            }
            // Nothing left to start this round: the next pod may start.
            releaseStartSlot()
            await wakeup.wait(timeout: timeout, clock: clock)
        }
    }

    /// Stops every container and the sandbox (agent exit with --stop-pods-on-exit).
    func stopAll() async {
        let state = (try? await observe()) ?? PodRuntimeState()
        let grace = PodView(pod: pod, runtime: state).gracePeriod
        for sandbox in [state.sandbox].compactMap({ $0 }) + state.staleSandboxes {
            try? await context.runtime.stopPodSandbox(sandbox.id, timeout: .seconds(grace))
        }
        // Stopped pods leave nothing behind: their containers' root filesystems and the
        // sandboxes' namespaces are released (the next agent starts the pods afresh).
        let containers = (try? await context.runtime.listContainers(ContainerFilter(labelSelector: [AgentLabels.podUID: uid]))) ?? []
        for container in containers { try? await context.runtime.removeContainer(container.id) }
        for sandbox in [state.sandbox].compactMap({ $0 }) + state.staleSandboxes {
            try? await context.runtime.removePodSandbox(sandbox.id)
        }
        try? await context.network?.tearDown(podUID: uid)
    }

    private func observe() async throws -> PodRuntimeState {
        let selector = [AgentLabels.podUID: uid]
        async let sandboxes = context.runtime.listPodSandboxes(PodSandboxFilter(labelSelector: selector))
        async let containers = context.runtime.listContainers(ContainerFilter(labelSelector: selector))
        return try await PodRuntimeState(sandboxes: sandboxes, containers: containers)
    }

    /// Hands the pod's current status to the status writer when it changed. The write runs
    /// beside the worker, as kubelet's status manager does: the next action (starting the
    /// container after its sandbox) does not wait for the API, and statuses that pile up while
    /// a write is in flight collapse into the newest.
    private func writeStatus(runtime state: PodRuntimeState) {
        let builder = PodStatusBuilder(runtimeName: context.runtimeName, hostIP: context.hostIP, podIPs: podIP.map { [$0] } ?? [])
        // The agent's own conditions keep their transition times from what this worker last
        // reported, written or not yet (the API's copy lags while a write is in flight), as
        // kubelet's status cache does; other conditions (readiness gates) come from the API.
        var reported = pod
        if let queued = lastQueued?.conditions {
            let current = reported.status?.conditions ?? []
            let kept = queued.filter { c in PodStatusBuilder.ownConditions.contains(c.type) || !current.contains { $0.type == c.type } }
            if reported.status == nil { reported.status = CoreV1.PodStatus() }
            reported.status?.conditions = kept + current.filter { c in !kept.contains { $0.type == c.type } }
        }
        let status = builder.status(pod: reported, runtime: state, planner: planner, now: context.configuration.clock.now())
        guard status != lastQueued else { return }
        recordBackOffs(status)
        lastQueued = status
        pendingStatus = status
        guard !writingStatus else { return }
        writingStatus = true
        Task { await self.flushStatus() }
    }

    /// Writes the newest pending status until none is left.
    private func flushStatus() async {
        defer { writingStatus = false }
        while let status = pendingStatus, !removed {
            pendingStatus = nil
            do {
                let started = ContinuousClock.now
                let updated = try await context.client.patch(CoreV1.Pod.self, name: name, namespace: namespace,
                                                              .merge(.object(["status": try .encoding(status)])), subresource: "status")
                context.logger.debug("wrote status", metadata: ["pod": "\(namespace)/\(name)", "phase": "\(status.phase ?? "")",
                                                                "ms": "\(Self.ms(since: started))", "at": "\(Self.stamp())"])
                lastWritten = updated.status
                pod.status = updated.status
                if pod.metadata?.deletionTimestamp == nil { pod.metadata = updated.metadata }
            } catch let error as APIError where error.code == 404 {
                markRemoved()
            } catch {
                context.logger.warning("writing pod status failed", metadata: ["pod": "\(namespace)/\(name)", "error": "\(error)"])
                // Not written: the next sync writes it again (unless a newer one is already pending).
                if pendingStatus == nil { lastQueued = lastWritten }
            }
        }
    }

    /// Performs one action; returns true when the worker is done (the pod is finalized).
    private func perform(_ action: PodAction, state: PodRuntimeState) async -> Bool {
        let runtime = context.runtime
        let now = context.configuration.clock.now()
        do {
            switch action {
            case .createSandbox(let attempt):
                try await createSandbox(attempt: attempt)
            case .startContainer(let name, let attempt):
                await startContainer(name, attempt: attempt, sandboxID: state.sandbox?.id ?? "", now: now)
            case .killContainer(let id, let name, let grace, let reason):
                if reason == .podTerminating, let container = spec(name), let hook = container.lifecycle?.preStop {
                    _ = await runHook(hook, containerID: id, container: container, timeout: TimeInterval(max(1, grace)))
                }
                switch reason {
                case .livenessFailed: event(.normal, "Killing", "Container \(name) failed liveness probe, will be restarted", container: name)
                case .startupFailed: event(.normal, "Killing", "Container \(name) failed startup probe, will be restarted", container: name)
                case .podTerminating, .deadlineExceeded: event(.normal, "Killing", "Stopping container \(name)", container: name)
                default: break
                }
                try await runtime.stopContainer(id, timeout: .seconds(grace))
            case .removeContainer(let id):
                try await runtime.removeContainer(id)
            case .stopSandbox(let id):
                try await runtime.stopPodSandbox(id, timeout: .seconds(PodView(pod: pod, runtime: state).gracePeriod))
                try await context.network?.tearDown(podUID: uid)
            case .removeSandbox(let id):
                try await runtime.removePodSandbox(id)
                try await context.network?.tearDown(podUID: uid)
            case .probe(let name, let containerID, let kind):
                guard let container = spec(name), let probe = Self.probe(container, kind) else { return false }
                let outcome = await ProbeRunner(runtime: runtime).run(
                    exec: probe.exec, httpGet: probe.httpGet, tcpSocket: probe.tcpSocket, grpc: probe.grpc, containerID: containerID, container: container,
                    podIP: podIP, timeout: TimeInterval(max(1, probe.timeoutSeconds ?? 1)))
                planner.recordProbe(container: name, containerID: containerID, kind: kind, outcome, now: context.configuration.clock.now())
                if case .failure(let output) = outcome {
                    event(.warning, "Unhealthy", "\(kind.rawValue.prefix(1).uppercased() + kind.rawValue.dropFirst()) probe failed: \(output)", container: name)
                }
            case .finalizeDeletion:
                try? FileManager.default.removeItem(atPath: context.configuration.podDirectory(namespace: namespace, name: self.name, uid: uid))
                if !removed {
                    do {
                        try await context.client.delete(CoreV1.Pod.self, name: name, namespace: namespace,
                                                        options: DeleteOptions(gracePeriodSeconds: 0, preconditionUID: uid))
                    } catch let error as APIError where error.code == 404 || error.code == 409 {
                        // Already gone, or a new pod of the same name: nothing of ours to finish.
                    }
                }
                return true
            }
        } catch {
            context.logger.warning("pod action failed", metadata: ["pod": "\(namespace)/\(name)", "action": "\(action)", "error": "\(error)"])
        }
        return false
    }

    private func spec(_ name: String) -> CoreV1.Container? {
        pod.spec?.containers.first { $0.name == name } ?? pod.spec?.initContainers?.first { $0.name == name }
    }

    private static func probe(_ container: CoreV1.Container, _ kind: ProbeKind) -> CoreV1.Probe? {
        switch kind {
        case .startup: container.startupProbe
        case .liveness: container.livenessProbe
        case .readiness: container.readinessProbe
        }
    }

    private func runHook(_ hook: CoreV1.LifecycleHandler, containerID: String, container: CoreV1.Container, timeout: TimeInterval) async -> ProbeOutcome {
        if let sleep = hook.sleep {
            try? await context.configuration.clock.sleep(for: .seconds(sleep.seconds))
            return .success
        }
        return await ProbeRunner(runtime: context.runtime).run(exec: hook.exec, httpGet: hook.httpGet, tcpSocket: hook.tcpSocket,
                                                               containerID: containerID, container: container, podIP: podIP, timeout: timeout)
    }

    private func createSandbox(attempt: Int) async throws {
        let meta = pod.metadata
        let hostNetwork = pod.spec?.hostNetwork == true
        var netnsPath: String?
        do {
            try await admitted {
                if !hostNetwork, let network = context.network {
                    let status = try await network.setUp(podUID: uid)
                    netnsPath = status.namespacePath
                    podIP = status.ip
                }
                let labels = [AgentLabels.managed: "true", AgentLabels.podUID: uid, AgentLabels.podName: name, AgentLabels.podNamespace: namespace]
                let config = PodSandboxConfig(
                    metadata: PodSandboxMetadata(name: name, namespace: namespace, uid: uid, attempt: attempt),
                    hostname: pod.spec?.hostname ?? String(name.prefix(63)),
                    logDirectory: context.configuration.podDirectory(namespace: namespace, name: name, uid: uid),
                    namespaces: NamespaceOptions(network: hostNetwork ? .node : .pod, pid: pod.spec?.shareProcessNamespace == true ? .pod : .container,
                                                 ipc: pod.spec?.hostIPC == true ? .node : .pod),
                    networkNamespacePath: netnsPath, labels: labels, annotations: meta?.annotations ?? [:])
                _ = try await context.runtime.runPodSandbox(config)
            }
            planner.recordSandboxCreated()
        } catch {
            planner.recordFailure(container: "", image: "", .sandbox("\(error)"), now: context.configuration.clock.now())
            throw error
        }
    }

    private func startContainer(_ name: String, attempt: Int, sandboxID: String, now: Date) async {
        guard let container = spec(name) else { return }
        let image = container.image ?? ""
        // Image, by the pull policy.
        do {
            let policy = container.imagePullPolicy ?? Self.defaultPullPolicy(image)
            var present = policy == "Always" ? nil : try await context.images.imageStatus(image)
            if present == nil {
                guard policy != "Never" else {
                    let message = "Container image \"\(image)\" is not present with pull policy of Never"
                    event(.warning, "ErrImageNeverPull", message, container: name)
                    planner.recordFailure(container: name, image: image, .imagePull(message), now: now)
                    return
                }
                // A pull waits on the network, not the CPU: other pods start meanwhile.
                releaseStartSlot()
                event(.normal, "Pulling", "Pulling image \"\(image)\"", container: name)
                let started = ContinuousClock.now
                present = try await context.images.pullImage(image, auth: await pullAuth(for: image))
                let elapsed = (ContinuousClock.now - started).components
                let seconds = Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18
                event(.normal, "Pulled", "Successfully pulled image \"\(image)\" in \(String(format: "%.3fs", seconds))", container: name)
            } else {
                event(.normal, "Pulled", "Container image \"\(image)\" already present on machine", container: name)
            }
        } catch {
            event(.warning, "Failed", "Failed to pull image \"\(image)\": \(Self.message(error))", container: name)
            event(.warning, "Failed", "Error: ErrImagePull", container: name)
            planner.recordFailure(container: name, image: image, .imagePull(Self.message(error)), now: context.configuration.clock.now())
            return
        }
        let config: ContainerConfig
        do {
            let (configMaps, secrets) = await referencedObjects(container)
            let builder = ContainerConfigBuilder(pod: pod, configMaps: configMaps, secrets: secrets, podIP: podIP, hostIP: context.hostIP)
            let logPath = context.configuration.logPath(namespace: namespace, name: self.name, uid: uid, container: name, attempt: attempt)
            try FileManager.default.createDirectory(atPath: (logPath as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            let mounts: [Mount]
            do {
                mounts = try await VolumeManager(configuration: context.configuration, client: context.client)
                    .mounts(for: container, pod: pod, podIP: podIP)
            } catch {
                event(.warning, "FailedMount", "\(error)", container: nil)
                planner.recordFailure(container: name, image: image, .volume("\(error)"), now: context.configuration.clock.now())
                return
            }
            config = try builder.config(for: container, attempt: attempt, logPath: logPath, mounts: mounts)
        } catch let error as ContainerConfigBuilder.MissingReference {
            event(.warning, "Failed", "Error: \(error.description)", container: name)
            planner.recordFailure(container: name, image: image, .containerConfig(error.description), now: context.configuration.clock.now())
            return
        } catch {
            event(.warning, "Failed", "Error: \(Self.message(error))", container: name)
            planner.recordFailure(container: name, image: image, .createContainer(Self.message(error)), now: context.configuration.clock.now())
            return
        }
        do {
            let id = try await admitted {
                let id = try await context.runtime.createContainer(in: sandboxID, config)
                event(.normal, "Created", "Created container: \(name)", container: name)
                try await context.runtime.startContainer(id)
                return id
            }
            event(.normal, "Started", "Started container \(name)", container: name)
            planner.recordStarted(container: name)
            if let hook = container.lifecycle?.postStart {
                // A hook may take its time (up to 30 s): other pods start meanwhile.
                releaseStartSlot()
                if case .failure(let message) = await runHook(hook, containerID: id, container: container, timeout: 30) {
                    context.logger.warning("postStart hook failed", metadata: ["pod": "\(namespace)/\(self.name)", "container": "\(name)", "error": "\(message)"])
                    try? await context.runtime.stopContainer(id, timeout: .seconds(PodView(pod: pod, runtime: PodRuntimeState()).gracePeriod))
                }
            }
        } catch {
            event(.warning, "Failed", "Error: \(Self.message(error))", container: name)
            planner.recordFailure(container: name, image: image, .createContainer(Self.message(error)), now: context.configuration.clock.now())
        }
    }

    /// Runs runtime start-up work once the worker holds a slot of the node's ``StartGate`` (at
    /// once when there is none). The slot is kept for the pod's next start-up actions, so a pod
    /// that began starting finishes before later pods take the CPU, and freed when the worker
    /// waits, pulls an image or runs a postStart hook.
    private func admitted<T>(_ body: () async throws -> T) async throws -> T {
        if let gate = context.startGate, !holdsStartSlot {
            try await gate.acquire(priority: arrival)
            holdsStartSlot = true
        }
        return try await body()
    }

    private func releaseStartSlot() {
        guard holdsStartSlot else { return }
        holdsStartSlot = false
        context.startGate?.release()
    }

    // MARK: Events

    /// Records a kubelet event about the pod, or about one of its containers.
    private func event(_ type: EventType, _ reason: String, _ message: String, container: String?) {
        guard let events = context.events else { return }
        var reference = EventRecorder.reference(to: pod)
        if let container {
            let isInit = pod.spec?.initContainers?.contains { $0.name == container } == true
            reference.fieldPath = isInit ? "spec.initContainers{\(container)}" : "spec.containers{\(container)}"
        }
        events.record(EventRecord(involvedObject: reference, type: type, reason: reason, message: message))
    }

    /// BackOff events when a container enters a back-off the last queued status did not show.
    private func recordBackOffs(_ status: CoreV1.PodStatus) {
        let before = Dictionary(((lastQueued?.containerStatuses ?? []) + (lastQueued?.initContainerStatuses ?? []))
            .map { ($0.name, $0.state?.waiting?.reason) }, uniquingKeysWith: { a, _ in a })
        for container in (status.containerStatuses ?? []) + (status.initContainerStatuses ?? []) {
            let reason = container.state?.waiting?.reason
            guard reason != before[container.name] ?? nil else { continue }
            switch reason {
            case "CrashLoopBackOff":
                event(.warning, "BackOff", "Back-off restarting failed container \(container.name) in pod \(name)_\(namespace)(\(uid))",
                      container: container.name)
            case "ImagePullBackOff":
                event(.normal, "BackOff", "Back-off pulling image \"\(container.image)\"", container: container.name)
            default:
                break
            }
        }
    }

    /// Credentials for the image's registry from the pod's imagePullSecrets (missing secrets are skipped).
    private func pullAuth(for image: String) async -> RegistryAuth? {
        var secrets: [[String: [UInt8]]] = []
        for reference in pod.spec?.imagePullSecrets ?? [] {
            guard let name = reference.name,
                  let secret = try? await context.client.get(CoreV1.Secret.self, name: name, namespace: namespace) else { continue }
            secrets.append(VolumeManager.decode(secret.data ?? [:]))
        }
        return PullSecrets.auth(for: image, secrets: secrets)
    }

    /// ConfigMaps and Secrets the container's environment names (missing ones are left out).
    private func referencedObjects(_ container: CoreV1.Container) async -> ([String: [String: String]], [String: [String: String]]) {
        var configMapNames = Set<String>()
        var secretNames = Set<String>()
        for variable in container.env ?? [] {
            if let name = variable.valueFrom?.configMapKeyRef?.name { configMapNames.insert(name) }
            if let name = variable.valueFrom?.secretKeyRef?.name { secretNames.insert(name) }
        }
        for source in container.envFrom ?? [] {
            if let name = source.configMapRef?.name { configMapNames.insert(name) }
            if let name = source.secretRef?.name { secretNames.insert(name) }
        }
        var configMaps: [String: [String: String]] = [:]
        var secrets: [String: [String: String]] = [:]
        for name in configMapNames {
            if let object = try? await context.client.get(CoreV1.ConfigMap.self, name: name, namespace: namespace) {
                configMaps[name] = object.data ?? [:]
            }
        }
        for name in secretNames {
            if let object = try? await context.client.get(CoreV1.Secret.self, name: name, namespace: namespace) {
                secrets[name] = VolumeManager.decode(object.data ?? [:]).mapValues { String(decoding: $0, as: UTF8.self) }
            }
        }
        return (configMaps, secrets)
    }

    /// Milliseconds since `start`, for debug timelines.
    static func ms(since start: ContinuousClock.Instant) -> Int { Int((ContinuousClock.now - start).timeInterval * 1000) }

    /// Wall-clock seconds with milliseconds, for debug timelines.
    static func stamp() -> String { String(format: "%.3f", Date().timeIntervalSince1970) }

    static func defaultPullPolicy(_ image: String) -> String {
        if image.contains("@") { return "IfNotPresent" }
        let last = image.split(separator: "/").last ?? ""
        guard let colon = last.lastIndex(of: ":") else { return "Always" }
        return last[last.index(after: colon)...] == "latest" ? "Always" : "IfNotPresent"
    }

    static func message(_ error: any Error) -> String {
        if let error = error as? RuntimeError { return error.message }
        return "\(error)"
    }
}
