import CapstanAPI
import CapstanContainerRuntime
import Foundation

/// The pod status as kubelet reports it, computed from the pod, the runtime state and the
/// planner's memory (waiting reasons, probe results, start time). Pure.
public struct PodStatusBuilder: Sendable {
    /// `runc`: container ids are reported as `runc://<id>`.
    public var runtimeName: String
    public var hostIP: String
    /// Pod IPs (empty for a pod without network yet); hostNetwork pods get the host IP.
    public var podIPs: [String]

    /// The conditions the node agent computes (any others are kept as they are).
    static let ownConditions: Set<String> = ["PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady"]

    public init(runtimeName: String, hostIP: String, podIPs: [String]) {
        self.runtimeName = runtimeName
        self.hostIP = hostIP
        self.podIPs = podIPs
    }

    public func status(pod: CoreV1.Pod, runtime: PodRuntimeState, planner: PodPlanner, now: Date) -> CoreV1.PodStatus {
        let view = PodView(pod: pod, runtime: runtime)
        let spec = view.spec
        let previous = pod.status
        var status = previous ?? CoreV1.PodStatus()
        let incomplete = view.incompleteInitContainers(isStarted: planner.isStarted)
        let initialized = incomplete.isEmpty
        let phase = view.phase(waiting: planner.waiting, initialized: initialized, deadlineExceeded: planner.deadlineExceeded)
        status.phase = phase
        if planner.deadlineExceeded {
            status.reason = "DeadlineExceeded"
            status.message = "Pod was active on the node longer than the specified deadline"
        }
        status.hostIP = hostIP
        status.hostIPs = [CoreV1.HostIP(ip: hostIP)]
        let ips = spec.hostNetwork == true ? [hostIP] : podIPs
        status.podIP = ips.first
        status.podIPs = ips.isEmpty ? nil : ips.map { CoreV1.PodIP(ip: $0) }
        status.startTime = previous?.startTime ?? planner.startTime.map(MetaV1.Time.init(date:)) ?? MetaV1.Time(date: now)
        status.qosClass = previous?.qosClass ?? Self.qosClass(spec)

        let podSuffix = " pod=\(pod.metadata?.name ?? "")_\(pod.metadata?.namespace ?? "")(\(pod.metadata?.uid ?? ""))"
        let initStatuses = (spec.initContainers ?? []).map { container in
            containerStatus(container, view: view, planner: planner, isInit: true, initDone: true, podSuffix: podSuffix)
        }
        status.initContainerStatuses = initStatuses.isEmpty ? nil : initStatuses
        let appStatuses = spec.containers.map { container in
            containerStatus(container, view: view, planner: planner, isInit: false, initDone: initialized, podSuffix: podSuffix)
        }
        status.containerStatuses = appStatuses

        let completed = phase == "Succeeded" || phase == "Failed"
        let sidecarStatuses = zip(spec.initContainers ?? [], initStatuses).filter { $0.0.restartPolicy == "Always" }.map(\.1)
        let unready = (sidecarStatuses + appStatuses).filter { !$0.ready }.map(\.name)
        var conditions: [CoreV1.PodCondition] = []
        let sandboxReady = runtime.sandbox?.state == .ready
        conditions.append(condition("PodReadyToStartContainers", sandboxReady, previous: previous, now: now))
        if completed && phase == "Succeeded" {
            conditions.append(condition("Initialized", true, reason: "PodCompleted", previous: previous, now: now))
        } else {
            conditions.append(condition("Initialized", initialized, reason: initialized ? nil : "ContainersNotInitialized",
                                        message: initialized ? nil : "containers with incomplete status: [\(incomplete.joined(separator: " "))]",
                                        previous: previous, now: now))
        }
        let containersReady = unready.isEmpty && !completed
        let notReadyReason = completed ? "PodCompleted" : "ContainersNotReady"
        let notReadyMessage = completed ? nil : "containers with unready status: [\(unready.joined(separator: " "))]"
        var ready = containersReady
        var readyReason: String? = containersReady ? nil : notReadyReason
        var readyMessage: String? = containersReady ? nil : notReadyMessage
        if containersReady, let gates = spec.readinessGates, !gates.isEmpty {
            let missing = gates.filter { gate in previous?.conditions?.first { $0.type == gate.conditionType }?.status != "True" }
            if let first = missing.first {
                ready = false
                readyReason = "ReadinessGatesNotReady"
                let exists = previous?.conditions?.contains { $0.type == first.conditionType } ?? false
                readyMessage = exists
                    ? "the status of pod readiness gate \"\(first.conditionType)\" is not \"True\", but False"
                    : "corresponding condition of pod readiness gate \"\(first.conditionType)\" does not exist."
            }
        }
        conditions.append(condition("Ready", ready, reason: readyReason, message: readyMessage, previous: previous, now: now))
        conditions.append(condition("ContainersReady", containersReady, reason: containersReady ? nil : notReadyReason,
                                    message: containersReady ? nil : notReadyMessage, previous: previous, now: now))
        let others = (previous?.conditions ?? []).filter { !Self.ownConditions.contains($0.type) }
        if !others.contains(where: { $0.type == "PodScheduled" }) {
            conditions.append(CoreV1.PodCondition(lastTransitionTime: MetaV1.Time(date: now), status: "True", type: "PodScheduled"))
        }
        status.conditions = conditions + others
        return status
    }

    private func condition(_ type: String, _ value: Bool, reason: String? = nil, message: String? = nil,
                           previous: CoreV1.PodStatus?, now: Date) -> CoreV1.PodCondition {
        let text = value ? "True" : "False"
        let before = previous?.conditions?.first { $0.type == type }
        let transition = before?.status == text ? (before?.lastTransitionTime ?? MetaV1.Time(date: now)) : MetaV1.Time(date: now)
        return CoreV1.PodCondition(lastTransitionTime: transition, message: message, reason: reason, status: text, type: type)
    }

    private func containerStatus(_ container: CoreV1.Container, view: PodView, planner: PodPlanner, isInit: Bool,
                                 initDone: Bool, podSuffix: String) -> CoreV1.ContainerStatus {
        let latest = view.runtime.latest(container.name)
        let previousRun = view.runtime.previous(container.name)
        var status = CoreV1.ContainerStatus(image: container.image ?? "", imageID: latest?.imageRef ?? "", name: container.name,
                                            ready: false, restartCount: Int32(latest?.metadata.attempt ?? 0))
        status.containerID = latest.map { "\(runtimeName)://\($0.id)" }
        let waiting = planner.waiting[container.name]
        switch latest?.state {
        case .running?:
            let run = latest!
            status.state = CoreV1.ContainerState(running: CoreV1.ContainerStateRunning(startedAt: (run.startedAt ?? run.createdAt).metaTime))
            status.lastState = previousRun.flatMap(terminated)
            status.started = planner.isStarted(container.name, containerID: run.id)
            status.ready = planner.isReady(container.name, containerID: run.id)
        case .exited?:
            let run = latest!
            if let waiting, waiting.reason != "" {
                let message = waiting.reason == "CrashLoopBackOff" ? waiting.message + podSuffix : waiting.message
                status.state = CoreV1.ContainerState(waiting: CoreV1.ContainerStateWaiting(message: message, reason: waiting.reason))
                status.lastState = terminated(run)
            } else {
                status.state = terminated(run).map { CoreV1.ContainerState(terminated: $0.terminated) }
                status.lastState = previousRun.flatMap(terminated)
            }
            status.started = false
        default:
            let reason: String
            var message: String?
            if let waiting {
                reason = waiting.reason
                message = waiting.message
            } else if isInit || !initDone {
                reason = "PodInitializing"
            } else {
                reason = "ContainerCreating"
            }
            status.state = CoreV1.ContainerState(waiting: CoreV1.ContainerStateWaiting(message: message, reason: reason))
            status.lastState = latest.flatMap(terminated) ?? previousRun.flatMap(terminated)
            status.started = false
        }
        if status.lastState == nil { status.lastState = CoreV1.ContainerState() }
        return status
    }

    private func terminated(_ run: ContainerStatus) -> CoreV1.ContainerState? {
        guard run.state == .exited else { return nil }
        let code = run.exitCode ?? 0
        return CoreV1.ContainerState(terminated: CoreV1.ContainerStateTerminated(
            containerID: "\(runtimeName)://\(run.id)", exitCode: code, finishedAt: run.finishedAt?.metaTime,
            message: run.message, reason: run.reason ?? TerminationReason.forExit(code: code, oomKilled: false),
            startedAt: (run.startedAt ?? run.createdAt).metaTime))
    }

    /// Guaranteed when every container limits CPU and memory with equal requests; BestEffort
    /// when none requests or limits anything; Burstable otherwise.
    public static func qosClass(_ spec: CoreV1.PodSpec) -> String {
        let containers = (spec.initContainers ?? []) + spec.containers
        var anySet = false
        var guaranteed = true
        for container in containers {
            let requests = container.resources?.requests ?? [:]
            let limits = container.resources?.limits ?? [:]
            for key in ["cpu", "memory"] {
                if let q = requests[key], !q.isZero { anySet = true }
                if let q = limits[key], !q.isZero { anySet = true }
                guard let limit = limits[key], !limit.isZero else { guaranteed = false; continue }
                if let request = requests[key], request != limit { guaranteed = false }
            }
        }
        if !anySet { return "BestEffort" }
        return guaranteed ? "Guaranteed" : "Burstable"
    }
}

extension Date {
    var metaTime: MetaV1.Time { MetaV1.Time(date: self) }
}
