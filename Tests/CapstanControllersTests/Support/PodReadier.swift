import CapstanAPI
import CapstanClient
import CapstanControllerRuntime
import CapstanTesting
import Foundation

/// Plays the kubelet for controller tests: every pod that appears is marked Running and Ready
/// (status written through the API) unless `ready` says otherwise.
struct PodReadier {
    let client: APIClient
    var ready: @Sendable (CoreV1.Pod) -> Bool = { _ in true }

    func run() async {
        let informer = Informer(source: ListWatcher(client: client, CoreV1.Pod.self), accessor: .typed, indexers: [])
        let queue = WorkQueue<ObjectKey>()
        informer.addEventHandler { event in
            if case .deleted = event { return }
            queue.add(event.object.key)
        }
        await withDiscardingTaskGroup { group in
            group.addTask { await informer.run() }
            group.addTask {
                await queue.run(workers: 4) { key in
                    guard var pod = informer.store.get(key), !pod.isTerminating, !pod.isReady, ready(pod) else { return }
                    let now = MetaV1.Time(Date())
                    var status = pod.status ?? CoreV1.PodStatus()
                    status.phase = "Running"
                    status.conditions = [CoreV1.PodCondition(lastTransitionTime: now, status: "True", type: "Ready")]
                    pod.status = status
                    do {
                        _ = try await client.updateStatus(pod)
                    } catch where APIErrors.isNotFound(error) {}
                }
            }
        }
    }
}

/// Runs `body` with a controller manager (leader election off) running `controllers`, and a
/// pod readier, against a fresh server.
func withControllers(_ controllers: [any Controller], readier: (@Sendable (CoreV1.Pod) -> Bool)? = { _ in true },
                     _ body: @escaping (APIClient) async throws -> Void) async throws {
    try await withClient { client, _ in
        let manager = try ControllerManager(client: client, controllers: controllers, leaderElection: nil)
        let background = Task {
            await withDiscardingTaskGroup { group in
                group.addTask { try? await manager.run() }
                if let readier { group.addTask { await PodReadier(client: client, ready: readier).run() } }
            }
        }
        do {
            try await body(client)
        } catch {
            background.cancel()
            await background.value
            throw error
        }
        background.cancel()
        await background.value
    }
}
