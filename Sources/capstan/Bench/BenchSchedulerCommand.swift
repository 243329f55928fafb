import ArgumentParser
import CapstanAPI
import CapstanClient
import CapstanNodeSimulator
import CapstanScheduler
import Foundation

/// `capstan bench scheduler`: an embedded API server on a temporary SQLite store, simulated
/// nodes and the scheduler in this process; pods created through the API, timed from the first
/// create to the last binding seen through a watch (scheduler_perf's measure).
struct BenchSchedulerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scheduler",
        abstract: "Measure end-to-end scheduling throughput and per-pod latency on simulated nodes.")

    enum Workload: String, ExpressibleByArgument, CaseIterable, Sendable {
        case basic, affinity, spread, preemption
    }

    @Option(name: .long, help: "Simulated nodes.")
    var nodes = 5000

    @Option(name: .long, help: "Pods to schedule (measured).")
    var pods = 10000

    @Option(name: .long, help: "basic, affinity (required pod affinity within a zone), spread (zone topology spread, maxSkew 1), preemption (every pod preempts one).")
    var workload: Workload = .basic

    @Option(name: .long, help: "Concurrent pod creates.")
    var creators = 32

    @Option(name: .long, help: "Concurrent binding requests of the scheduler.")
    var bindConcurrency = 32

    @Option(name: .long, help: "Zones the nodes are spread over (label topology.kubernetes.io/zone).")
    var zones = 10

    @Option(name: .long, help: "Record Scheduled/FailedScheduling events (one more write per pod), as kube-scheduler does.")
    var recordEvents = true

    @Flag(name: .long, help: "Print bindings written and seen every second.")
    var timeline = false

    @Option(name: .long, help: "Seconds to wait for the last binding.")
    var timeout = 600

    func run() async throws {
        guard nodes > 0, pods > 0, zones > 0 else { throw ValidationError("--nodes, --pods and --zones must be positive") }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("capstan-bench-scheduler-\(getpid())").path
        try? FileManager.default.removeItem(atPath: dir)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let server = try await EmbeddedServer.start(dataDir: dir)
        print("bench scheduler: workload=\(workload.rawValue) nodes=\(nodes) pods=\(pods), embedded server on SQLite in \(dir)")
        let admin = try BenchPods.client(kubeconfig: server.kubeconfigPath, connections: creators + 4)
        let simClient = try BenchPods.client(kubeconfig: server.kubeconfigPath, connections: 48)
        // The scheduler runs inside `capstan server`: its requests take the in-process transport.
        let schedClient = try BenchPods.client(kubeconfig: server.kubeconfigPath, connections: bindConcurrency + 12,
                                               local: server.server.localTransport())
        try await BenchPods.createNamespace(admin)

        // Preemption: nodes sized so `perNode` low-priority pods fill each, then every measured pod evicts one.
        let perNode = max(1, (pods + nodes - 1) / nodes)
        let zones = self.zones
        var template = SimulatedNodeTemplate(cpu: "32", memory: "256Gi", pods: 110)
        if workload == .preemption {
            template = SimulatedNodeTemplate(cpu: String(perNode), memory: "256Gi", pods: 110)
            try await BenchPods.createPriorityClass(admin, name: "bench-low", value: 100)
            try await BenchPods.createPriorityClass(admin, name: "bench-high", value: 10000)
        }
        // One simulator (one pod watch, as kwok has) for every node, spread over the zones by index.
        template.zones = zones
        var simConfig = NodeSimulator.Configuration(nodeCount: nodes, template: template)
        simConfig.writeConcurrency = 32
        let simulators = [NodeSimulator(client: simClient, configuration: simConfig, logger: EmbeddedServer.quiet)]
        var schedConfig = Scheduler.Configuration()
        schedConfig.bindConcurrency = bindConcurrency
        schedConfig.recordEvents = recordEvents
        let scheduler = try Scheduler(client: schedClient, configuration: schedConfig, logger: EmbeddedServer.quiet)

        let background = Task {
            await withThrowingTaskGroup(of: Void.self) { group in
                for s in simulators { group.addTask { try await s.run() } }
                group.addTask { try await scheduler.run() }
            }
        }
        let t0 = ContinuousClock.now
        for s in simulators { await s.waitUntilRegistered() }
        await scheduler.waitUntilSynced()
        print("registered \(nodes) nodes in \(fmt(ContinuousClock.now - t0)) s; RSS \(String(format: "%.0f", ProcessMemory.rssMB())) MB")

        if workload == .preemption {
            let fill = PodProgress(prefix: "low-", count: nodes * perNode)
            let watch = Task { await fill.watch(admin) }
            _ = try await BenchPods.create(admin, count: nodes * perNode, prefix: "low-", concurrency: creators) { name, _ in
                BenchPods.pod(name: name, cpu: "900m", memory: "100Mi", spec: ["priorityClassName": .string("bench-low")])
            }
            let ok = await fill.wait(timeout: .seconds(timeout), label: "low-priority pods bound") { fill.boundCount }
            watch.cancel()
            guard ok else { throw ValidationError("the low-priority pods were not all bound") }
            print("filled the nodes with \(nodes * perNode) low-priority pods")
        }

        let progress = PodProgress(prefix: "p-", count: pods)
        let watch = Task { await progress.watch(admin) }
        let before = scheduler.statistics
        let workload = self.workload
        let cpuBefore = ProcessCPU().seconds() ?? 0
        let start = ContinuousClock.now
        // When the scheduler itself had written every binding (the watch may see them later).
        let timeline = self.timeline
        let schedulerDone = Task { () -> ContinuousClock.Instant? in
            var lastPrint = ContinuousClock.now
            while !Task.isCancelled {
                let now = scheduler.statistics
                let scheduled = now.scheduled - before.scheduled
                if scheduled >= pods { return ContinuousClock.now }
                if timeline, ContinuousClock.now - lastPrint >= .seconds(1) {
                    lastPrint = ContinuousClock.now
                    print(String(format: "  t=%.1fs created (seen by a watch) %d, scheduler pod events %d, bindings written %d, seen bound %d, queued %d, bindings in flight %d",
                                 Percentile.ms(lastPrint - start) / 1000, progress.seenCount, now.podEvents - before.podEvents,
                                 scheduled, progress.boundCount, now.queuedPods, now.bindingsInFlight))
                }
                try? await Task.sleep(for: .milliseconds(10))
            }
            return nil
        }
        let created = try await BenchPods.create(admin, count: pods, prefix: "p-", concurrency: creators) { name, i in
            Self.pod(workload, name: name, index: i, zones: zones)
        }
        let createdIn = ContinuousClock.now - start
        let allBound = await progress.wait(timeout: .seconds(timeout), label: "bound") { progress.boundCount }
        let bound = progress.boundTimes
        let end = bound.compactMap { $0 }.max() ?? ContinuousClock.now
        // The whole process (server, scheduler, simulated nodes, creators, watches) from the first create to the last binding seen.
        let cpuSeconds = (ProcessCPU().seconds() ?? 0) - cpuBefore
        watch.cancel()
        schedulerDone.cancel()
        let lastBindingWritten = await schedulerDone.value
        let after = scheduler.statistics
        background.cancel()
        _ = await background.result
        await admin.shutdown()
        await simClient.shutdown()
        await schedClient.shutdown()
        await server.stop()

        let boundCount = bound.compactMap { $0 }.count
        let seconds = Percentile.ms(end - start) / 1000
        let perSecond = Double(boundCount) / max(seconds, 1e-9)
        let latencies = zip(created.starts, bound).compactMap { s, b in b.map { Percentile.ms($0 - s) } }.sorted()
        let scheduled = max(1, after.scheduled - before.scheduled)
        print(String(format: "created %d pods in %.2f s (%.0f/s, create p50 %.1f ms, p99 %.1f ms)", pods, Percentile.ms(createdIn) / 1000,
                     Double(pods) / (Percentile.ms(createdIn) / 1000), Percentile.of(created.latenciesMS, 0.5), Percentile.of(created.latenciesMS, 0.99)))
        print(String(format: "bound %d/%d pods in %.2f s after the first create: %.0f pods/s", boundCount, pods, seconds, perSecond))
        if let lastBindingWritten {
            print(String(format: "the scheduler had written every binding %.2f s after the first create", Percentile.ms(lastBindingWritten - start) / 1000))
        }
        print(String(format: "per-pod latency (create sent -> binding seen): p50 %.1f ms, p99 %.1f ms, max %.1f ms",
                     Percentile.of(latencies, 0.5), Percentile.of(latencies, 0.99), latencies.last ?? 0))
        print(String(format: "scheduler: %.1f µs of scheduling cycle per pod (%.2f s in all), binding request avg %.1f ms, %d unschedulable cycles, %d preemptions, %d victims, %d events written, %d dropped, %d binding errors",
                     Percentile.ms(after.schedulingTime - before.schedulingTime) * 1000 / Double(scheduled),
                     Percentile.ms(after.schedulingTime - before.schedulingTime) / 1000,
                     Percentile.ms(after.bindingTime - before.bindingTime) / Double(scheduled),
                     after.unschedulable - before.unschedulable, after.preemptions - before.preemptions,
                     after.victimsDeleted - before.victimsDeleted, after.eventsWritten - before.eventsWritten,
                     after.eventsDropped - before.eventsDropped, after.bindingErrors - before.bindingErrors))
        print(String(format: "process RSS %.0f MB; process CPU %.2f s from the first create to the last binding (%.0f µs per pod, %.2f cores)",
                     ProcessMemory.rssMB(), cpuSeconds, cpuSeconds * 1e6 / Double(pods), cpuSeconds / max(seconds, 1e-9)))
        print(String(format: "RESULT workload=%@ nodes=%d pods=%d pods_per_s=%.0f p50_ms=%.1f p99_ms=%.1f bound=%d cpu_us_per_pod=%.0f",
                     workload.rawValue, nodes, pods, perSecond, Percentile.of(latencies, 0.5), Percentile.of(latencies, 0.99), boundCount,
                     cpuSeconds * 1e6 / Double(pods)))
        if !allBound { throw ValidationError("only \(boundCount) of \(pods) pods were bound within \(timeout) s") }
    }

    private func fmt(_ d: Duration) -> String { String(format: "%.2f", Percentile.ms(d) / 1000) }

    static func pod(_ workload: Workload, name: String, index: Int, zones: Int) -> JSONValue {
        switch workload {
        case .basic:
            return BenchPods.pod(name: name, cpu: "100m", memory: "100Mi")
        case .affinity:
            // Every pod must share a zone with the group (the first one may go anywhere).
            let term: JSONValue = .object([
                "labelSelector": .object(["matchLabels": .object(["group": .string("g\(index % 10)")])]),
                "topologyKey": .string("topology.kubernetes.io/zone"),
            ])
            return BenchPods.pod(name: name, cpu: "100m", memory: "100Mi", labels: ["group": "g\(index % 10)"], spec: [
                "affinity": .object(["podAffinity": .object(["requiredDuringSchedulingIgnoredDuringExecution": .array([term])])]),
            ])
        case .spread:
            return BenchPods.pod(name: name, cpu: "100m", memory: "100Mi", labels: ["app": "spread"], spec: [
                "topologySpreadConstraints": .array([.object([
                    "maxSkew": .int(1), "topologyKey": .string("topology.kubernetes.io/zone"),
                    "whenUnsatisfiable": .string("DoNotSchedule"),
                    "labelSelector": .object(["matchLabels": .object(["app": .string("spread")])]),
                ])]),
            ])
        case .preemption:
            return BenchPods.pod(name: name, cpu: "900m", memory: "100Mi", spec: ["priorityClassName": .string("bench-high")])
        }
    }
}
