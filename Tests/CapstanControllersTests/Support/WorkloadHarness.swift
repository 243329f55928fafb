import CapstanAPI
import CapstanClient
import CapstanControllerRuntime
import CapstanControllers
import CapstanNodeSimulator
import CapstanScheduler
import CapstanTesting
import Foundation

/// Runs `controllers` (no leader election) against a fresh in-process API server while `body`
/// runs, then stops them. `clock` is the controllers' clock (a wrapped `ManualClock` to drive
/// time-based logic).
func withWorkloadControllers<R>(_ controllers: [any Controller], clock: ControllerClock = .continuous,
                                _ body: (APIClient, RunningServer) async throws -> R) async throws -> R {
    try await withClient { client, server in
        let controllerClient = try server.makeClient()
        let manager = try ControllerManager(client: controllerClient, controllers: controllers, leaderElection: nil,
                                            workers: 2, clock: clock, logger: quietLogger)
        let task = Task { try await manager.run() }
        do {
            let result = try await body(client, server)
            task.cancel()
            _ = try? await task.value
            await controllerClient.shutdown()
            return result
        } catch {
            task.cancel()
            _ = try? await task.value
            await controllerClient.shutdown()
            throw error
        }
    }
}

/// Runs `controllers` with two simulated nodes and the scheduler (pods are bound, run and
/// become ready) while `body` runs, then stops them all.
func withSimulatedCluster(_ controllers: [any Controller], _ body: (APIClient, RunningServer) async throws -> Void) async throws {
    try await withSimulatedCluster(nodes: 2, controllers: controllers) { cluster in try await body(cluster.client, cluster.server) }
}

/// Pod writes the node agent would make in a real cluster.
enum PodWrites {
    /// Creates a pod with one container (and `ports`), optionally bound to `node`.
    @discardableResult
    static func create(_ client: APIClient, _ name: String, namespace: String = "default", labels: [String: String],
                       node: String? = nil, ports: [CoreV1.ContainerPort]? = nil, annotations: [String: String]? = nil) async throws -> CoreV1.Pod {
        let pod = CoreV1.Pod(metadata: MetaV1.ObjectMeta(annotations: annotations, labels: labels, name: name, namespace: namespace),
                             spec: CoreV1.PodSpec(containers: [CoreV1.Container(image: "busybox", name: "main", ports: ports)],
                                                  nodeName: node))
        return try await client.create(pod)
    }

    /// Sets phase, IP and the Ready condition, as a node agent reports them.
    @discardableResult
    static func setStatus(_ client: APIClient, _ name: String, namespace: String = "default", phase: String,
                          ip: String? = nil, ready: Bool = false, exitCode: Int32? = nil) async throws -> CoreV1.Pod {
        var pod = try await client.get(CoreV1.Pod.self, name: name, namespace: namespace)
        let now = MetaV1.Time(Date())
        var status = pod.status ?? CoreV1.PodStatus()
        status.phase = phase
        if let ip {
            status.podIP = ip
            status.podIPs = [CoreV1.PodIP(ip: ip)]
        }
        status.conditions = [CoreV1.PodCondition(lastTransitionTime: now, status: ready ? "True" : "False", type: "Ready")]
        if let exitCode {
            status.containerStatuses = [CoreV1.ContainerStatus(
                image: "busybox", imageID: "", name: "main", ready: false, restartCount: 0,
                state: CoreV1.ContainerState(terminated: CoreV1.ContainerStateTerminated(exitCode: exitCode, finishedAt: now)))]
        }
        pod.status = status
        return try await client.updateStatus(pod)
    }
}
