import CapstanAPI
import CapstanAPIMachinery
import CapstanStorage
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A resource the registry serves: its discovery facts, storage location, strategy and cache.
public final class RegisteredResource: Sendable {
    public let info: ResourceInfo
    public let key: ResourceKey
    public let strategy: any ResourceStrategy
    public let cache: WatchCache
    /// Whether the resource has a `status` subresource (writes to the main resource keep status).
    public let hasStatus: Bool
    /// Whether the schema has a `spec` (changes to it bump `metadata.generation`).
    public let hasSpec: Bool
    /// The field labels field selectors may use for this resource.
    public let selectableFields: SelectableFields

    init(info: ResourceInfo, strategy: any ResourceStrategy, storage: any StorageBackend, schema: APISchema) {
        self.info = info
        self.key = ResourceKey(group: info.group, plural: info.plural)
        self.strategy = strategy
        self.hasStatus = info.subresources.contains { $0.name == "status" }
        self.hasSpec = schema.type(info.definition)?.fields?["spec"] != nil
        let selectable = SelectableFields.forResource(GroupResource(group: info.group, resource: info.plural),
                                                      namespaced: info.namespaced)
        self.selectableFields = selectable
        self.cache = WatchCache(
            storage: storage, resourceKey: key, namespaced: info.namespaced,
            extract: { object in
                let labels = object["metadata"]?.objectValue?.stringMap("labels") ?? [:]
                return (labels, selectable.fields(of: object))
            })
    }

    public var group: String { info.group }
    public var version: String { info.version }
    public var plural: String { info.plural }
    public var kind: String { info.kind }
    public var namespaced: Bool { info.namespaced }
    public var apiVersion: String { info.group.isEmpty ? info.version : "\(info.group)/\(info.version)" }
    public var groupResource: GroupResource { GroupResource(group: info.group, resource: info.plural) }
}

/// The generic, schema-driven registry: every resource goes through one path
/// (decode, default, validate, store, encode), with per-kind strategies for the rest.
public final class Registry: Sendable {
    public let storage: any StorageBackend
    public let schema: APISchema
    let walker: SchemaWalker
    let resources: [String: RegisteredResource]
    let now: @Sendable () -> Int64
    let randomSuffix: @Sendable () -> String
    public let services: ServiceAllocator

    /// - Parameters:
    ///   - now: seconds since the epoch (injected so tests control time).
    public init(
        storage: any StorageBackend,
        schema: APISchema = .builtIn,
        serviceCIDR: String = "10.43.0.0/16",
        now: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) },
        randomSuffix: @escaping @Sendable () -> String = { NameGenerator.generateName(base: "") }
    ) throws {
        self.storage = storage
        self.schema = schema
        self.walker = SchemaWalker(schema: schema)
        self.now = now
        self.randomSuffix = randomSuffix
        let services = try ServiceAllocator(cidr: serviceCIDR)
        self.services = services
        var map: [String: RegisteredResource] = [:]
        for info in schema.resources {
            let strategy = Strategies.strategy(for: info, services: services)
            map["\(info.group)/\(info.version)/\(info.plural)"] = RegisteredResource(
                info: info, strategy: strategy, storage: storage, schema: schema)
        }
        resources = map
    }

    public var allResources: [RegisteredResource] { Array(resources.values) }

    public func resource(group: String, version: String, plural: String) -> RegisteredResource? {
        resources["\(group)/\(version)/\(plural)"]
    }

    /// Runs every watch cache until cancelled.
    public func run() async {
        await withDiscardingTaskGroup { group in
            for r in resources.values {
                group.addTask { await r.cache.run() }
            }
        }
    }

    /// Waits until every cache has loaded and caught up with storage.
    public func waitUntilReady() async throws {
        for r in resources.values { try await r.cache.sync() }
    }

    func context(namespace: String?) -> WriteContext {
        WriteContext(now: now(), namespace: namespace, registry: self)
    }

    var timestamp: String { MetaV1.Time(secondsSinceEpoch: now()).rfc3339 }
}
