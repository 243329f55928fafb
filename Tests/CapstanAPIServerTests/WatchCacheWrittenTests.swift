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

    @Test func announcedWritesAreServedAndWatchedAsStored() async throws {
        try await withCache { storage, cache in
            let watch = try cache.watch(filter: WatchFilter(namespace: "ns", matches: { $0.labels["app"] == "web" }), after: nil)
            defer { watch.stop() }
            for (i, label) in ["web", "db", "web"].enumerated() {
                let object = Self.object("c\(i)", label: label)
                let key = Self.key.key(namespace: "ns", name: "c\(i)")
                let bytes = StoredObject.encode(object)
                let expected = cache.expect(key: key, value: bytes, object: object)
                let kv = try await storage.create(key, value: bytes, lease: 0)
                let entry = cache.written(kv, expected)
                #expect(entry.labels == ["app": label])
                #expect(entry.bytes == StoredObject.serve(kv.value, revision: kv.modRevision))
                try await cache.wait(forRevision: kv.modRevision)
                let cached = try #require(cache.get(namespace: "ns", name: "c\(i)"))
                #expect(cached.labels == ["app": label])
                #expect(cached.bytes == entry.bytes)
            }
            var names: [String] = []
            for try await event in watch.events {
                names.append(event.entry.name)
                if names.count == 2 { break }
            }
            #expect(names == ["c0", "c2"])
            #expect(cache.pendingExpectedWrites == 0)
        }
    }

    @Test func anAnnouncementThatDoesNotMatchTheStoredBytesIsNotUsed() async throws {
        try await withCache { storage, cache in
            let key = Self.key.key(namespace: "ns", name: "x")
            // Announced as "web", but another writer stores "db": the cache must read what was stored.
            let announced = cache.expect(key: key, value: StoredObject.encode(Self.object("x", label: "web")),
                                         object: Self.object("x", label: "web"))
            let kv = try await storage.create(key, value: StoredObject.encode(Self.object("x", label: "db")), lease: 0)
            try await cache.wait(forRevision: kv.modRevision)
            #expect(cache.get(namespace: "ns", name: "x")?.labels == ["app": "db"])
            cache.abandon(announced)
            #expect(cache.pendingExpectedWrites == 0)
        }
    }
}
