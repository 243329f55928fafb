import CapstanAPI
@testable import CapstanRegistry
import CapstanStorage
import Testing

/// The watch cache takes a write's parsed entry instead of parsing its storage event again.
@Suite("Watch cache: entries of local writes")
struct WatchCacheWrittenTests {
    static let key = ResourceKey(group: "", plural: "configmaps")

    static func object(_ name: String, label: String) -> JSONValue {
        .object(["apiVersion": .string("v1"), "kind": .string("ConfigMap"),
                 "metadata": .object(["name": .string(name), "namespace": .string("ns"),
                                      "labels": .object(["app": .string(label)])])])
    }

    func withCache(_ body: (MemoryStorage, WatchCache) async throws -> Void) async throws {
        let storage = MemoryStorage()
        let cache = WatchCache(storage: storage, resourceKey: Self.key, namespaced: true, extract: { o in
            (o["metadata"]?.objectValue?.stringMap("labels") ?? [:], [:])
        })
        let task = Task { await cache.run() }
        defer { task.cancel() }
        try await cache.wait(forRevision: 0)
        try await body(storage, cache)
    }

    @Test func aWriteAnsweredBeforeItsEventIsServedAndWatchedTheSame() async throws {
        try await withCache { storage, cache in
            let watch = try cache.watch(filter: WatchFilter(namespace: "ns", matches: { $0.labels["app"] == "web" }), after: nil)
            defer { watch.stop() }
            for (i, label) in ["web", "db", "web"].enumerated() {
                let object = Self.object("c\(i)", label: label)
                let kv = try await storage.create(Self.key.key(namespace: "ns", name: "c\(i)"), value: StoredObject.encode(object), lease: 0)
                let entry = cache.written(kv, object: object)
                #expect(entry.labels == ["app": label])
                #expect(entry.bytes == StoredObject.serve(kv.value, revision: kv.modRevision))
                try await cache.wait(forRevision: kv.modRevision)
                #expect(cache.get(namespace: "ns", name: "c\(i)")?.labels == ["app": label])
            }
            var names: [String] = []
            for try await event in watch.events {
                names.append(event.entry.name)
                if names.count == 2 { break }
            }
            #expect(names == ["c0", "c2"])
            #expect(cache.pendingWrittenEntries == 0)
        }
    }

    @Test func aWriteAnsweredAfterItsEventKeepsNothing() async throws {
        try await withCache { storage, cache in
            let object = Self.object("late", label: "web")
            let kv = try await storage.create(Self.key.key(namespace: "ns", name: "late"), value: StoredObject.encode(object), lease: 0)
            try await cache.wait(forRevision: kv.modRevision)
            _ = cache.written(kv, object: object)
            #expect(cache.pendingWrittenEntries == 0)
            // A stale entry is never used for a later event of the same key.
            let newer = Self.object("late", label: "db")
            let kv2 = try await storage.update(kv.key, value: StoredObject.encode(newer), expectedModRevision: kv.modRevision, lease: 0)
            try await cache.wait(forRevision: kv2.modRevision)
            #expect(cache.get(namespace: "ns", name: "late")?.labels == ["app": "db"])
        }
    }
}
