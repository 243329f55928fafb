import ArgumentParser
import CapstanAPI
import CapstanClient
import CapstanNodeSimulator
import CapstanScheduler
import Foundation
import Synchronization

/// `capstan bench scale`: `capstan server --api-only` as a child process (so its memory is its
/// own), N simulated nodes and the scheduler in this process, M pods created; measures the
/// time until every node is Ready and every pod Running, API latency meanwhile, and server RSS
/// per pod.
struct BenchScaleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scale",
        abstract: "Measure the time to N Ready nodes and M Running pods, API p99 meanwhile, and server memory per pod.")

    @Option(name: .long, help: "Simulated nodes.")
    var nodes = 5000

    @Option(name: .long, help: "Pods to run.")
    var pods = 150_000

    @Option(name: .long, help: "Concurrent pod creates.")
    var creators = 32

    @Option(name: .long, help: "Seconds to wait for every pod to run.")
    var timeout = 900

    func run() async throws {
        guard nodes > 0, pods > 0 else { throw ValidationError("--nodes and --pods must be positive") }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("capstan-bench-scale-\(getpid())").path
        try? FileManager.default.removeItem(atPath: dir)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let server = try ChildServer.start(dataDir: dir)
        defer { server.stop() }
        let idleRSS = server.rssMB()
        print("bench scale: nodes=\(nodes) pods=\(pods); server pid \(server.pid), idle RSS \(String(format: "%.1f", idleRSS)) MB")
        let kubeconfig = dir + "/kubeconfig"
        let admin = try BenchPods.client(kubeconfig: kubeconfig, connections: creators + 4)
        let probeClient = try BenchPods.client(kubeconfig: kubeconfig, connections: 2)
        let simClient = try BenchPods.client(kubeconfig: kubeconfig, connections: 80)
        let schedClient = try BenchPods.client(kubeconfig: kubeconfig, connections: 44)
        try await BenchPods.createNamespace(admin)

        var simConfig = NodeSimulator.Configuration(nodeCount: nodes, template: SimulatedNodeTemplate(cpu: "32", memory: "256Gi", pods: 110))
        simConfig.writeConcurrency = 64
        let simulator = NodeSimulator(client: simClient, configuration: simConfig, logger: EmbeddedServer.quiet)
        let scheduler = try Scheduler(client: schedClient, logger: EmbeddedServer.quiet)
        let background = Task {
            await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await simulator.run() }
                group.addTask { try await scheduler.run() }
            }
        }
        // API latency seen by an ordinary client throughout: a get and a small list, every 100 ms.
        let probes = Mutex<[Double]>([])
        let probe = Task {
            var i = 0
            while !Task.isCancelled {
                let t = ContinuousClock.now
                if i % 2 == 0 {
                    _ = try? await probeClient.request(method: .get, path: CoreV1.Namespace.resource.path(name: BenchPods.namespace))
                } else {
                    _ = try? await probeClient.request(method: .get, path: CoreV1.Pod.resource.path(namespace: BenchPods.namespace),
                                                       query: ["limit": "10"])
                }
                let ms = Percentile.ms(ContinuousClock.now - t)
                probes.withLock { $0.append(ms) }
                i += 1
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
        let start = ContinuousClock.now
        await simulator.waitUntilRegistered()
        await scheduler.waitUntilSynced()
        let nodesReady = ContinuousClock.now - start
        print(String(format: "%d nodes Ready in %.2f s; server RSS %.0f MB", nodes, Percentile.ms(nodesReady) / 1000, server.rssMB()))
        let progress = PodProgress(prefix: "p-", count: pods)
        let watch = Task { await progress.watch(admin) }
        // CPU per pod: less noisy than the time on a shared machine, and split by process.
        let serverCPU = ProcessCPU(pid: server.pid), benchCPU = ProcessCPU(pid: nil)
        let cpuBefore = (server: serverCPU.seconds() ?? 0, bench: benchCPU.seconds() ?? 0)
        let podStart = ContinuousClock.now
        let created = try await BenchPods.create(admin, count: pods, prefix: "p-", concurrency: creators) { name, _ in
            BenchPods.pod(name: name, cpu: "10m", memory: "10Mi")
        }
        print(String(format: "created %d pods in %.2f s", pods, Percentile.ms(ContinuousClock.now - podStart) / 1000))
        let allRunning = await progress.wait(timeout: .seconds(timeout), label: "running") { progress.runningCount }
        let total = ContinuousClock.now - start
        let podsTime = ContinuousClock.now - podStart
        let cpuAfter = (server: serverCPU.seconds() ?? 0, bench: benchCPU.seconds() ?? 0)
        probe.cancel()
        watch.cancel()
        let loadedRSS = server.rssMB()
        background.cancel()
        _ = await background.result
        for c in [admin, probeClient, simClient, schedClient] { await c.shutdown() }

        let probeLatencies = probes.withLock { $0 }.sorted()
        let perPodKB = (loadedRSS - idleRSS) * 1024 / Double(pods)
        print(String(format: "%d/%d pods Running %.2f s after the first create; %.2f s from start (nodes included)",
                     progress.runningCount, pods, Percentile.ms(podsTime) / 1000, Percentile.ms(total) / 1000))
        print(String(format: "API latency during the run: probe p50 %.1f ms, p99 %.1f ms, max %.1f ms (%d probes); creates p99 %.1f ms",
                     Percentile.of(probeLatencies, 0.5), Percentile.of(probeLatencies, 0.99), probeLatencies.last ?? 0,
                     probeLatencies.count, Percentile.of(created.latenciesMS, 0.99)))
        print(String(format: "server RSS: idle %.0f MB, loaded %.0f MB, %.1f KB per pod", idleRSS, loadedRSS, perPodKB))
        let serverMicros = (cpuAfter.server - cpuBefore.server) * 1e6 / Double(pods)
        let benchMicros = (cpuAfter.bench - cpuBefore.bench) * 1e6 / Double(pods)
        print(String(format: "CPU per pod from the first create: server %.0f µs, this process (scheduler, simulated nodes, creates, watches) %.0f µs",
                     serverMicros, benchMicros))
        print(String(format: "RESULT nodes=%d pods=%d running=%d seconds=%.1f api_p99_ms=%.1f server_rss_mb=%.0f kb_per_pod=%.1f server_cpu_us_per_pod=%.0f bench_cpu_us_per_pod=%.0f",
                     nodes, pods, progress.runningCount, Percentile.ms(total) / 1000, Percentile.of(probeLatencies, 0.99), loadedRSS, perPodKB,
                     serverMicros, benchMicros))
        if !allRunning { throw ValidationError("only \(progress.runningCount) of \(pods) pods were Running within \(timeout) s") }
    }
}
