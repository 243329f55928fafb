import CapstanStorage
import CapstanStorageSQLite
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Kills a process writing through `SQLiteStorage` with SIGKILL at random points, reopens the
/// database and checks that every write the process acknowledged (printed after the ack) is
/// there, and that the log is consistent. The child is `capstan bench storage-writer`.
@Suite("SQLite durability", .serialized)
struct DurabilityTests {
    enum Ack: Equatable {
        case put(revision: Int64, key: String, step: Int)
        case delete(revision: Int64, key: String)

        var revision: Int64 {
            switch self {
            case .put(let revision, _, _), .delete(let revision, _): revision
            }
        }
    }

    /// The value the child writes at `step` of `key` (as `BenchStorageWriterCommand.durabilityValue`).
    static func value(_ key: String, _ step: Int) -> [UInt8] {
        Array(String(repeating: "\(key)#\(step);", count: 4).utf8)
    }

    /// The `capstan` executable built next to the test bundle.
    static func capstanExecutable() throws -> URL {
        let bundle = URL(fileURLWithPath: try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
        let candidate = bundle.deletingLastPathComponent().appendingPathComponent("capstan")
        guard FileManager.default.isExecutableFile(atPath: candidate.path) else {
            throw DurabilityFailure("the capstan executable is not built at \(candidate.path); run `swift build` first")
        }
        return candidate
    }

    struct DurabilityFailure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    struct Cycle: Sendable {
        var acks: [Ack]
        var killed: Bool
        var status: Int32
        var stderr: String
    }

    enum KillPoint: Sendable {
        case afterAcks(Int)
        case afterMicroseconds(UInt32)
    }

    /// Starts the writer, kills it at `point`, and returns what it acknowledged.
    static func runWriter(executable: URL, database: String, run: Int, point: KillPoint) async throws -> Cycle {
        let process = Process()
        process.executableURL = executable
        process.arguments = ["bench", "storage-writer", "--db", database, "--clients", "8", "--run", "\(run)"]
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let pid = process.processIdentifier

        let (acks, killed): ([Ack], Bool) = await withCheckedContinuation { continuation in
            let reader = Thread {
                let fd = output.fileHandleForReading.fileDescriptor
                var pending: [UInt8] = []
                var acks: [Ack] = []
                var killed = false
                if case .afterMicroseconds(let delay) = point {
                    usleep(delay)  // choosing a random kill point, not waiting for an event
                    if process.isRunning { kill(pid, SIGKILL) }
                    killed = true
                }
                var chunk = [UInt8](repeating: 0, count: 65536)
                while true {
                    let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                    if count <= 0 { break }
                    pending += chunk[..<count]
                    while let newline = pending.firstIndex(of: 0x0A) {
                        let line = String(decoding: pending[..<newline], as: UTF8.self)
                        pending.removeSubrange(...newline)
                        let fields = line.split(separator: " ")
                        if fields.first == "P", fields.count == 4, let revision = Int64(fields[1]), let step = Int(fields[3]) {
                            acks.append(.put(revision: revision, key: String(fields[2]), step: step))
                        } else if fields.first == "D", fields.count == 3, let revision = Int64(fields[1]) {
                            acks.append(.delete(revision: revision, key: String(fields[2])))
                        }
                    }
                    if !killed, case .afterAcks(let limit) = point, acks.count >= limit {
                        kill(pid, SIGKILL)
                        killed = true
                    }
                }
                if !killed, process.isRunning { kill(pid, SIGKILL) }
                continuation.resume(returning: (acks, killed))
            }
            reader.start()
        }
        process.waitUntilExit()
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return Cycle(acks: acks, killed: killed, status: process.terminationStatus, stderr: stderr)
    }

    @Test("every acknowledged write survives SIGKILL, over many kill cycles")
    func killCycles() async throws {
        let executable = try Self.capstanExecutable()
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let database = directory.file("state.db")
        let cycles = ProcessInfo.processInfo.environment["CAPSTAN_DURABILITY_CYCLES"].flatMap(Int.init) ?? 20
        var generator = SystemRandomNumberGenerator()
        var totalAcks = 0
        var previousRevision: Int64 = 0

        for cycle in 0..<cycles {
            let point: KillPoint = cycle % 4 == 3
                ? .afterMicroseconds(UInt32.random(in: 0...150_000, using: &generator))
                : .afterAcks(Int.random(in: 1...600, using: &generator))
            let result = try await Self.runWriter(executable: executable, database: database, run: cycle, point: point)
            #expect(result.status == SIGKILL, "cycle \(cycle): the writer ended by itself (status \(result.status)): \(result.stderr)")
            totalAcks += result.acks.count

            let storage = try SQLiteStorage(path: database)
            let current = try await storage.currentRevision()
            #expect(current >= previousRevision, "cycle \(cycle): the revision went back")
            previousRevision = current
            let revisions = result.acks.map(\.revision)
            #expect(Set(revisions).count == revisions.count, "cycle \(cycle): a revision was acknowledged twice")
            var missing: [String] = []
            for ack in result.acks {
                guard ack.revision <= current else {
                    missing.append("revision \(ack.revision) (past the current \(current))")
                    continue
                }
                switch ack {
                case .put(let revision, let key, let step):
                    let kv = try await storage.get(key, atRevision: revision).kv
                    if kv?.modRevision != revision || kv?.value != Self.value(key, step) {
                        missing.append("put \(key)@\(revision)")
                    }
                case .delete(let revision, let key):
                    let after = try await storage.get(key, atRevision: revision).kv
                    let before = try await storage.get(key, atRevision: revision - 1).kv
                    if after != nil || before == nil { missing.append("delete \(key)@\(revision)") }
                }
            }
            #expect(missing.isEmpty, "cycle \(cycle): acknowledged writes lost: \(missing.prefix(10))")
            let report = try await storage.verifyIntegrity()
            #expect(report.isSound, "cycle \(cycle): \(report)")
            #expect(report.compactRevision == 0 && report.rows == Int(report.currentRevision), "cycle \(cycle): \(report)")
            await storage.close()
        }
        #expect(totalAcks > cycles, "the writer acknowledged writes (\(totalAcks) in \(cycles) cycles)")
        print("durability: \(cycles) SIGKILL cycles, \(totalAcks) acknowledged writes checked, final revision \(previousRevision)")
    }
}
