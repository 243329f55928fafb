import ArgumentParser
import CapstanAPI
import CapstanClient
import Foundation
import Synchronization

/// `capstan bench api`: creates, gets, lists and watch fan-out against a `capstan server`
/// started as a child process on a temporary SQLite store, as users run it.
struct BenchAPICommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "api",
        abstract: "Measure API throughput and latency (creates, gets, lists, watch fan-out) and server memory.")

    @Option(name: .long, help: "Concurrent clients (connections).")
    var clients = 32

    @Option(name: .long, help: "Seconds per phase (creates, gets).")
    var duration = 5.0

    @Option(name: .long, help: "Concurrent watchers for the fan-out phase.")
    var watchers = 1000

    @Option(name: .long, help: "Writes observed by every watcher in the fan-out phase.")
    var watchWrites = 20

    @Flag(name: .long, help: "Speak HTTP/1.1 only (no h2 in ALPN), to compare the protocols.")
    var http1 = false

    @Flag(name: .long, help: "Send the requests over HTTP/2 too (by default only watches are h2 streams).")
    var h2Requests = false

    @Option(name: .long, help: "With --h2-requests: requests in flight per h2 connection before the client opens another.")
    var h2Streams: Int?

    func run() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("capstan-bench-api-\(getpid())").path
        try? FileManager.default.removeItem(atPath: dir)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let server = try ChildServer.start(dataDir: dir)
        defer { server.stop() }
        print("server: pid \(server.pid), https://127.0.0.1:\(server.port), idle RSS \(String(format: "%.1f", server.rssMB())) MB")
        let idleRSS = server.rssMB()

        var config = try Kubeconfig.load(path: dir + "/kubeconfig").configuration()
        config.maxConnections = clients
        config.maxIdleConnections = clients
        config.http2 = !http1
        config.http2ForRequests = h2Requests
        if let h2Streams { config.http2StreamsPerConnection = h2Streams }
        let client = try APIClient(configuration: config)
        let configmaps = APIResource(group: "", version: "v1", plural: "configmaps", kind: "ConfigMap", namespaced: true)
        let payload = String(repeating: "x", count: 256)

        // Creates.
        let created = SharedBox<[String]>([])
        let creates = try await LoadPhase.run(clients: clients, seconds: duration) { worker, i in
            let name = "bench-\(worker)-\(i)"
            let body = JSONValue.object([
                "apiVersion": .string("v1"), "kind": .string("ConfigMap"),
                "metadata": .object(["name": .string(name), "labels": .object(["bench": .string("api")])]),
                "data": .object(["payload": .string(payload)]),
            ]).serialized()
            _ = try await client.request(method: .post, path: configmaps.path(namespace: "default"), body: body,
                                         contentType: "application/json")
            if i % 4 == 0 { created.update { $0.append(name) } }
        }
        creates.report("creates")

        // Gets of existing objects.
        let names = created.value
        let gets = try await LoadPhase.run(clients: clients, seconds: duration) { worker, i in
            let name = names[(worker * 7919 + i * 31) % names.count]
            _ = try await client.request(method: .get, path: configmaps.path(namespace: "default", name: name))
        }
        gets.report("gets")

        // Lists of 500 objects, as kubectl pages them.
        let lists = try await LoadPhase.run(clients: min(clients, 8), seconds: min(duration, 3)) { _, _ in
            _ = try await client.request(method: .get, path: configmaps.path(namespace: "default"),
                                         query: ["limit": "500", "labelSelector": "bench=api"])
        }
        lists.report("lists (limit 500)")

        // Watch fan-out: every watcher must see every write.
        let fanout = try await WatchFanout.run(config: config, watchers: watchers, writes: watchWrites, client: client)
        print(String(format: "watch fan-out: %d watchers x %d writes, delivery p50 %.2f ms, p99 %.2f ms, max %.2f ms, missed %d"
                     + " (the writes themselves: median %.2f ms, max %.2f ms)",
                     watchers, watchWrites, fanout.p50, fanout.p99, fanout.max, fanout.missed, fanout.writeMedian, fanout.writeMax))

        let loadedRSS = server.rssMB()
        print(String(format: "server RSS: idle %.1f MB, after the run %.1f MB", idleRSS, loadedRSS))
        await client.shutdown()
        print(String(format: "RESULT creates_per_s=%.0f create_p99_ms=%.2f gets_per_s=%.0f get_p99_ms=%.2f watch_p99_ms=%.2f rss_mb=%.1f",
                     creates.perSecond, creates.p99, gets.perSecond, gets.p99, fanout.p99, idleRSS))
    }
}

/// A closed-loop load phase: each client issues its next request when the previous answered.
struct LoadPhase {
    var count: Int
    var seconds: Double
    var latenciesMS: [Double]

    var perSecond: Double { Double(count) / seconds }
    var p50: Double { Percentile.of(latenciesMS, 0.50) }
    var p99: Double { Percentile.of(latenciesMS, 0.99) }

    func report(_ name: String) {
        print(String(format: "%@: %d in %.1f s = %.0f/s, p50 %.2f ms, p99 %.2f ms", name, count, seconds, perSecond, p50, p99))
    }

    static func run(clients: Int, seconds: Double,
                    _ body: @escaping @Sendable (_ worker: Int, _ iteration: Int) async throws -> Void) async throws -> LoadPhase {
        let start = ContinuousClock.now
        let deadline = start + .milliseconds(Int64(seconds * 1000))
        let results = try await withThrowingTaskGroup(of: [Double].self) { group in
            for worker in 0..<clients {
                group.addTask {
                    var latencies: [Double] = []
                    var i = 0
                    while ContinuousClock.now < deadline {
                        let t0 = ContinuousClock.now
                        try await body(worker, i)
                        latencies.append(Percentile.ms(ContinuousClock.now - t0))
                        i += 1
                    }
                    return latencies
                }
            }
            var all: [Double] = []
            for try await part in group { all += part }
            return all
        }
        let elapsed = Percentile.ms(ContinuousClock.now - start) / 1000
        return LoadPhase(count: results.count, seconds: elapsed, latenciesMS: results.sorted())
    }
}

enum Percentile {
    static func of(_ sorted: [Double], _ p: Double) -> Double {
        guard !sorted.isEmpty else { return 0 }
        return sorted[min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.up)) - 1)]
    }

    /// The middle value (the mean of the middle two for an even count); 0 for none.
    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return 0 }
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }

    static func ms(_ d: Duration) -> Double {
        Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15
    }
}

/// Many watchers on one namespace; each write's delivery latency is measured at every watcher.
enum WatchFanout {
    struct Result { var p50: Double; var p99: Double; var max: Double; var missed: Int; var writeMax: Double; var writeMedian: Double }

    static func run(config: ClientConfiguration, watchers: Int, writes: Int, client: APIClient) async throws -> Result {
        let configmaps = APIResource(group: "", version: "v1", plural: "configmaps", kind: "ConfigMap", namespaced: true)
        let namespaces = APIResource(group: "", version: "v1", plural: "namespaces", kind: "Namespace", namespaced: false)
        _ = try? await client.request(method: .post, path: namespaces.path(),
                                      body: Array(#"{"metadata":{"name":"fanout"}}"#.utf8), contentType: "application/json")
        // Watch connections are dedicated; spread them over a few clients.
        var watchConfig = config
        watchConfig.maxConnections = 4
        let watchClient = try APIClient(configuration: watchConfig)
        defer { Task { await watchClient.shutdown() } }
        let sent = SharedBox<[String: ContinuousClock.Instant]>([:])
        let received = SharedBox<[Double]>([])
        let ready = SharedBox<Int>(0)
        let seenAll = SharedBox<Int>(0)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<watchers {
                group.addTask {
                    var options = WatchOptions()
                    options.labelSelector = "fanout=yes"
                    let stream = watchClient.watch(configmaps, namespace: "fanout", options: options)
                    var seen = 0
                    for try await event in stream {
                        guard let name = event.object?["metadata"]?["name"]?.stringValue else { continue }
                        if name == "sentinel" {
                            ready.update { $0 += 1 }
                            continue
                        }
                        let now = ContinuousClock.now
                        if let t = sent.value[name] {
                            received.update { $0.append(Percentile.ms(now - t)) }
                        }
                        seen += 1
                        if seen == writes {
                            seenAll.update { $0 += 1 }
                            return
                        }
                    }
                }
            }
            // Every watcher is established when it has seen the sentinel.
            let sentinel = Array(#"{"metadata":{"name":"sentinel","labels":{"fanout":"yes"}}}"#.utf8)
            _ = try await client.request(method: .post, path: configmaps.path(namespace: "fanout"), body: sentinel,
                                         contentType: "application/json")
            var waited = 0
            while ready.value < watchers, waited < 600 {
                try await Task.sleep(for: .milliseconds(100))
                waited += 1
                if waited % 20 == 0 {
                    // Watchers that connected after the sentinel see it on the next touch.
                    _ = try? await client.request(
                        method: .patch, path: configmaps.path(namespace: "fanout", name: "sentinel"),
                        body: Array(#"{"data":{"t":"\#(waited)"}}"#.utf8), contentType: "application/merge-patch+json")
                }
            }
            var writeLatencies: [Double] = []
            for i in 0..<writes {
                let name = "w-\(i)"
                let body = Array(#"{"metadata":{"name":"\#(name)","labels":{"fanout":"yes"}}}"#.utf8)
                let start = ContinuousClock.now
                sent.update { $0[name] = start }
                _ = try await client.request(method: .post, path: configmaps.path(namespace: "fanout"), body: body,
                                             contentType: "application/json")
                writeLatencies.append(Percentile.ms(ContinuousClock.now - start))
                try await Task.sleep(for: .milliseconds(50))
            }
            let deadline = ContinuousClock.now + .seconds(10)
            while seenAll.value < watchers, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            group.cancelAll()
            let latencies = received.value.sorted()
            let expected = watchers * writes
            return Result(p50: Percentile.of(latencies, 0.5), p99: Percentile.of(latencies, 0.99),
                          max: latencies.last ?? 0, missed: expected - latencies.count,
                          writeMax: writeLatencies.max() ?? 0, writeMedian: Percentile.median(writeLatencies))
        }
    }
}

/// `capstan server` as a child process on a temporary data directory.
struct ChildServer {
    let process: Process
    let port: Int

    var pid: Int32 { process.processIdentifier }

    /// Starts `capstan server` (the API server alone unless `apiOnly` is false).
    static func start(dataDir: String, apiOnly: Bool = true) throws -> ChildServer {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL
        if !FileManager.default.isExecutableFile(atPath: process.executableURL!.path) {
            process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        }
        process.arguments = ["server", "--data-dir", dataDir, "--port", "0"] + (apiOnly ? ["--api-only"] : [])
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        // The first line names the port: "API serving on https://127.0.0.1:PORT".
        var buffer = Data()
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            buffer.append(chunk)
            if let text = String(data: buffer, encoding: .utf8), let line = text.split(separator: "\n").first(where: { $0.contains("API serving on") }),
               let port = line.split(separator: ":").last.flatMap({ Int($0) }) {
                return ChildServer(process: process, port: port)
            }
        }
        process.terminate()
        throw ValidationError("capstan server did not start: \(String(data: buffer, encoding: .utf8) ?? "")")
    }

    func rssMB() -> Double { BenchUpCommand.rssMB(pid: pid) }

    func stop() {
        process.interrupt()
        process.waitUntilExit()
    }
}

/// A value shared between tasks of the benchmark.
final class SharedBox<Value: Sendable>: Sendable {
    private let storage: Mutex<Value>

    init(_ value: Value) { storage = Mutex(value) }

    var value: Value { storage.withLock { $0 } }

    func update(_ body: (inout Value) -> Void) { storage.withLock { body(&$0) } }
}
