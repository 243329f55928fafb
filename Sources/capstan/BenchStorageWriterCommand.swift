import ArgumentParser
import CapstanStorage
import CapstanStorageSQLite

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `capstan bench storage-writer` (hidden): the child process of the storage durability test.
///
/// Writes through `SQLiteStorage` from concurrent clients until killed and prints one line per
/// acknowledged write, after the acknowledgement, unbuffered:
/// `P <revision> <key> <step>` for a create or update (the value is `durabilityValue(key, step)`),
/// `D <revision> <key>` for a delete. The test kills it with SIGKILL and checks every printed
/// write is in the database.
struct BenchStorageWriterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "storage-writer",
        abstract: "Write through the SQLite storage until killed, printing each acknowledged write.",
        shouldDisplay: false
    )

    @Option(help: "The database file.")
    var db: String

    @Option(help: "Concurrent writers.")
    var clients: Int = 8

    @Option(help: "Key namespace of this run.")
    var run: String = "0"

    @Option(help: "Writes per client before exiting (0: until killed).")
    var ops: Int = 0

    /// The value written at `step` of `key`; the test computes the same.
    static func durabilityValue(_ key: String, _ step: Int) -> [UInt8] {
        Array(String(repeating: "\(key)#\(step);", count: 4).utf8)
    }

    func run() async throws {
        let storage = try SQLiteStorage(path: db)
        emit("READY \(try await storage.currentRevision())\n")
        let prefix = "/durability/\(run)/"
        try await withThrowingTaskGroup(of: Void.self) { group in
            for client in 0..<clients {
                group.addTask {
                    var live: [(key: String, revision: Int64)] = []
                    var created = 0
                    var random = UInt64(client + 1) &* 0x9E37_79B9_7F4A_7C15
                    var step = 0
                    while ops == 0 || step < ops {
                        step += 1
                        random = random &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                        let roll = Int((random >> 33) % 100)
                        if live.isEmpty || roll < 60 {
                            let key = prefix + "c\(client)/k\(created)"
                            created += 1
                            let kv = try await storage.create(key, value: Self.durabilityValue(key, step))
                            emit("P \(kv.modRevision) \(key) \(step)\n")
                            live.append((key, kv.modRevision))
                        } else {
                            let index = Int((random >> 17) % UInt64(live.count))
                            let (key, revision) = live[index]
                            if roll < 90 {
                                let kv = try await storage.update(
                                    key, value: Self.durabilityValue(key, step), expectedModRevision: revision)
                                emit("P \(kv.modRevision) \(key) \(step)\n")
                                live[index].revision = kv.modRevision
                            } else {
                                let result = try await storage.delete(key, expectedModRevision: revision)
                                emit("D \(result.revision) \(key)\n")
                                live.remove(at: index)
                            }
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        await storage.close()
    }
}

/// Writes a line to stdout with one write(2): unbuffered, and atomic for lines under PIPE_BUF.
private func emit(_ line: String) {
    var line = line
    line.withUTF8 { bytes in
        var offset = 0
        while offset < bytes.count {
            let written = write(1, bytes.baseAddress! + offset, bytes.count - offset)
            if written <= 0 { return }
            offset += written
        }
    }
}
