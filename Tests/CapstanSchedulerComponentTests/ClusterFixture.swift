import CapstanAPI
import CapstanClient
import CapstanNodeSimulator
import CapstanScheduler
import CapstanTesting
import Synchronization
import Testing

extension Tag {
    /// Against a real in-process API server on loopback.
    @Tag static var component: Self
}

/// An in-process API server with a scheduler and simulated nodes added on demand; everything
/// started here is stopped when the test body returns.
final class Cluster: Sendable {
    let client: APIClient
    let server: RunningServer
    private let tasks = Mutex<[Task<Void, any Error>]>([])

    init(client: APIClient, server: RunningServer) {
        self.client = client
        self.server = server
    }

    /// Starts `count` simulated nodes named `prefix0`... and waits until they are registered.
    @discardableResult
    func addNodes(_ count: Int, prefix: String, template: SimulatedNodeTemplate = SimulatedNodeTemplate(),
                  configure: (inout NodeSimulator.Configuration) -> Void = { _ in }) async -> NodeSimulator {
        var configuration = NodeSimulator.Configuration(nodeCount: count, namePrefix: prefix, template: template)
        configure(&configuration)
        let simulator = NodeSimulator(client: client, configuration: configuration, logger: quietLogger)
        start { try await simulator.run() }
        await simulator.waitUntilRegistered()
        return simulator
    }

    @discardableResult
    func startScheduler(_ configure: (inout Scheduler.Configuration) -> Void = { _ in }) async throws -> Scheduler {
        var configuration = Scheduler.Configuration()
        configuration.tickInterval = .milliseconds(20)
        configure(&configuration)
        let scheduler = try Scheduler(client: client, configuration: configuration, logger: quietLogger)
        start { try await scheduler.run() }
        await scheduler.waitUntilSynced()
        return scheduler
    }

    private func start(_ body: @escaping @Sendable () async throws -> Void) {
        let task = Task { try await body() }
        tasks.withLock { $0.append(task) }
    }

    func stop() async {
        let all = tasks.withLock { t in
            defer { t = [] }
            return t
        }
        for t in all { t.cancel() }
        for t in all { _ = try? await t.value }
    }

    // MARK: Pods

    /// Creates a pod of one container; `spec` entries are merged into its spec.
    @discardableResult
    func createPod(_ name: String, cpu: String = "100m", labels: [String: String] = [:], annotations: [String: String] = [:],
                   spec extra: [String: JSONValue] = [:]) async throws -> JSONValue {
        var spec: [String: JSONValue] = [
            "containers": .array([.object([
                "name": .string("main"), "image": .string("registry.example/app:1"),
                "resources": .object(["requests": .object(["cpu": .string(cpu), "memory": .string("64Mi")])]),
            ])]),
        ]
        for (k, v) in extra { spec[k] = v }
        var meta: [String: JSONValue] = ["name": .string(name), "namespace": .string("default")]
        if !labels.isEmpty { meta["labels"] = .object(labels.mapValues { .string($0) }) }
        if !annotations.isEmpty { meta["annotations"] = .object(annotations.mapValues { .string($0) }) }
        return try await client.create(CoreV1.Pod.resource,
                                       .object(["apiVersion": .string("v1"), "kind": .string("Pod"), "metadata": .object(meta), "spec": .object(spec)]))
    }

    func pod(_ name: String) async throws -> CoreV1.Pod {
        try await client.get(CoreV1.Pod.self, name: name, namespace: "default")
    }

    /// The node the pod was bound to, once it is (nil after `timeout`).
    func nodeOf(_ name: String, timeout: Duration = .seconds(10)) async throws -> String? {
        var node: String?
        _ = try await eventually(timeout: timeout) {
            node = try await pod(name).spec?.nodeName
            return node != nil
        }
        return node
    }

    func events(of pod: String) async throws -> [CoreV1.Event] {
        try await client.list(CoreV1.Event.self, namespace: "default",
                              options: ListOptions(fieldSelector: "involvedObject.name=\(pod)")).items
    }
}

/// Runs `body` with a fresh cluster (server, no nodes, no scheduler yet).
func withCluster(_ body: (Cluster) async throws -> Void) async throws {
    try await withClient({ $0.maxConnections = 16 }) { client, server in
        let cluster = Cluster(client: client, server: server)
        do {
            try await body(cluster)
        } catch {
            await cluster.stop()
            throw error
        }
        await cluster.stop()
    }
}
