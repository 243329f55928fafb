import CapstanStorage
import Testing

extension StorageConformance {
    static func concurrentWriters(_ fixture: StorageFixture) async throws {
        let storage = fixture.backend
        let writers = 32
        let perWriter = 40
        let start = try await storage.currentRevision()
        let stream = try await storage.watch(prefix: "/cw/", afterRevision: start)

        let results = try await withThrowingTaskGroup(of: [KeyValue].self) { group in
            for writer in 0..<writers {
                group.addTask {
                    var written: [KeyValue] = []
                    for index in 0..<perWriter {
                        let key = "/cw/\(writer)/\(index / 2)"
                        if index % 2 == 0 {
                            written.append(try await storage.create(key, value: bytes("\(writer)-\(index)")))
                        } else {
                            written.append(try await storage.update(
                                key, value: bytes("\(writer)-\(index)"), expectedModRevision: written.last!.modRevision))
                        }
                    }
                    return written
                }
            }
            var all: [KeyValue] = []
            for try await written in group { all += written }
            return all
        }

        let total = writers * perWriter
        let revisions = results.map(\.modRevision).sorted()
        #expect(revisions.count == total)
        #expect(Set(revisions).count == total, "no revision is handed out twice")
        #expect(revisions.first == start + 1)
        #expect(revisions.last == start + Int64(total), "no revision is skipped")
        #expect(try await storage.currentRevision() == start + Int64(total))

        let seen = try await events(stream, count: total, "events of concurrent writes")
        #expect(seen.map(\.revision) == Array((start + 1)...(start + Int64(total))), "events arrive in revision order")
        let byRevision = Dictionary(uniqueKeysWithValues: results.map { ($0.modRevision, $0) })
        #expect(seen.allSatisfy { byRevision[$0.revision] == $0.kv }, "each event carries what its write returned")
        stream.cancel()

        let listed = try await storage.list(prefix: "/cw/")
        #expect(listed.kvs.count == writers * perWriter / 2)
        let latest = Dictionary(results.map { ($0.key, $0) }, uniquingKeysWith: { $0.modRevision > $1.modRevision ? $0 : $1 })
        #expect(listed.kvs.allSatisfy { latest[$0.key] == $0 })
    }

    static func concurrentIncrements(_ fixture: StorageFixture) async throws {
        let storage = fixture.backend
        let key = "/counter"
        _ = try await storage.create(key, value: bytes("0"))
        let tasks = 16
        let increments = 20
        let conflicts = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<tasks {
                group.addTask {
                    var conflicts = 0
                    for _ in 0..<increments {
                        while true {
                            let current = try await storage.get(key).kv!
                            let value = Int(String(decoding: current.value, as: UTF8.self))!
                            do {
                                _ = try await storage.update(
                                    key, value: bytes("\(value + 1)"), expectedModRevision: current.modRevision)
                                break
                            } catch let error as StorageError where error.code == .conflict {
                                conflicts += 1
                            }
                        }
                    }
                    return conflicts
                }
            }
            var sum = 0
            for try await count in group { sum += count }
            return sum
        }
        let final = try await storage.get(key).kv!
        #expect(String(decoding: final.value, as: UTF8.self) == "\(tasks * increments)", "no update is lost")
        #expect(final.modRevision - final.createRevision == Int64(tasks * increments))
        _ = conflicts
    }
}
