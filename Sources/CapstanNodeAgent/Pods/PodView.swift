import CapstanAPI
import CapstanContainerRuntime
import Foundation

/// Derived facts of a pod and its runtime state that the planner and the status builder share.
struct PodView {
    enum Outcome: String { case succeeded = "Succeeded", failed = "Failed" }

    let pod: CoreV1.Pod
    let spec: CoreV1.PodSpec
    let runtime: PodRuntimeState

    init(pod: CoreV1.Pod, runtime: PodRuntimeState) {
        self.pod = pod
        self.spec = pod.spec ?? CoreV1.PodSpec(containers: [])
        self.runtime = runtime
    }

    var restartPolicy: String { spec.restartPolicy ?? "Always" }

    var isTerminalPhase: Bool {
        let phase = pod.status?.phase
        return phase == "Succeeded" || phase == "Failed"
    }

    /// The deletion's grace period, else the spec's, else 30 s.
    var gracePeriod: Int64 {
        max(0, pod.metadata?.deletionGracePeriodSeconds ?? spec.terminationGracePeriodSeconds ?? 30)
    }

    func probeGracePeriod(_ container: CoreV1.Container, kind: ProbeKind) -> Int64 {
        let probe = kind == .startup ? container.startupProbe : container.livenessProbe
        return max(0, probe?.terminationGracePeriodSeconds ?? spec.terminationGracePeriodSeconds ?? 30)
    }

    func shouldRestart(exitCode: Int32, policy: String? = nil) -> Bool {
        switch policy ?? restartPolicy {
        case "Never": return false
        case "OnFailure": return exitCode != 0
        default: return true
        }
    }

    /// Regular init containers still to complete, and sidecars not yet started, by name.
    func incompleteInitContainers(isStarted: (String, String) -> Bool) -> [String] {
        var names: [String] = []
        for container in spec.initContainers ?? [] {
            let latest = runtime.latest(container.name)
            if container.restartPolicy == "Always" {
                if let latest, latest.state == .running, isStarted(container.name, latest.id) { continue }
            } else if let latest, latest.state == .exited, latest.exitCode == 0 {
                continue
            }
            names.append(container.name)
        }
        return names
    }

    /// A regular init container failed for good (restartPolicy Never).
    var initFailed: Bool {
        guard restartPolicy == "Never" else { return false }
        return (spec.initContainers ?? []).contains { container in
            guard container.restartPolicy != "Always", let latest = runtime.latest(container.name) else { return false }
            return latest.state == .exited && latest.exitCode != 0
        }
    }

    /// Succeeded or Failed once no container will run again; nil while the pod goes on.
    func outcome(waiting: [String: WaitingReason], policy: String? = nil) -> Outcome? {
        if initFailed { return .failed }
        var anyFailed = false
        for container in spec.containers {
            guard let latest = runtime.latest(container.name), latest.state == .exited else { return nil }
            let code = latest.exitCode ?? 0
            if shouldRestart(exitCode: code, policy: policy) { return nil }
            if code != 0 { anyFailed = true }
        }
        if spec.containers.isEmpty { return nil }
        return anyFailed ? .failed : .succeeded
    }

    /// Kubelet's phase: Pending until initialized and every container ran; Running while one
    /// runs or will be restarted; Succeeded/Failed when none will run again.
    func phase(waiting: [String: WaitingReason], initialized: Bool, deadlineExceeded: Bool) -> String {
        if deadlineExceeded { return "Failed" }
        if isTerminalPhase, let phase = pod.status?.phase { return phase }
        let terminatingAndStopped = pod.metadata?.deletionTimestamp != nil && runtime.running.isEmpty
        if let outcome = outcome(waiting: waiting, policy: terminatingAndStopped ? "Never" : nil) { return outcome.rawValue }
        if !initialized { return "Pending" }
        var pending = 0
        var running = 0
        var stopped = 0
        for container in spec.containers {
            switch runtime.latest(container.name)?.state {
            case .running: running += 1
            case .exited: stopped += 1
            default: pending += 1
            }
        }
        if pending > 0 { return "Pending" }
        if running > 0 || stopped > 0 { return "Running" }
        return "Pending"
    }
}
