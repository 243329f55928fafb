import CapstanStorage
import CapstanStorageConformance
import CapstanStorageEtcd
import Foundation
import Testing

extension Tag {
    /// Tests that start real `etcd` processes on loopback.
    @Tag static var integration: Self
}

/// Whether an `etcd` binary is in PATH (Debian's etcd-server; `scripts/test` installs it).
let etcdInstalled: Bool = {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
    return path.split(separator: ":").contains { FileManager.default.isExecutableFile(atPath: "\($0)/etcd") }
}()

/// At most a few etcd clusters at once on this small machine.
actor EtcdSlots {
    static let shared = EtcdSlots(limit: 4)

    private let limit: Int
    private var inUse = 0
    private var waiters: [CheckedContinuation<Void, Never>] = []

    init(limit: Int) { self.limit = limit }

    func acquire() async {
        if inUse < limit {
            inUse += 1
            return
        }
        await withCheckedContinuation { waiters.append($0) }
    }

    func release() {
        if waiters.isEmpty {
            inUse -= 1
        } else {
            waiters.removeFirst().resume()
        }
    }
}

/// Where test clusters keep their data: memory-backed /dev/shm when there is one (fsync costs
/// would otherwise dominate the suite's time), else the system temp dir.
let etcdTestDataRoot: String? = FileManager.default.isWritableFile(atPath: "/dev/shm") ? "/dev/shm" : nil

/// Runs `body` with a fresh etcd cluster of `members` members, then stops every member by
/// PID and removes the data directory.
func withEtcd<T>(
    members: Int = 1, fastElections: Bool = false,
    _ body: (EtcdServerProcess) async throws -> T
) async throws -> T {
    await EtcdSlots.shared.acquire()
    let cluster: EtcdServerProcess
    do {
        cluster = try await EtcdServerProcess(
            memberCount: members, parentDirectory: etcdTestDataRoot, fastElections: fastElections)
    } catch {
        await EtcdSlots.shared.release()
        throw error
    }
    func dumpLogs() {
        guard ProcessInfo.processInfo.environment["CAPSTAN_ETCD_DEBUG"] == "1" else { return }
        for member in cluster.members.indices {
            print("---- etcd member \(member) log (last lines)")
            print(cluster.log(of: member).split(separator: "\n").suffix(25).joined(separator: "\n"))
        }
    }
    do {
        let result = try await body(cluster)
        dumpLogs()
        await cluster.remove()
        await EtcdSlots.shared.release()
        return result
    } catch {
        dumpLogs()
        await cluster.remove()
        await EtcdSlots.shared.release()
        throw error
    }
}

/// Runs `body` with an `EtcdStorage` on `cluster` whose `run()` loop is going, then closes it.
func withStorage<T>(
    _ cluster: EtcdServerProcess,
    configure: (inout EtcdStorage.Configuration) -> Void = { _ in },
    _ body: (EtcdStorage) async throws -> T
) async throws -> T {
    var configuration = try EtcdStorage.Configuration(endpoints: cluster.endpoints)
    configuration.leaseSlack = .seconds(3)
    configure(&configuration)
    let storage = try EtcdStorage(configuration: configuration)
    let runner = Task { try await storage.run() }
    do {
        let result = try await body(storage)
        runner.cancel()
        _ = try? await runner.value
        await storage.close()
        return result
    } catch {
        runner.cancel()
        _ = try? await runner.value
        await storage.close()
        throw error
    }
}

/// Runs a conformance check's fixture on a fresh single-member etcd (real time: etcd's clock
/// cannot be injected, so moving the clock is waiting).
func withEtcdFixture(_ body: (StorageFixture) async throws -> Void) async throws {
    try await withEtcd { cluster in
        try await withStorage(cluster) { storage in
            let fixture = StorageFixture(backend: storage, advanceClock: { try await Task.sleep(for: $0) })
            try await body(fixture)
        }
    }
}

/// Reads the next `count` events of `stream` (skipping progress), failing after `seconds`.
func nextEvents(_ stream: WatchStream, count: Int, seconds: Int = 30, _ what: String) async throws -> [WatchEvent] {
    try await withThrowingTaskGroup(of: [WatchEvent]?.self) { group in
        group.addTask {
            var iterator = stream.makeAsyncIterator()
            var events: [WatchEvent] = []
            while events.count < count {
                guard let message = try await iterator.next() else {
                    throw TestFailure("\(what): watch ended after \(events.count) of \(count) events")
                }
                if case .event(let event) = message { events.append(event) }
            }
            return events
        }
        group.addTask {
            try await Task.sleep(for: .seconds(seconds))
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let events = first else {
            throw TestFailure("\(what): timed out after \(seconds) s waiting for \(count) events")
        }
        return events
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }
