import CapstanAPI
import CapstanClient
import CapstanControllerRuntime
import Synchronization

/// Watches the pods of a label selector and checks bounds at every step it observes (every
/// watch event after the initial list): the pods not terminating, and the Ready ones among them.
final class PodCountWatcher: Sendable {
    struct Seen: Sendable {
        var steps = 0
        var maxPods = 0
        var minReady = Int.max
        /// Steps that broke a bound, described.
        var violations: [String] = []
    }

    let informer: Informer<CoreV1.Pod>
    private let state = Mutex(Seen())
    private let task = Mutex<Task<Void, Never>?>(nil)

    /// `maxPods`: at most this many pods not terminating; `minReady`: at least this many Ready.
    init(client: APIClient, labelSelector: String, maxPods: Int, minReady: Int) {
        informer = Informer(source: ListWatcher(client: client, CoreV1.Pod.self, namespace: "default", labelSelector: labelSelector),
                            accessor: .typed, indexers: [])
        informer.addEventHandler { [weak self] _ in
            // The first list arrives as adds one at a time; count from the synced state on.
            guard let self, self.informer.hasSynced else { return }
            let pods = self.informer.store.list().filter { !$0.isTerminating }
            let ready = pods.filter(\.isReady).count
            self.state.withLock { s in
                s.steps += 1
                s.maxPods = max(s.maxPods, pods.count)
                s.minReady = min(s.minReady, ready)
                if pods.count > maxPods || ready < minReady {
                    s.violations.append("step \(s.steps): \(pods.count) pods, \(ready) ready")
                }
            }
        }
    }

    func start() async throws {
        let informer = self.informer
        task.withLock { $0 = Task { await informer.run() } }
        try await informer.waitForSync()
    }

    /// Stops watching; returns what was seen.
    func stop() async -> Seen {
        let running = task.withLock { t in
            defer { t = nil }
            return t
        }
        running?.cancel()
        await running?.value
        return state.withLock { $0 }
    }
}
