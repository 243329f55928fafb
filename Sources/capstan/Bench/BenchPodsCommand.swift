import ArgumentParser
import CapstanAPI
import CapstanClient
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// `capstan bench pods`: pods created at once on one real node (a `capstan agent` child with
/// runc, the image already in its store), measured from the API create to Running seen by a
/// watch; plus the agent's idle RSS. The control plane is a `capstan server` child.
struct BenchPodsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pods",
        abstract: "Measure pod start-up on a real node: API create to Running seen by watch, and agent memory.")

    @Option(name: .long, help: "Pods created at once.")
    var pods = 20

    @Option(name: .long, help: "OCI runtime of the agent: runc or crun.")
    var runtime = "runc"

    @Option(name: .long, help: "Image archive to import first (default: built with scripts/build-test-image.sh).")
    var archive: String?

    @Option(name: .long, help: "Image the pods run (must be in the archive).")
    var image = "capstan.test/busybox:latest"

    @Option(name: .long, help: "Write the agent's debug log to this file (to see where start-up time goes).")
    var agentLog: String?

    @Option(name: .long, help: "Bursts to measure one after the other on the same node (each after the last one's pods are gone); the result is their median.")
    var rounds = 1

    @Option(name: .long, help: "The agent's --parallel-starts: pods started at once, first-seen first (0: no limit; default: the agent's, three per core).")
    var parallelStarts: Int?

    func validate() throws {
        try AgentCommand.validate(parallelStarts: parallelStarts)
        if rounds < 1 { throw ValidationError("--rounds must be at least 1, not \(rounds)") }
        if pods < 1 { throw ValidationError("--pods must be at least 1, not \(pods)") }
    }

    func run() async throws {
        guard getuid() == 0 else { throw ValidationError("bench pods runs real containers: run it as root") }
        let id = String(UInt32.random(in: 0..<UInt32.max), radix: 16)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("capstan-bench-pods-\(id)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let bridge = "cbp\(id.prefix(8))"
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
        defer {
            _ = try? BenchUpCommand.runQuietly("/sbin/ip", ["link", "del", bridge])
            try? FileManager.default.removeItem(atPath: dir)
        }

        // The image, in the agent's store.
        var archivePath = archive
        if archivePath == nil {
            let script = FileManager.default.currentDirectoryPath + "/scripts/build-test-image.sh"
            guard FileManager.default.fileExists(atPath: script) else {
                throw ValidationError("no --archive and no scripts/build-test-image.sh here: run from the repository or pass --archive")
            }
            _ = try BenchUpCommand.runQuietly("/bin/bash", [script, dir + "/image"])
            archivePath = dir + "/image/busybox-oci.tar"
        }
        _ = try BenchUpCommand.runQuietly(executable, ["image", "import", "--root", dir + "/agent/images",
                                                       "--base-name", "capstan.test/busybox", archivePath!])

        let server = try ChildServer.start(dataDir: dir + "/server", apiOnly: false)
        defer { server.stop() }
        let kubeconfig = dir + "/server/kubeconfig"
        let agent = Process()
        agent.executableURL = URL(fileURLWithPath: executable)
        agent.arguments = ["agent", "--kubeconfig", kubeconfig, "--node-name", "bench-node", "--runtime", runtime,
                           "--root", dir + "/agent", "--port", "0", "--bridge", bridge,
                           "--pod-cidr", "10.248.\(Int.random(in: 0..<250)).0/24", "--stop-pods-on-exit",
                           "--log-level", agentLog == nil ? "error" : "debug"]
            + (parallelStarts.map { ["--parallel-starts", String($0)] } ?? [])
        agent.standardOutput = FileHandle.nullDevice
        if let agentLog {
            guard FileManager.default.createFile(atPath: agentLog, contents: nil), let log = FileHandle(forWritingAtPath: agentLog) else {
                throw ValidationError("cannot write the agent log \(agentLog)")
            }
            agent.standardError = log
        } else {
            agent.standardError = FileHandle.nullDevice
        }
        try agent.run()
        defer {
            if agent.isRunning {
                agent.interrupt()
                agent.waitUntilExit()
            }
        }

        var config = try Kubeconfig.load(path: kubeconfig).configuration()
        // As client-go sends them: every request a stream of one h2 connection (the watch's), so
        // a burst opens no connections (20 TLS handshakes a round on the HTTP/1.1 pool).
        config.http2ForRequests = true
        config.http2StreamsPerConnection = max(config.http2StreamsPerConnection, pods + 1)
        let client = try APIClient(configuration: config)
        defer { Task { await client.shutdown() } }
        // Node Ready.
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if let node = try? await client.get(CoreV1.Node.self, name: "bench-node"),
               node.status?.conditions?.contains(where: { $0.type == "Ready" && $0.status == "True" }) == true { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        // Idle RSS: the most seen from 3 to 13 s after the node is Ready, a window that holds a
        // lease renewal (every 10 s) and the node status checks.
        try await Task.sleep(for: .seconds(3))
        var agentIdleRSS = 0.0
        for _ in 0...20 {
            agentIdleRSS = max(agentIdleRSS, BenchUpCommand.rssMB(pid: agent.processIdentifier))
            try await Task.sleep(for: .milliseconds(500))
        }
        print(String(format: "agent pid %d idle RSS %.1f MB (most from 3 to 13 s after Ready)", agent.processIdentifier, agentIdleRSS))

        var results: [Burst] = []
        for round in 0..<rounds {
            if round > 0 { try await removeAll(client: client) }
            let burst = try await measureBurst(client: client, agentPID: agent.processIdentifier, serverPID: server.pid,
                                               names: (0..<pods).map { "bench-\(round)-\($0)" })
            results.append(burst)
            print(burst.summary(pods: pods))
        }
        // Clean up the pods before the agent stops.
        try? await removeAll(client: client)
        let p50 = Percentile.median(results.map(\.p50)), p99 = Percentile.median(results.map(\.p99))
        if rounds > 1 {
            print(String(format: "%d rounds: p50 %@ ms (median %.0f), p99 %@ ms (median %.0f)", rounds,
                         results.map { String(format: "%.0f", $0.p50) }.joined(separator: " "), p50,
                         results.map { String(format: "%.0f", $0.p99) }.joined(separator: " "), p99))
        }
        print(String(format: "RESULT pods=%d p50_ms=%.0f p99_ms=%.0f agent_idle_rss_mb=%.1f runtime=%@%@", pods, p50, p99, agentIdleRSS, runtime,
                     rounds > 1 ? " rounds=\(rounds)" : ""))
    }

    /// One burst: every pod created at once, each timed from its create to Running seen by a watch.
    struct Burst {
        var latencies: [Double]
        var elapsedMS: Double
        var cpu: (agent: Double, server: Double, bench: Double, machine: Double)

        var p50: Double { Percentile.of(latencies, 0.5) }
        var p99: Double { Percentile.of(latencies, 0.99) }

        func summary(pods: Int) -> String {
            let cores = ProcessInfo.processInfo.activeProcessorCount
            // Where the time went: CPU of the agent, the server and everything else (OCI runtime,
            // shims, the kernel's workers), per pod; /proc counts in 10 ms ticks.
            return String(format: "%d pods Running after %.0f ms; create to Running: min %.0f ms, p50 %.0f ms, p99 %.0f ms, max %.0f ms\n", pods,
                          elapsedMS, latencies.first ?? 0, p50, p99, latencies.last ?? 0)
                + String(format: "CPU from the first create to the last Running: machine %.0f ms (%.0f%% of %d cores), agent %.0f ms, server %.0f ms, bench %.0f ms, the rest %.0f ms; per pod %.1f ms",
                         cpu.machine * 1000, cpu.machine / max(1e-9, elapsedMS / 1000) / Double(cores) * 100, cores, cpu.agent * 1000,
                         cpu.server * 1000, cpu.bench * 1000, (cpu.machine - cpu.agent - cpu.server - cpu.bench) * 1000,
                         cpu.machine * 1000 / Double(pods))
        }
    }

    private func measureBurst(client: APIClient, agentPID: Int32, serverPID: Int32, names: [String]) async throws -> Burst {
        // Watch, then create every pod at once.
        let created = SharedBox<[String: ContinuousClock.Instant]>([:])
        let running = SharedBox<[String: Duration]>([:])
        let count = names.count, image = self.image
        let watch = Task {
            for try await event in client.watch(CoreV1.Pod.self, namespace: "default") {
                guard case .modified(let pod) = event, pod.status?.phase == "Running", let name = pod.metadata?.name else { continue }
                let now = ContinuousClock.now
                let t0 = created.value[name]
                var done = false
                running.update { r in
                    if r[name] == nil, let t0 { r[name] = now - t0 }
                    done = r.count >= count
                }
                if done { return }
            }
        }
        try await Task.sleep(for: .milliseconds(200))
        let agentCPU = ProcessCPU(pid: agentPID), serverCPU = ProcessCPU(pid: serverPID)
        let cpuBefore = (agent: agentCPU.seconds() ?? 0, server: serverCPU.seconds() ?? 0, bench: ProcessCPU().seconds() ?? 0,
                         machine: MachineCPU.busySeconds() ?? 0)
        let start = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for name in names {
                group.addTask {
                    var pod = CoreV1.Pod(metadata: MetaV1.ObjectMeta(name: name, namespace: "default"))
                    pod.spec = CoreV1.PodSpec(containers: [
                        CoreV1.Container(command: ["sleep", "3600"], image: image, imagePullPolicy: "Never", name: "main"),
                    ])
                    pod.spec?.terminationGracePeriodSeconds = 1
                    created.update { $0[name] = ContinuousClock.now }
                    _ = try await client.create(pod, namespace: "default")
                }
            }
            try await group.waitForAll()
        }
        let waitDeadline = ContinuousClock.now + .seconds(120)
        while running.value.count < count, ContinuousClock.now < waitDeadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        watch.cancel()
        let all = ContinuousClock.now - start
        let cpu = (agent: (agentCPU.seconds() ?? 0) - cpuBefore.agent, server: (serverCPU.seconds() ?? 0) - cpuBefore.server,
                   bench: (ProcessCPU().seconds() ?? 0) - cpuBefore.bench, machine: (MachineCPU.busySeconds() ?? 0) - cpuBefore.machine)
        let latencies = Array(running.value.values).map { Percentile.ms($0) }.sorted()
        guard latencies.count == count else {
            throw ValidationError("only \(latencies.count) of \(count) pods reached Running within 120 s")
        }
        return Burst(latencies: latencies, elapsedMS: Percentile.ms(all), cpu: cpu)
    }

    /// Deletes the bench's pods at once and waits until the agent has finished them all.
    private func removeAll(client: APIClient) async throws {
        let pods = try await client.list(CoreV1.Pod.self, namespace: "default").items
        for name in pods.compactMap({ $0.metadata?.name }) {
            _ = try? await client.request(method: .delete, path: "/api/v1/namespaces/default/pods/\(name)", query: ["gracePeriodSeconds": "0"])
        }
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            if try await client.list(CoreV1.Pod.self, namespace: "default").items.isEmpty { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw ValidationError("the bench's pods were not gone 60 s after their deletion")
    }
}
