import CapstanAPI
@testable import CapstanRegistry
import CapstanStorage
import Testing

/// Updates start from the watch cache's copy; when that copy is stale, the write must still be
/// made on the current object (never lost, never refused because of the stale copy).
@Suite("Registry: updates from a stale cache")
struct UpdateFromCacheTests {
    /// A registry whose caches stop after `prepare`: every later write by another writer leaves
    /// the caches behind storage.
    func withStaleCache(_ prepare: (Registry) async throws -> Void,
                        _ body: (Registry, MemoryStorage, RegisteredResource) async throws -> Void) async throws {
        let storage = MemoryStorage()
        let registry = try Registry(storage: storage)
        let run = Task { await registry.run() }
        try await registry.waitUntilReady()
        try await registry.bootstrap(apiServerAddress: "127.0.0.1", apiServerPort: 6443)
        try await prepare(registry)
        let configMaps = try #require(registry.resource(group: "", version: "v1", plural: "configmaps"))
        try await configMaps.cache.wait(forRevision: try await storage.currentRevision())
        run.cancel()
        _ = await run.value
        try await body(registry, storage, configMaps)
    }

    static func configMap(_ name: String, data: [String: String]) -> [UInt8] {
        JSONValue.object(["apiVersion": .string("v1"), "kind": .string("ConfigMap"),
                          "metadata": .object(["name": .string(name)]),
                          "data": .object(data.mapValues(JSONValue.string))]).serialized()
    }

    /// Another writer changes the stored object behind the cache's back.
    func writeBehind(_ storage: MemoryStorage, _ r: RegisteredResource, name: String, data: [String: String]) async throws -> Int64 {
        let key = r.key.key(namespace: "default", name: name)
        let current = try #require(try await storage.get(key).kv)
        guard case .object(var o) = try JSONValue.parse(current.value) else { throw CancellationError() }
        o["data"] = .object(data.mapValues(JSONValue.string))
        return try await storage.update(key, value: StoredObject.encode(.object(o)), expectedModRevision: current.modRevision,
                                        lease: 0).modRevision
    }

    @Test func staleCopiesFallBackToStorage() async throws {
        try await withStaleCache({ registry in
            let r = try #require(registry.resource(group: "", version: "v1", plural: "configmaps"))
            for name in ["merge", "precondition", "test", "same"] {
                _ = try await registry.create(r, namespace: "default", body: Self.configMap(name, data: ["a": "1"]), options: WriteOptions())
            }
        }) { registry, storage, r in
            // A merge patch keeps what the other writer stored.
            _ = try await writeBehind(storage, r, name: "merge", data: ["a": "outside"])
            let merged = try await registry.patch(r, namespace: "default", name: "merge", type: .merge,
                                                  body: Array(#"{"data":{"b":"2"}}"#.utf8), subresource: .main, options: WriteOptions())
            #expect(try merged.entry.object()["data"] == .object(["a": .string("outside"), "b": .string("2")]))

            // A precondition on the stored revision holds though the cache has an older one.
            let revision = try await writeBehind(storage, r, name: "precondition", data: ["a": "outside"])
            let body = #"{"metadata":{"resourceVersion":"\#(revision)"},"data":{"b":"2"}}"#
            let preconditioned = try await registry.patch(r, namespace: "default", name: "precondition", type: .merge,
                                                          body: Array(body.utf8), subresource: .main, options: WriteOptions())
            #expect(try preconditioned.entry.object()["data"]?["a"] == .string("outside"))

            // A JSON patch test that fails on the stale copy passes on the stored object.
            _ = try await writeBehind(storage, r, name: "test", data: ["a": "outside"])
            let tested = try await registry.patch(r, namespace: "default", name: "test", type: .json,
                                                  body: Array(#"[{"op":"test","path":"/data/a","value":"outside"},{"op":"add","path":"/data/b","value":"2"}]"#.utf8),
                                                  subresource: .main, options: WriteOptions())
            #expect(try tested.entry.object()["data"] == .object(["a": .string("outside"), "b": .string("2")]))

            // A patch that changes nothing on the stale copy still changes the stored object.
            _ = try await writeBehind(storage, r, name: "same", data: ["a": "outside"])
            let same = try await registry.patch(r, namespace: "default", name: "same", type: .merge,
                                                body: Array(#"{"data":{"a":"1"}}"#.utf8), subresource: .main, options: WriteOptions())
            #expect(try same.entry.object()["data"] == .object(["a": .string("1")]))
            let stored = try #require(try await storage.get(r.key.key(namespace: "default", name: "same")).kv)
            #expect(try JSONValue.parse(stored.value)["data"] == .object(["a": .string("1")]))
        }
    }
}
