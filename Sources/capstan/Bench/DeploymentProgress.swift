import CapstanAPI
import CapstanClient
import Foundation
import Synchronization

/// Watches the benchmark namespace's Deployments and counts those that are rolled out and
/// Available: status for the current generation, every replica updated, ready and available.
final class DeploymentProgress: Sendable {
    private let available = Mutex<Set<String>>([])
    let count: Int

    init(count: Int) { self.count = count }

    var availableCount: Int { available.withLock { $0.count } }

    func watch(_ client: APIClient) async {
        let watcher = ListWatcher(client: client, AppsV1.Deployment.self, namespace: BenchPods.namespace, logger: EmbeddedServer.quiet)
        do {
            for try await event in watcher {
                switch event {
                case .replaced(let items, _): for d in items { observe(d) }
                case .added(let d), .modified(let d): observe(d)
                case .deleted: break
                }
            }
        } catch {}
    }

    static func isAvailable(_ d: AppsV1.Deployment) -> Bool {
        let replicas = d.spec?.replicas ?? 1
        guard let status = d.status, let generation = d.metadata?.generation, (status.observedGeneration ?? 0) >= generation,
              status.updatedReplicas == replicas, status.readyReplicas == replicas, status.availableReplicas == replicas,
              status.replicas == replicas else { return false }
        return status.conditions?.contains { $0.type == "Available" && $0.status == "True" } == true
    }

    private func observe(_ d: AppsV1.Deployment) {
        guard let name = d.metadata?.name else { return }
        let ok = Self.isAvailable(d)
        available.withLock { s in
            if ok { s.insert(name) } else { s.remove(name) }
        }
    }
}
