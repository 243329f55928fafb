import ArgumentParser
import CapstanAPI
import CapstanAPIServer
import CapstanClient
import CapstanNodeSimulator
import CapstanScheduler
import Foundation
import Logging
import Synchronization

/// An API server in this process on a temporary SQLite store, for the scheduler benchmarks.
struct EmbeddedServer {
    let server: APIServer
    let task: Task<Void, any Error>
    let kubeconfigPath: String

    static let quiet = Logger(label: "capstan.bench", factory: { _ in SwiftLogNoOpLogHandler() })

    static func start(dataDir: String) async throws -> EmbeddedServer {
        var configuration = APIServerConfiguration()
        configuration.bindAddress = "127.0.0.1"
        configuration.port = 0
        configuration.dataDirectory = dataDir
        let server = try await APIServer.open(configuration, logger: quiet)
        let (ready, readyContinuation) = AsyncStream<Int>.makeStream()
        let task = Task {
            defer { readyContinuation.finish() }
            try await server.run(onReady: { port in readyContinuation.yield(port) })
        }
        var iterator = ready.makeAsyncIterator()
        guard await iterator.next() != nil, let kubeconfig = try server.writeKubeconfig(host: "127.0.0.1") else {
            await server.shutdown()
            _ = try? await task.value
            throw ValidationError("the embedded API server did not start")
        }
        return EmbeddedServer(server: server, task: task, kubeconfigPath: kubeconfig)
    }

    func stop() async {
        await server.shutdown()
        _ = try? await task.value
    }
}

/// Pods of a benchmark workload, and watching them get bound (and run).
enum BenchPods {
    static let namespace = "bench"

    /// `local`: the embedded server's in-process transport, for the components `capstan server`
    /// runs inside itself (the scheduler, the controllers).
    static func client(kubeconfig: String, connections: Int, local: (any LocalTransport)? = nil) throws -> APIClient {
        var configuration = try Kubeconfig.load(path: kubeconfig).configuration()
        configuration.localTransport = local
        configuration.maxConnections = connections
        configuration.maxIdleConnections = connections
        return try APIClient(configuration: configuration, logger: EmbeddedServer.quiet)
    }

    static func createNamespace(_ client: APIClient) async throws {
        _ = try? await client.create(CoreV1.Namespace.resource, .object([
            "apiVersion": .string("v1"), "kind": .string("Namespace"), "metadata": .object(["name": .string(namespace)]),
        ]))
    }

    static func createPriorityClass(_ client: APIClient, name: String, value: Int64) async throws {
        _ = try await client.create(SchedulingV1.PriorityClass.resource, .object([
            "apiVersion": .string("scheduling.k8s.io/v1"), "kind": .string("PriorityClass"),
            "metadata": .object(["name": .string(name)]), "value": .int(value),
        ]))
    }

    static func pod(name: String, cpu: String, memory: String, labels: [String: String] = [:], spec extra: [String: JSONValue] = [:]) -> JSONValue {
        var spec: [String: JSONValue] = [
            "containers": .array([.object([
                "name": .string("app"), "image": .string("registry.k8s.io/pause:3.10"),
                "resources": .object(["requests": .object(["cpu": .string(cpu), "memory": .string(memory)])]),
            ])]),
        ]
        for (k, v) in extra { spec[k] = v }
        var meta: [String: JSONValue] = ["name": .string(name), "namespace": .string(namespace)]
        if !labels.isEmpty { meta["labels"] = .object(labels.mapValues { .string($0) }) }
        return .object(["apiVersion": .string("v1"), "kind": .string("Pod"), "metadata": .object(meta), "spec": .object(spec)])
    }

    /// Creates `count` pods named `prefix0`... with `concurrency` requests in flight; returns
    /// each pod's creation start (by index) and each request's latency in ms.
    static func create(_ client: APIClient, count: Int, prefix: String, concurrency: Int,
                       _ make: @escaping @Sendable (_ name: String, _ index: Int) -> JSONValue) async throws
        -> (starts: [ContinuousClock.Instant], latenciesMS: [Double]) {
        let workers = max(1, min(concurrency, count))
        let path = CoreV1.Pod.resource.path(namespace: namespace)
        let parts = try await withThrowingTaskGroup(of: [(Int, ContinuousClock.Instant, Double)].self) { group in
            for w in 0..<workers {
                group.addTask {
                    var out: [(Int, ContinuousClock.Instant, Double)] = []
                    for i in stride(from: w, to: count, by: workers) {
                        let body = make(prefix + String(i), i).serialized()
                        let t0 = ContinuousClock.now
                        _ = try await client.request(method: .post, path: path, body: body)
                        out.append((i, t0, Percentile.ms(ContinuousClock.now - t0)))
                    }
                    return out
                }
            }
            var all: [(Int, ContinuousClock.Instant, Double)] = []
            for try await p in group { all += p }
            return all
        }
        var starts = Array(repeating: ContinuousClock.now, count: count)
        for (i, t, _) in parts { starts[i] = t }
        return (starts, parts.map(\.2).sorted())
    }
}

/// Watches the benchmark namespace's pods and records when each `prefixN` pod was first seen
/// bound and first seen Running.
final class PodProgress: Sendable {
    private struct State {
        var bound: [ContinuousClock.Instant?]
        var running: [Bool]
        var seen: [Bool]
        var boundCount = 0
        var runningCount = 0
        var seenCount = 0
    }

    let prefix: String
    let count: Int
    private let state: Mutex<State>

    init(prefix: String, count: Int) {
        self.prefix = prefix
        self.count = count
        state = Mutex(State(bound: Array(repeating: nil, count: count), running: Array(repeating: false, count: count),
                             seen: Array(repeating: false, count: count)))
    }

    var boundCount: Int { state.withLock { $0.boundCount } }
    var runningCount: Int { state.withLock { $0.runningCount } }
    /// Pods this watch has seen at all (created).
    var seenCount: Int { state.withLock { $0.seenCount } }
    var boundTimes: [ContinuousClock.Instant?] { state.withLock { $0.bound } }

    func watch(_ client: APIClient) async {
        let watcher = ListWatcher(client: client, resource: CoreV1.Pod.resource, namespace: BenchPods.namespace,
                                  stripManagedFields: true, logger: EmbeddedServer.quiet)
        do {
            for try await event in watcher {
                switch event {
                case .replaced(let pods, _): for p in pods { observe(p) }
                case .added(let p), .modified(let p): observe(p)
                case .deleted: break
                }
            }
        } catch {}
    }

    private func observe(_ pod: JSONValue) {
        guard let name = pod["metadata"]?["name"]?.stringValue, name.hasPrefix(prefix),
              let i = Int(name.dropFirst(prefix.count)), i >= 0, i < count else { return }
        let bound = !(pod["spec"]?["nodeName"]?.stringValue ?? "").isEmpty
        let running = pod["status"]?["phase"]?.stringValue == "Running"
        let now = ContinuousClock.now
        state.withLock { s in
            if !s.seen[i] {
                s.seen[i] = true
                s.seenCount += 1
            }
            if bound, s.bound[i] == nil {
                s.bound[i] = now
                s.boundCount += 1
            }
            if running, !s.running[i] {
                s.running[i] = true
                s.runningCount += 1
            }
        }
    }

    /// Waits until `done` holds, printing progress every few seconds; false after `timeout`.
    func wait(timeout: Duration, label: String, _ done: @escaping () -> Int) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        var lastPrint = ContinuousClock.now
        while ContinuousClock.now < deadline {
            if done() >= count { return true }
            if ContinuousClock.now - lastPrint > .seconds(5) {
                print("  \(label): \(done())/\(count)")
                fflush(nil)
                lastPrint = ContinuousClock.now
            }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return done() >= count
    }
}

enum ProcessMemory {
    /// VmRSS of a process (default: this one) in MB.
    static func rssMB(pid: Int32? = nil) -> Double {
        let path = pid.map { "/proc/\($0)/status" } ?? "/proc/self/status"
        guard let status = try? String(contentsOfFile: path, encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kb = line.split(separator: " ").compactMap({ Double($0) }).first
        else { return 0 }
        return kb / 1024
    }
}
