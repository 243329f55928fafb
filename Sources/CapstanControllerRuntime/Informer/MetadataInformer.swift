import CapstanAPI
import CapstanClient

/// The metadata of a cached object that generic controllers (the garbage collector) work from.
public struct ObjectMetadata: Sendable, Equatable {
    public var key: ObjectKey
    public var uid: String?
    public var resourceVersion: String?
    public var ownerReferences: [MetaV1.OwnerReference]
    public var finalizers: [String]
    public var deleting: Bool

    public init(key: ObjectKey, uid: String?, resourceVersion: String?, ownerReferences: [MetaV1.OwnerReference],
                finalizers: [String], deleting: Bool) {
        self.key = key
        self.uid = uid
        self.resourceVersion = resourceVersion
        self.ownerReferences = ownerReferences
        self.finalizers = finalizers
        self.deleting = deleting
    }

    public init(_ meta: MetaV1.ObjectMeta) {
        self.init(key: ObjectKey(namespace: meta.namespace, name: meta.name ?? ""), uid: meta.uid,
                  resourceVersion: meta.resourceVersion, ownerReferences: meta.ownerReferences ?? [],
                  finalizers: meta.finalizers ?? [], deleting: meta.deletionTimestamp != nil)
    }

    public init(json object: JSONValue) {
        let accessor = ObjectAccessor<JSONValue>.json
        let meta = object["metadata"]
        self.init(key: accessor.key(object), uid: accessor.uid(object), resourceVersion: accessor.resourceVersion(object),
                  ownerReferences: accessor.ownerReferences(object),
                  finalizers: (meta?["finalizers"]?.arrayValue ?? []).compactMap(\.stringValue),
                  deleting: meta?["deletionTimestamp"].map { $0 != .null } ?? false)
    }
}

/// A metadata-only view of the one shared informer of a resource: the typed informer other
/// controllers of the process use when the resource has a built-in type (so the resource is
/// watched and cached once), else an informer of raw JSON objects.
public struct MetadataInformer: Sendable {
    public let resource: APIResource
    private let addHandler: @Sendable (@escaping @Sendable (InformerEvent<ObjectMetadata>) -> Void) -> Void
    private let lookup: @Sendable (ObjectKey) -> ObjectMetadata?
    private let index: @Sendable (String, String) -> [ObjectMetadata]
    private let sync: @Sendable () async throws -> Void

    init<T: APIObject>(resource: APIResource, typed informer: Informer<T>) {
        self.resource = resource
        addHandler = { handler in informer.addEventHandler { handler($0.map { ObjectMetadata($0.objectMeta) }) } }
        lookup = { informer.store.get($0).map { ObjectMetadata($0.objectMeta) } }
        index = { informer.store.byIndex($0, $1).map { ObjectMetadata($0.objectMeta) } }
        sync = { try await informer.waitForSync() }
    }

    init(resource: APIResource, json informer: Informer<JSONValue>) {
        self.resource = resource
        addHandler = { handler in informer.addEventHandler { handler($0.map(ObjectMetadata.init(json:))) } }
        lookup = { informer.store.get($0).map(ObjectMetadata.init(json:)) }
        index = { informer.store.byIndex($0, $1).map(ObjectMetadata.init(json:)) }
        sync = { try await informer.waitForSync() }
    }

    /// Handlers run on the informer's task, as ``Informer/addEventHandler(_:)``'s do.
    public func addEventHandler(_ handler: @escaping @Sendable (InformerEvent<ObjectMetadata>) -> Void) {
        addHandler(handler)
    }

    public func get(_ key: ObjectKey) -> ObjectMetadata? { lookup(key) }

    /// Objects of the index (``IndexName``: namespace, controller UID, owner UID).
    public func byIndex(_ name: String, _ value: String) -> [ObjectMetadata] { index(name, value) }

    public func waitForSync() async throws { try await sync() }
}

extension InformerEvent {
    func map<T: Sendable>(_ transform: (Object) -> T) -> InformerEvent<T> {
        switch self {
        case .added(let o): return .added(transform(o))
        case .updated(let old, let new): return .updated(old: transform(old), new: transform(new))
        case .deleted(let o): return .deleted(transform(o))
        }
    }
}
