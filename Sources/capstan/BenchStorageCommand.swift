import ArgumentParser
import CapstanStorage
import CapstanStorageEtcd
import CapstanStorageSQLite
import Foundation

/// `capstan bench storage`: durable write and read throughput of a storage backend, next to
/// the raw engine under the same settings.
///
/// What "raw" means for SQLite: the same vendored SQLite with the same pragmas (WAL,
/// `synchronous=FULL`), the same number of concurrent clients, the same writer thread and
/// group commit, inserting one row per write into a table indexed by name, and nothing else
/// (`SQLiteRawEngine`). The ratio is therefore the cost of the storage logic itself:
/// precondition reads, revisions, the append-log layout, watch fan-out. For context the
/// command also prints raw inserts with one commit (one fsync) per write.
struct BenchStorageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "storage",
        abstract: "Measure durable writes and reads of a storage backend against the raw engine."
    )

    enum Backend: String, ExpressibleByArgument, CaseIterable {
        case sqlite, etcd
    }

    @Option(help: "The backend to measure: sqlite or etcd.")
    var backend: Backend = .sqlite

    @Option(help: "etcd endpoints, comma-separated (etcd backend only).")
    var endpoints: String?

    @Option(help: "Concurrent clients.")
    var clients: Int = 32

    @Option(help: "Writes (and reads) per phase.")
    var ops: Int = 50_000

    @Option(help: "Watchers on the storage during its phases, as the API server's watch cache has (each consumes every event).")
    var watchers: Int = 0

    @Option(help: "Value size in bytes.")
    var valueBytes: Int = 1024

    @Option(help: "Runs; the RESULT line reports the median run.")
    var runs: Int = 3

    @Option(help: "Directory for the database files (default: a new directory under the system temp dir).")
    var dir: String?

    func validate() throws {
        guard watchers >= 0 else { throw ValidationError("--watchers must not be negative") }
        guard clients > 0, ops > 0, runs > 0 else { throw ValidationError("--clients, --ops and --runs must be positive") }
        guard valueBytes >= 0, valueBytes <= StorageLimits.maxValueBytes else {
            throw ValidationError("--value-bytes must be between 0 and \(StorageLimits.maxValueBytes)")
        }
    }

    func run() async throws {
        switch backend {
        case .etcd:
            try await runEtcd()
        case .sqlite:
            try await runSQLite()
        }
    }

    private func runSQLite() async throws {
        let base = dir ?? FileManager.default.temporaryDirectory.path
        let workDir = base + "/capstan-bench-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: workDir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: workDir) }

        print("storage benchmark: backend=sqlite clients=\(clients) ops=\(ops) value=\(valueBytes)B journal=WAL synchronous=FULL runs=\(runs) watchers=\(watchers) dir=\(workDir)")
        let keys = (0..<ops).map { "/registry/pods/bench/pod-\(String(format: "%07d", $0))" }
        var generator = SystemRandomNumberGenerator()
        let value = (0..<valueBytes).map { _ in UInt8.random(in: 0...255, using: &generator) }

        var storageRuns: [(writes: Phase, reads: Phase, perCommit: Double)] = []
        var rawRuns: [(writes: Phase, reads: Phase)] = []
        for run in 1...runs {
            let raw = try await measureRaw(path: workDir + "/raw-\(run).db", keys: keys, value: value, grouped: true)
            print("run \(run) raw sqlite (group commit)   writes: \(raw.writes)")
            print("run \(run) raw sqlite (group commit)   reads:  \(raw.reads)")
            rawRuns.append(raw)
            let storage = try await measureStorage(path: workDir + "/storage-\(run).db", keys: keys, value: value)
            print("run \(run) capstan sqlite storage      writes: \(storage.writes)  (\(String(format: "%.1f", storage.perCommit)) writes per commit)")
            print("run \(run) capstan sqlite storage      reads:  \(storage.reads)")
            storageRuns.append(storage)
        }
        let single = Array(keys.prefix(min(ops, 4000)))
        let unbatched = try await measureRaw(path: workDir + "/raw-single.db", keys: single, value: value, grouped: false)
        print("context: raw sqlite, one commit per write (no group commit), \(single.count) ops: writes: \(unbatched.writes)")

        let median = storageRuns.sorted { $0.writes.perSecond < $1.writes.perSecond }[storageRuns.count / 2]
        let rawMedian = rawRuns.sorted { $0.writes.perSecond < $1.writes.perSecond }[rawRuns.count / 2]
        let readMedian = storageRuns.map(\.reads.perSecond).sorted()[storageRuns.count / 2]
        let rawReadMedian = rawRuns.map(\.reads.perSecond).sorted()[rawRuns.count / 2]
        let ratio = median.writes.perSecond / rawMedian.writes.perSecond
        print("median: capstan writes/s=\(Int(median.writes.perSecond)) p50=\(ms(median.writes.p50)) p99=\(ms(median.writes.p99)); reads/s=\(Int(readMedian)); raw writes/s=\(Int(rawMedian.writes.perSecond)) p99=\(ms(rawMedian.writes.p99)); raw reads/s=\(Int(rawReadMedian))")
        print("RESULT backend=sqlite writes_per_s=\(Int(median.writes.perSecond)) raw_writes_per_s=\(Int(rawMedian.writes.perSecond)) ratio=\(String(format: "%.2f", ratio)) p99_ms=\(ms(median.writes.p99)) reads_per_s=\(Int(readMedian)) clients=\(clients)")
    }

    private func measureStorage(path: String, keys: [String], value: [UInt8]) async throws -> (writes: Phase, reads: Phase, perCommit: Double) {
        let storage = try SQLiteStorage(path: path)
        var consumers: [Task<Int, any Error>] = []
        for _ in 0..<watchers {
            let stream = try await storage.watch(prefix: "/registry/", afterRevision: 0)
            consumers.append(Task {
                var seen = 0
                for try await message in stream {
                    if case .event = message { seen += 1 }
                    if seen == keys.count { break }
                }
                return seen
            })
        }
        do {
            let writes = try await Phase.measure(clients: clients, count: keys.count) { index in
                _ = try await storage.create(keys[index], value: value)
            }
            let statistics = storage.statistics
            for consumer in consumers {
                let seen = try await consumer.value
                guard seen == keys.count else { throw BenchError("a watcher saw \(seen) of \(keys.count) events") }
            }
            let reads = try await Phase.measure(clients: clients, count: keys.count) { index in
                let key = keys[(index &* 7919) % keys.count]
                guard try await storage.get(key).kv != nil else { throw ValidationError("read of \(key) found nothing") }
            }
            await storage.close()
            removeDatabase(path)
            return (writes, reads, Double(statistics.requests) / Double(max(statistics.transactions, 1)))
        } catch {
            for consumer in consumers { consumer.cancel() }
            await storage.close()
            removeDatabase(path)
            throw error
        }
    }

    private func measureRaw(path: String, keys: [String], value: [UInt8], grouped: Bool) async throws -> (writes: Phase, reads: Phase) {
        let engine = try SQLiteRawEngine(path: path, grouped: grouped)
        do {
            let writes = try await Phase.measure(clients: clients, count: keys.count) { index in
                try await engine.insert(keys[index], value: value)
            }
            let reads = try await Phase.measure(clients: clients, count: keys.count) { index in
                let key = keys[(index &* 7919) % keys.count]
                guard try engine.get(key) != nil else { throw ValidationError("read of \(key) found nothing") }
            }
            await engine.close()
            removeDatabase(path)
            return (writes, reads)
        } catch {
            await engine.close()
            removeDatabase(path)
            throw error
        }
    }

    private func removeDatabase(_ path: String) {
        for suffix in ["", "-wal", "-shm", ".lock"] { try? FileManager.default.removeItem(atPath: path + suffix) }
    }

    func ms(_ duration: Duration) -> String {
        String(format: "%.2f", Phase.seconds(duration) * 1000)
    }
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Throughput and latency of one phase.
struct Phase: CustomStringConvertible {
    var operations: Int
    var elapsed: Duration
    var p50: Duration
    var p99: Duration
    /// CPU seconds this process used during the phase, if known.
    var clientCPU: Double?
    /// CPU seconds the measured server process used during the phase, if known.
    var serverCPU: Double?

    var perSecond: Double { Double(operations) / Phase.seconds(elapsed) }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    var description: String {
        var text = String(
            format: "%8.0f/s  p50=%.2fms p99=%.2fms (%d ops in %.2fs)",
            perSecond, Phase.seconds(p50) * 1000, Phase.seconds(p99) * 1000, operations, Phase.seconds(elapsed))
        if let clientCPU { text += String(format: "  cpu/op: client %.0fus", clientCPU * 1e6 / Double(operations)) }
        if let serverCPU { text += String(format: " server %.0fus", serverCPU * 1e6 / Double(operations)) }
        return text
    }

    /// Runs `count` operations spread over `clients` concurrent tasks, timing each, and the
    /// CPU time of this process and of `server` (if given) over the phase.
    static func measure(
        clients: Int, count: Int, server: ProcessCPU? = nil,
        _ operation: @escaping @Sendable (Int) async throws -> Void
    ) async throws -> Phase {
        let clock = ContinuousClock()
        let clientCPUBefore = ProcessCPU().seconds()
        let serverCPUBefore = server?.seconds()
        let start = clock.now
        let latencies = try await withThrowingTaskGroup(of: [Duration].self) { group in
            for client in 0..<clients {
                group.addTask {
                    var latencies: [Duration] = []
                    latencies.reserveCapacity(count / clients + 1)
                    for index in stride(from: client, to: count, by: clients) {
                        let began = clock.now
                        try await operation(index)
                        latencies.append(began.duration(to: clock.now))
                    }
                    return latencies
                }
            }
            var all: [Duration] = []
            for try await part in group { all += part }
            return all.sorted()
        }
        let elapsed = start.duration(to: clock.now)
        let clientCPU = clientCPUBefore.flatMap { before in ProcessCPU().seconds().map { $0 - before } }
        let serverCPU = serverCPUBefore.flatMap { before in server?.seconds().map { $0 - before } }
        func percentile(_ p: Double) -> Duration {
            latencies.isEmpty ? .zero : latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))]
        }
        return Phase(
            operations: count, elapsed: elapsed, p50: percentile(0.50), p99: percentile(0.99),
            clientCPU: clientCPU, serverCPU: serverCPU)
    }
}
