import CapstanAPI
import CapstanContainerRuntime
import Foundation

/// Something the pod worker must do to bring the runtime towards the pod spec.
public enum PodAction: Sendable, Hashable {
    /// Set up the network and run a sandbox with this attempt number.
    case createSandbox(attempt: Int)
    /// Pull the image (by the pull policy), create and start the container with this attempt number.
    case startContainer(name: String, attempt: Int)
    /// Stop a running container (preStop hook first, then SIGTERM, SIGKILL after the grace period).
    case killContainer(id: String, name: String, gracePeriod: Int64, reason: KillReason)
    /// Remove an exited container run that is no longer needed for status or logs.
    case removeContainer(id: String)
    /// Stop the sandbox (its containers have stopped) and tear down the pod network.
    case stopSandbox(id: String)
    case removeSandbox(id: String)
    /// Run a probe of a running container.
    case probe(name: String, containerID: String, kind: ProbeKind)
    /// Everything is stopped and cleaned: finish the deletion (DELETE with grace period 0).
    case finalizeDeletion
}

public enum KillReason: String, Sendable, Hashable {
    case podTerminating, podCompleted, deadlineExceeded, livenessFailed, startupFailed, sandboxChanged, notStarted
}

/// Why a container waits, when the runtime cannot tell (pull and create failures, back-off).
public struct WaitingReason: Sendable, Hashable {
    public var reason: String
    public var message: String
    /// When the failure happened (back-off counts from here).
    public var at: Date

    public init(reason: String, message: String, at: Date) {
        self.reason = reason
        self.message = message
        self.at = at
    }
}

/// A failure the shell reports back after performing an action.
public enum ActionFailure: Sendable, Hashable {
    case imagePull(String)
    case createContainer(String)
    /// The container's environment names a ConfigMap, Secret or key that does not exist.
    case containerConfig(String)
    /// A volume could not be prepared (the container keeps waiting as ContainerCreating).
    case volume(String)
    case sandbox(String)
}

/// The plan for one pass: actions to perform in order, and when to look again at the latest.
public struct PodPlan: Sendable, Hashable {
    public var actions: [PodAction] = []
    public var wakeAt: Date?

    mutating func wake(at date: Date) { wakeAt = min(wakeAt ?? date, date) }
}

/// The pure core of a pod worker (kubelet's computePodActions plus the prober and back-off
/// bookkeeping): from the pod spec, what the runtime holds and the time, it decides what to do.
/// The shell performs the actions and reports failures and probe results back.
public struct PodPlanner: Sendable {
    public var backOff = CrashLoopBackOff()
    public var imageBackOff = CrashLoopBackOff()
    /// Per container name.
    public private(set) var waiting: [String: WaitingReason] = [:]
    /// Per container name, for the current run.
    public private(set) var probes: [String: ContainerProbes] = [:]
    public private(set) var startTime: Date?
    public private(set) var deadlineExceeded = false
    public private(set) var sandboxFailure: WaitingReason?

    public init(startTime: Date? = nil) { self.startTime = startTime }

    // MARK: Feedback from the shell

    public mutating func recordFailure(container name: String, image: String, _ failure: ActionFailure, now: Date) {
        switch failure {
        case .imagePull(let message):
            waiting[name] = WaitingReason(reason: "ErrImagePull", message: message, at: now)
            imageBackOff.next(image, now: now)
        case .createContainer(let message):
            waiting[name] = WaitingReason(reason: "CreateContainerError", message: message, at: now)
            backOff.next("create/" + name, now: now)
        case .containerConfig(let message):
            waiting[name] = WaitingReason(reason: "CreateContainerConfigError", message: message, at: now)
            backOff.next("create/" + name, now: now)
        case .volume(let message):
            waiting[name] = WaitingReason(reason: "ContainerCreating", message: message, at: now)
            backOff.next("create/" + name, now: now)
        case .sandbox(let message):
            sandboxFailure = WaitingReason(reason: "CreatePodSandboxError", message: message, at: now)
        }
    }

    public mutating func recordSandboxCreated() { sandboxFailure = nil }

    public mutating func recordStarted(container name: String) {
        waiting[name] = nil
        backOff.reset("create/" + name)
    }

    /// Records a probe run; returns whether the reported result changed (status needs writing).
    @discardableResult
    public mutating func recordProbe(container name: String, containerID: String, kind: ProbeKind, _ outcome: ProbeOutcome,
                                     now: Date) -> Bool {
        guard var set = probes[name], set.containerID == containerID, var tracker = set[kind] else { return false }
        let changed = tracker.record(outcome, now: now)
        set[kind] = tracker
        probes[name] = set
        return changed
    }

    public func isReady(_ name: String, containerID: String) -> Bool {
        guard let set = probes[name], set.containerID == containerID else { return false }
        return set.ready
    }

    public func isStarted(_ name: String, containerID: String) -> Bool {
        guard let set = probes[name], set.containerID == containerID else { return false }
        return set.started
    }

    // MARK: Planning

    public mutating func plan(pod: CoreV1.Pod, runtime: PodRuntimeState, now: Date) -> PodPlan {
        var plan = PodPlan()
        guard let spec = pod.spec else { return plan }
        let view = PodView(pod: pod, runtime: runtime)
        if startTime == nil { startTime = pod.status?.startTime?.date ?? now }
        syncProbes(spec: spec, runtime: runtime)

        if let seconds = spec.activeDeadlineSeconds, let startTime, !view.isTerminalPhase {
            let deadline = startTime.addingTimeInterval(TimeInterval(seconds))
            if now >= deadline { deadlineExceeded = true } else { plan.wake(at: deadline) }
        }

        // Stale sandboxes of earlier attempts go first.
        for stale in runtime.staleSandboxes { plan.actions.append(.removeSandbox(id: stale.id)) }

        let terminating = pod.metadata?.deletionTimestamp != nil
        let completed = view.isTerminalPhase || deadlineExceeded || view.outcome(waiting: waiting) != nil
        if terminating || completed {
            planShutdown(view: view, runtime: runtime, terminating: terminating, completed: completed, plan: &plan)
            return plan
        }

        guard let sandbox = runtime.sandbox, sandbox.state == .ready else {
            for container in runtime.running {
                plan.actions.append(.killContainer(id: container.id, name: container.metadata.name, gracePeriod: view.gracePeriod,
                                                   reason: .sandboxChanged))
            }
            if let sandbox = runtime.sandbox {
                plan.actions.append(.stopSandbox(id: sandbox.id))
                plan.actions.append(.removeSandbox(id: sandbox.id))
            }
            if let failure = sandboxFailure, let until = backOff.backOffUntil("sandbox", since: failure.at, now: now) {
                plan.wake(at: until)
                return plan
            }
            if sandboxFailure != nil { backOff.next("sandbox", now: now) }
            plan.actions.append(.createSandbox(attempt: runtime.sandbox.map { $0.metadata.attempt + 1 } ?? 0))
            return plan
        }

        // Init containers in order: regular ones must complete, sidecars must have started.
        var initialized = true
        for container in spec.initContainers ?? [] {
            let latest = runtime.latest(container.name)
            if container.restartPolicy == "Always" {
                if let latest, latest.state == .running {
                    if planRunning(container, latest, view: view, now: now, plan: &plan) { continue }
                    initialized = false
                    break
                }
                planStart(container, latest: latest, restart: true, now: now, plan: &plan)
                initialized = false
                break
            }
            guard let latest else {
                planStart(container, latest: nil, restart: false, now: now, plan: &plan)
                initialized = false
                break
            }
            switch latest.state {
            case .exited where latest.exitCode == 0:
                continue
            case .exited:
                // restartPolicy Never failed the pod above; Always and OnFailure retry the init container.
                planStart(container, latest: latest, restart: true, now: now, plan: &plan)
            case .running:
                planProbes(container, latest, now: now, plan: &plan)
            case .created, .unknown:
                plan.actions.append(.removeContainer(id: latest.id))
                planStart(container, latest: latest, restart: false, now: now, plan: &plan)
            }
            initialized = false
            break
        }

        if initialized {
            for container in spec.containers {
                guard let latest = runtime.latest(container.name) else {
                    planStart(container, latest: nil, restart: false, now: now, plan: &plan)
                    continue
                }
                switch latest.state {
                case .running:
                    _ = planRunning(container, latest, view: view, now: now, plan: &plan)
                case .exited:
                    if view.shouldRestart(exitCode: latest.exitCode ?? 0) {
                        planStart(container, latest: latest, restart: true, now: now, plan: &plan)
                    }
                case .created, .unknown:
                    plan.actions.append(.removeContainer(id: latest.id))
                    planStart(container, latest: latest, restart: false, now: now, plan: &plan)
                }
            }
        }

        // Keep the newest and the previous run of each container (status and `--previous` logs).
        for name in runtime.names {
            for old in runtime.older(name) where old.state != .running {
                plan.actions.append(.removeContainer(id: old.id))
            }
        }
        return plan
    }

    /// A running container: probes, and a restart when liveness or startup failed. Returns
    /// whether it counts as started (for sidecars gating the next init container).
    private mutating func planRunning(_ container: CoreV1.Container, _ latest: ContainerStatus, view: PodView, now: Date,
                                      plan: inout PodPlan) -> Bool {
        if let failed = probes[container.name]?.failed, probes[container.name]?.containerID == latest.id {
            let grace = view.probeGracePeriod(container, kind: failed.kind)
            plan.actions.append(.killContainer(id: latest.id, name: container.name, gracePeriod: grace,
                                               reason: failed.kind == .startup ? .startupFailed : .livenessFailed))
            return false
        }
        planProbes(container, latest, now: now, plan: &plan)
        return probes[container.name]?.started ?? true
    }

    private mutating func planProbes(_ container: CoreV1.Container, _ latest: ContainerStatus, now: Date, plan: inout PodPlan) {
        guard var set = probes[container.name], set.containerID == latest.id else { return }
        let startedAt = latest.startedAt ?? latest.createdAt
        for kind in set.due(now: now, startedAt: startedAt) {
            plan.actions.append(.probe(name: container.name, containerID: latest.id, kind: kind))
        }
        probes[container.name] = set
        if let next = set.nextRunAt { plan.wake(at: max(next, now)) }
    }

    /// Starts a container unless a back-off holds it; records the restart in the back-off.
    private mutating func planStart(_ container: CoreV1.Container, latest: ContainerStatus?, restart: Bool, now: Date,
                                    plan: inout PodPlan) {
        let name = container.name
        let attempt = latest.map { $0.metadata.attempt + 1 } ?? 0
        if let failure = waiting[name] {
            switch failure.reason {
            case "ErrImagePull", "ImagePullBackOff":
                if let until = imageBackOff.backOffUntil(container.image ?? "", since: failure.at, now: now) {
                    waiting[name] = WaitingReason(reason: "ImagePullBackOff",
                                                  message: "Back-off pulling image \"\(container.image ?? "")\"", at: failure.at)
                    plan.wake(at: until)
                    return
                }
            case "CreateContainerError", "CreateContainerConfigError", "ContainerCreating":
                if let until = backOff.backOffUntil("create/" + name, since: failure.at, now: now) {
                    plan.wake(at: until)
                    return
                }
            default:
                break
            }
        }
        if restart, let latest, latest.state == .exited {
            let finished = latest.finishedAt ?? latest.createdAt
            if let until = backOff.backOffUntil(name, since: finished, now: now) {
                let delay = Int(backOff.delay(name) ?? backOff.initial)
                waiting[name] = WaitingReason(reason: "CrashLoopBackOff",
                                              message: "back-off \(Self.formatDelay(delay)) restarting failed container=\(name)", at: finished)
                plan.wake(at: until)
                return
            }
            backOff.next(name, now: now)
        }
        if waiting[name]?.reason == "CrashLoopBackOff" { waiting[name] = nil }
        plan.actions.append(.startContainer(name: name, attempt: attempt))
    }

    /// Deletion, completion or deadline: stop what runs, then the sandbox, then finish.
    private mutating func planShutdown(view: PodView, runtime: PodRuntimeState, terminating: Bool, completed: Bool,
                                       plan: inout PodPlan) {
        let reason: KillReason = terminating ? .podTerminating : (deadlineExceeded ? .deadlineExceeded : .podCompleted)
        let running = runtime.running
        for container in running {
            plan.actions.append(.killContainer(id: container.id, name: container.metadata.name, gracePeriod: view.gracePeriod,
                                               reason: reason))
        }
        if !running.isEmpty { return }
        if let sandbox = runtime.sandbox {
            if sandbox.state == .ready { plan.actions.append(.stopSandbox(id: sandbox.id)) }
            if terminating { plan.actions.append(.removeSandbox(id: sandbox.id)) }
        }
        if terminating { plan.actions.append(.finalizeDeletion) }
    }

    /// Takes on the containers as observed after a round's actions: a container started in it
    /// gets its probes, and without a readiness probe it is ready at once, so the status written
    /// next reports it Running and ready, as kubelet's first Running status does (not Running,
    /// then ready in one more write).
    public mutating func observe(pod: CoreV1.Pod, runtime: PodRuntimeState) {
        if let spec = pod.spec { syncProbes(spec: spec, runtime: runtime) }
    }

    /// Probe trackers follow container runs: a new run gets fresh trackers.
    private mutating func syncProbes(spec: CoreV1.PodSpec, runtime: PodRuntimeState) {
        for container in (spec.initContainers ?? []).filter({ $0.restartPolicy == "Always" }) + spec.containers {
            guard let latest = runtime.latest(container.name), latest.state == .running else {
                probes[container.name] = nil
                continue
            }
            if probes[container.name]?.containerID != latest.id {
                probes[container.name] = ContainerProbes(containerID: latest.id, container: container)
            }
        }
    }

    /// `5m0s`, `40s`: Go's duration format as kubelet prints back-off delays.
    static func formatDelay(_ seconds: Int) -> String {
        seconds >= 60 ? "\(seconds / 60)m\(seconds % 60)s" : "\(seconds)s"
    }
}
