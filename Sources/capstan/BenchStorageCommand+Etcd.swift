import CapstanStorage
import CapstanStorageEtcd
import Foundation

/// `capstan bench storage --backend etcd`: the storage (one transaction per write, as every
/// write of the API server) against raw etcd puts and gets through the same gRPC client, with
/// the same clients, values and operation counts.
///
/// Fairness: both paths are warmed up first (connections, etcd's first allocations) and not
/// measured then; the runs alternate which path goes first, so the growth of etcd's database
/// over a run and any drift of the machine weigh on both alike; the `RESULT` line reports
/// medians over the runs. For context each run also measures raw etcd transactions of the
/// create shape (compare, put, range on failure) with no storage logic: the difference between
/// raw puts and raw transactions is etcd's own cost of a conditional write.
extension BenchStorageCommand {
    /// Without `--endpoints`, a temporary single-member etcd from PATH is started on loopback
    /// (data under `--dir` or the temp dir) and removed afterwards; its CPU time is reported.
    func runEtcd() async throws {
        guard let endpoints else {
            print("starting a temporary etcd from PATH on loopback")
            let server = try await EtcdServerProcess(parentDirectory: dir)
            do {
                let cpu = server.pid(of: 0).map { ProcessCPU(pid: $0) }
                try await benchEtcd(endpoints: server.endpoints, server: cpu, where: server.directory)
            } catch {
                await server.remove()
                throw error
            }
            await server.remove()
            return
        }
        try await benchEtcd(endpoints: endpoints, server: nil, where: nil)
    }

    private struct EtcdRun {
        var raw: (writes: Phase, reads: Phase)
        var rawTxn: Phase
        var storage: (writes: Phase, reads: Phase)
        var ratio: Double { storage.writes.perSecond / raw.writes.perSecond }
    }

    private func benchEtcd(endpoints: String, server: ProcessCPU?, where directory: String?) async throws {
        let storage = try EtcdStorage(endpoints: endpoints)
        let base = "/capstan-bench/\(UUID().uuidString.prefix(8))"
        print("storage benchmark: backend=etcd endpoints=\(endpoints) clients=\(clients) ops=\(ops) value=\(valueBytes)B runs=\(runs) watchers=\(watchers)\(directory.map { " dir=\($0)" } ?? "")")
        var generator = SystemRandomNumberGenerator()
        let value = (0..<valueBytes).map { _ in UInt8.random(in: 0...255, using: &generator) }
        var results: [EtcdRun] = []
        do {
            // Warm-up of every path, not measured.
            let warm = min(ops, 2000)
            _ = try await measureRawEtcd(storage, prefix: "\(base)/warm/raw/", count: warm, value: value, server: server)
            _ = try await measureRawEtcdTxn(storage, prefix: "\(base)/warm/txn/", count: warm, value: value, server: server)
            _ = try await measureEtcdStorage(storage, prefix: "\(base)/warm/storage/", count: warm, value: value, server: server)

            for run in 1...runs {
                let prefix = "\(base)/run-\(run)"
                var raw: (writes: Phase, reads: Phase)?
                var rawTxn: Phase?
                var measured: (writes: Phase, reads: Phase)?
                // Odd runs measure raw first, even runs the storage first.
                for part in run % 2 == 1 ? [0, 1, 2] : [2, 1, 0] {
                    switch part {
                    case 0:
                        raw = try await measureRawEtcd(storage, prefix: "\(prefix)/raw/", count: ops, value: value, server: server)
                    case 1:
                        rawTxn = try await measureRawEtcdTxn(storage, prefix: "\(prefix)/txn/", count: ops, value: value, server: server)
                    default:
                        measured = try await measureEtcdStorage(storage, prefix: "\(prefix)/storage/", count: ops, value: value, server: server)
                    }
                }
                let result = EtcdRun(raw: raw!, rawTxn: rawTxn!, storage: measured!)
                print("run \(run) raw etcd (put/range)        writes: \(result.raw.writes)")
                print("run \(run) raw etcd (put/range)        reads:  \(result.raw.reads)")
                print("run \(run) raw etcd (txn create)       writes: \(result.rawTxn)")
                print("run \(run) capstan etcd storage        writes: \(result.storage.writes)")
                print("run \(run) capstan etcd storage        reads:  \(result.storage.reads)")
                print("run \(run) \(run % 2 == 1 ? "raw first" : "storage first"): storage/raw writes \(String(format: "%.2f", result.ratio)), storage/raw txn \(String(format: "%.2f", result.storage.writes.perSecond / result.rawTxn.perSecond))")
                results.append(result)
            }
        } catch {
            _ = try? await storage.rawDelete(prefix: base + "/")
            await storage.close()
            throw error
        }
        _ = try? await storage.rawDelete(prefix: base + "/")
        await storage.close()

        func middle(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
        let median = results.sorted { $0.storage.writes.perSecond < $1.storage.writes.perSecond }[results.count / 2]
        let rawMedian = results.sorted { $0.raw.writes.perSecond < $1.raw.writes.perSecond }[results.count / 2]
        let txnMedian = middle(results.map(\.rawTxn.perSecond))
        let readMedian = middle(results.map(\.storage.reads.perSecond))
        let rawReadMedian = middle(results.map(\.raw.reads.perSecond))
        let ratio = median.storage.writes.perSecond / rawMedian.raw.writes.perSecond
        let pairedRatio = middle(results.map(\.ratio))
        print("median: capstan writes/s=\(Int(median.storage.writes.perSecond)) p50=\(ms(median.storage.writes.p50)) p99=\(ms(median.storage.writes.p99)); reads/s=\(Int(readMedian)); raw writes/s=\(Int(rawMedian.raw.writes.perSecond)) p99=\(ms(rawMedian.raw.writes.p99)); raw reads/s=\(Int(rawReadMedian)); raw txn creates/s=\(Int(txnMedian)); median of the runs' ratios=\(String(format: "%.2f", pairedRatio))")
        // Where the difference to raw puts goes: etcd's own CPU per operation. Every conditional
        // write is a Txn, which etcd 3.4 applies at a higher cost than a Put (it opens a concurrent
        // read view, copying its write buffer, before the write).
        func serverMicros(_ phases: [Phase]) -> String {
            let values = phases.compactMap { p in p.serverCPU.map { $0 * 1e6 / Double(p.operations) } }
            return values.isEmpty ? "-" : String(format: "%.0f", middle(values))
        }
        let putServer = serverMicros(results.map(\.raw.writes)), txnServer = serverMicros(results.map(\.rawTxn))
        let storageServer = serverMicros(results.map(\.storage.writes))
        print("etcd CPU per write (median): raw put \(putServer) µs, raw txn create \(txnServer) µs, capstan storage \(storageServer) µs")
        print("RESULT backend=etcd writes_per_s=\(Int(median.storage.writes.perSecond)) raw_writes_per_s=\(Int(rawMedian.raw.writes.perSecond)) ratio=\(String(format: "%.2f", ratio)) p99_ms=\(ms(median.storage.writes.p99)) reads_per_s=\(Int(readMedian)) raw_reads_per_s=\(Int(rawReadMedian)) raw_txn_writes_per_s=\(Int(txnMedian)) ratio_vs_txn=\(String(format: "%.2f", median.storage.writes.perSecond / txnMedian)) etcd_us_per_put=\(putServer) etcd_us_per_txn=\(txnServer) clients=\(clients)")
    }

    private func measureRawEtcd(
        _ storage: EtcdStorage, prefix: String, count: Int, value: [UInt8], server: ProcessCPU?
    ) async throws -> (writes: Phase, reads: Phase) {
        let keys = Self.keys(prefix, count)
        let writes = try await Phase.measure(clients: clients, count: count, server: server) { index in
            _ = try await storage.rawPut(keys[index], value: value)
        }
        let reads = try await Phase.measure(clients: clients, count: count, server: server) { index in
            let key = keys[(index &* 7919) % count]
            guard try await storage.rawGet(key) != nil else { throw BenchError("read of \(key) found nothing") }
        }
        return (writes, reads)
    }

    private func measureRawEtcdTxn(
        _ storage: EtcdStorage, prefix: String, count: Int, value: [UInt8], server: ProcessCPU?
    ) async throws -> Phase {
        let keys = Self.keys(prefix, count)
        return try await Phase.measure(clients: clients, count: count, server: server) { index in
            guard try await storage.rawCreateTxn(keys[index], value: value) else {
                throw BenchError("raw create of \(keys[index]) found the key")
            }
        }
    }

    private func measureEtcdStorage(
        _ storage: EtcdStorage, prefix: String, count: Int, value: [UInt8], server: ProcessCPU?
    ) async throws -> (writes: Phase, reads: Phase) {
        let keys = Self.keys(prefix, count)
        let start = try await storage.currentRevision()
        var consumers: [Task<Int, any Error>] = []
        for _ in 0..<watchers {
            let stream = try await storage.watch(prefix: prefix, afterRevision: start)
            consumers.append(Task {
                var seen = 0
                for try await message in stream {
                    if case .event = message { seen += 1 }
                    if seen == count { break }
                }
                return seen
            })
        }
        do {
            let writes = try await Phase.measure(clients: clients, count: count, server: server) { index in
                _ = try await storage.create(keys[index], value: value)
            }
            for consumer in consumers {
                let seen = try await consumer.value
                guard seen == count else { throw BenchError("a watcher saw \(seen) of \(count) events") }
            }
            let reads = try await Phase.measure(clients: clients, count: count, server: server) { index in
                let key = keys[(index &* 7919) % count]
                guard try await storage.get(key).kv != nil else { throw BenchError("read of \(key) found nothing") }
            }
            return (writes, reads)
        } catch {
            for consumer in consumers { consumer.cancel() }
            throw error
        }
    }

    private static func keys(_ prefix: String, _ count: Int) -> [String] {
        (0..<count).map { "\(prefix)pod-\(String(format: "%07d", $0))" }
    }
}
