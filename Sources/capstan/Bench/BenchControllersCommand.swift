import ArgumentParser
import CapstanAPI
import CapstanAPIServer
import CapstanClient
import CapstanControllerRuntime
import CapstanControllers
import CapstanNodeSimulator
import CapstanScheduler
import Foundation
import Synchronization

/// `capstan bench controllers`: an embedded API server on a temporary SQLite store, the
/// controller manager (every default controller), the scheduler and N simulated nodes in this
/// process; M Deployments created through the API, timed until every one is Available with all
/// its replicas ready; the API writes made meanwhile, counted by the server, per pod.
struct BenchControllersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "controllers",
        abstract: "Measure the time for Deployments on simulated nodes to become Available, and the API writes per pod.")

    @Option(name: .long, help: "Deployments to create.")
    var deployments = 1000

    @Option(name: .long, help: "Replicas of each Deployment.")
    var replicas = 10

    @Option(name: .long, help: "Simulated nodes.")
    var nodes = 100

    @Option(name: .long, help: "Concurrent Deployment creates.")
    var creators = 16

    @Option(name: .long, help: "Seconds to wait for every Deployment to be Available.")
    var timeout = 900

    func run() async throws {
        guard deployments > 0, replicas > 0, nodes > 0, creators > 0 else {
            throw ValidationError("--deployments, --replicas, --nodes and --creators must be positive")
        }
        let pods = deployments * replicas
        let perNode = (pods + nodes - 1) / nodes
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("capstan-bench-controllers-\(getpid())").path
        try? FileManager.default.removeItem(atPath: dir)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let server = try await EmbeddedServer.start(dataDir: dir)
        print("bench controllers: deployments=\(deployments) replicas=\(replicas) pods=\(pods) nodes=\(nodes), embedded server on SQLite in \(dir)")
        let kubeconfig = server.kubeconfigPath
        let admin = try BenchPods.client(kubeconfig: kubeconfig, connections: creators + 4)
        let probeClient = try BenchPods.client(kubeconfig: kubeconfig, connections: 2)
        let simClient = try BenchPods.client(kubeconfig: kubeconfig, connections: 48)
        // The scheduler and the controllers run inside `capstan server`: the in-process transport.
        let schedClient = try BenchPods.client(kubeconfig: kubeconfig, connections: 44, local: server.server.localTransport())
        let controllerClient = try BenchPods.client(kubeconfig: kubeconfig, connections: 64, local: server.server.localTransport())
        try await BenchPods.createNamespace(admin)

        var simConfig = NodeSimulator.Configuration(nodeCount: nodes, template: SimulatedNodeTemplate(cpu: "64", memory: "512Gi", pods: max(110, perNode + 10)))
        simConfig.writeConcurrency = 32
        let simulator = NodeSimulator(client: simClient, configuration: simConfig, logger: EmbeddedServer.quiet)
        let scheduler = try Scheduler(client: schedClient, logger: EmbeddedServer.quiet)
        let manager = try ControllerManager(client: controllerClient, controllers: DefaultControllers.all, leaderElection: nil,
                                            logger: EmbeddedServer.quiet)
        let background = Task {
            await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await simulator.run() }
                group.addTask { try await scheduler.run() }
                group.addTask { try await manager.run() }
            }
        }
        let t0 = ContinuousClock.now
        await simulator.waitUntilRegistered()
        await scheduler.waitUntilSynced()
        print(String(format: "%d nodes registered in %.2f s", nodes, Percentile.ms(ContinuousClock.now - t0) / 1000))
        // Let the controllers' informers sync and the one-off writes (namespace service
        // accounts, root CA config maps) settle before counting.
        try await Task.sleep(for: .seconds(2))

        // API latency seen by an ordinary client throughout: a get and a small list, every 100 ms.
        let probes = Mutex<[Double]>([])
        let probe = Task {
            var i = 0
            while !Task.isCancelled {
                let t = ContinuousClock.now
                if i % 2 == 0 {
                    _ = try? await probeClient.request(method: .get, path: CoreV1.Namespace.resource.path(name: BenchPods.namespace))
                } else {
                    _ = try? await probeClient.request(method: .get, path: AppsV1.Deployment.resource.path(namespace: BenchPods.namespace),
                                                       query: ["limit": "10"])
                }
                let ms = Percentile.ms(ContinuousClock.now - t)
                probes.withLock { $0.append(ms) }
                i += 1
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
        let progress = DeploymentProgress(count: deployments)
        let watch = Task { await progress.watch(admin) }
        let before = server.server.metrics.requestCounts()
        let simBefore = simulator.statistics
        let start = ContinuousClock.now
        let replicas = self.replicas
        let created = try await Self.create(admin, count: deployments, concurrency: creators) { name in
            Self.deployment(name: name, replicas: replicas)
        }
        print(String(format: "created %d Deployments in %.2f s (create p99 %.1f ms)", deployments, Percentile.ms(ContinuousClock.now - start) / 1000,
                     Percentile.of(created, 0.99)))
        let deadline = ContinuousClock.now + .seconds(timeout)
        var lastPrint = ContinuousClock.now
        while progress.availableCount < deployments, ContinuousClock.now < deadline {
            if ContinuousClock.now - lastPrint > .seconds(5) {
                lastPrint = ContinuousClock.now
                print(String(format: "  t=%.0fs available %d/%d, process RSS %.0f MB", Percentile.ms(lastPrint - start) / 1000,
                             progress.availableCount, deployments, ProcessMemory.rssMB()))
                fflush(nil)
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        let elapsed = ContinuousClock.now - start
        let after = server.server.metrics.requestCounts()
        let simAfter = simulator.statistics
        let available = progress.availableCount
        probe.cancel()
        watch.cancel()
        let rss = ProcessMemory.rssMB()
        let events = (try? await admin.listAll(CoreV1.Event.self, namespace: BenchPods.namespace).items) ?? []
        background.cancel()
        _ = await background.result
        for c in [admin, probeClient, simClient, schedClient, controllerClient] { await c.shutdown() }
        await server.stop()

        let writes = WriteCounts(before: before, after: after)
        let seconds = Percentile.ms(elapsed) / 1000
        let probeLatencies = probes.withLock { $0 }.sorted()
        print(String(format: "%d/%d Deployments Available (%d pods) %.2f s after the first create", available, deployments, pods, seconds))
        print("API writes during the run, per pod (\(pods) pods):")
        for (label, n) in writes.breakdown {
            print("  " + label.padding(toLength: 40, withPad: " ", startingAt: 0) + String(format: " %8d  %.3f/pod", n, Double(n) / Double(pods)))
        }
        print("  " + "total (node heartbeats excluded)".padding(toLength: 40, withPad: " ", startingAt: 0)
              + String(format: " %8d  %.3f/pod", writes.workload, Double(writes.workload) / Double(pods)))
        print(String(format: "  conflicts (409) %d, other errors (>= 400) %d; simulator pod status writes %d", writes.conflicts, writes.errors,
                     simAfter.podsStarted - simBefore.podsStarted))
        let reasons = Dictionary(grouping: events, by: { "\($0.source?.component ?? $0.reportingComponent ?? "?")/\($0.reason ?? "?")" })
            .map { ($0.key, $0.value.count, $0.value.reduce(0) { $0 + Int($1.count ?? 1) }) }.sorted { $0.1 > $1.1 }
        print("events in the namespace (objects, occurrences) by component/reason:")
        for (reason, objects, occurrences) in reasons.prefix(10) { print("  \(reason): \(objects), \(occurrences)") }
        print(String(format: "API latency during the run: probe p50 %.1f ms, p99 %.1f ms, max %.1f ms (%d probes)",
                     Percentile.of(probeLatencies, 0.5), Percentile.of(probeLatencies, 0.99), probeLatencies.last ?? 0, probeLatencies.count))
        print(String(format: "process RSS (server, controllers, scheduler and simulator together) %.0f MB", rss))
        print(String(format: "RESULT deployments=%d seconds=%.1f writes_per_pod=%.2f available=%d pods=%d nodes=%d api_p99_ms=%.1f rss_mb=%.0f",
                     deployments, seconds, Double(writes.workload) / Double(pods), available, pods, nodes,
                     Percentile.of(probeLatencies, 0.99), rss))
        if available < deployments { throw ValidationError("only \(available) of \(deployments) Deployments were Available within \(timeout) s") }
    }

    static func deployment(name: String, replicas: Int) -> JSONValue {
        let labels: JSONValue = .object(["app": .string(name)])
        let pod = BenchPods.pod(name: "", cpu: "10m", memory: "10Mi")
        return .object([
            "apiVersion": .string("apps/v1"), "kind": .string("Deployment"),
            "metadata": .object(["name": .string(name), "namespace": .string(BenchPods.namespace)]),
            "spec": .object([
                "replicas": .int(Int64(replicas)),
                "selector": .object(["matchLabels": labels]),
                "template": .object(["metadata": .object(["labels": labels]), "spec": pod["spec"] ?? .null]),
            ]),
        ])
    }

    /// Creates `count` Deployments `d-0`... with `concurrency` requests in flight; returns the
    /// latencies in ms, sorted.
    static func create(_ client: APIClient, count: Int, concurrency: Int, _ make: @escaping @Sendable (String) -> JSONValue) async throws -> [Double] {
        let path = AppsV1.Deployment.resource.path(namespace: BenchPods.namespace)
        let workers = max(1, min(concurrency, count))
        return try await withThrowingTaskGroup(of: [Double].self) { group in
            for w in 0..<workers {
                group.addTask {
                    var out: [Double] = []
                    for i in stride(from: w, to: count, by: workers) {
                        let t0 = ContinuousClock.now
                        _ = try await client.request(method: .post, path: path, body: make("d-\(i)").serialized())
                        out.append(Percentile.ms(ContinuousClock.now - t0))
                    }
                    return out
                }
            }
            var all: [Double] = []
            for try await part in group { all += part }
            return all.sorted()
        }
    }
}
