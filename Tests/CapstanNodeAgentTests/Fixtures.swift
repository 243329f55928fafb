import CapstanAPI
import CapstanContainerRuntime
import Foundation
@testable import CapstanNodeAgent

let epoch = Date(timeIntervalSince1970: 1_700_000_000)

func at(_ seconds: TimeInterval) -> Date { epoch.addingTimeInterval(seconds) }

func makePod(containers: [CoreV1.Container], initContainers: [CoreV1.Container]? = nil, restartPolicy: String? = nil,
             name: String = "web", uid: String = "uid-1") -> CoreV1.Pod {
    CoreV1.Pod(metadata: MetaV1.ObjectMeta(name: name, namespace: "default", uid: uid),
               spec: CoreV1.PodSpec(containers: containers, initContainers: initContainers, nodeName: "node-1",
                                    restartPolicy: restartPolicy))
}

func container(_ name: String, sidecar: Bool = false, liveness: CoreV1.Probe? = nil, readiness: CoreV1.Probe? = nil,
               startup: CoreV1.Probe? = nil) -> CoreV1.Container {
    CoreV1.Container(image: "busybox", livenessProbe: liveness, name: name, readinessProbe: readiness,
                     restartPolicy: sidecar ? "Always" : nil, startupProbe: startup)
}

let readySandbox = PodSandboxStatus(id: "sb-0", metadata: PodSandboxMetadata(name: "web", namespace: "default", uid: "uid-1"),
                                    state: .ready, createdAt: epoch, networkNamespacePath: "/run/netns/x", ownsNetworkNamespace: false)

func run(_ name: String, attempt: Int = 0, _ state: CapstanContainerRuntime.ContainerState, exit: Int32? = nil,
         started: TimeInterval = 0, finished: TimeInterval? = nil) -> CapstanContainerRuntime.ContainerStatus {
    CapstanContainerRuntime.ContainerStatus(
        id: "\(name)-\(attempt)", sandboxID: "sb-0", metadata: ContainerMetadata(name: name, attempt: attempt), state: state,
        createdAt: at(started), startedAt: state == .created ? nil : at(started),
        finishedAt: state == .exited ? at(finished ?? started + 1) : nil, exitCode: state == .exited ? (exit ?? 0) : nil,
        image: "busybox", imageRef: "sha256:abc")
}

func runtime(_ containers: [CapstanContainerRuntime.ContainerStatus], sandbox: PodSandboxStatus? = readySandbox) -> PodRuntimeState {
    PodRuntimeState(sandboxes: sandbox.map { [$0] } ?? [], containers: containers)
}

/// Only the start actions of a plan, as container names.
func starts(_ plan: PodPlan) -> [String] {
    plan.actions.compactMap { if case .startContainer(let name, _) = $0 { name } else { nil } }
}
