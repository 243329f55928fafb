import CapstanAPI
import CapstanAPIMachinery
import CapstanClient
import CapstanControllerRuntime
import Foundation
import Logging
import Synchronization

/// The garbage collector: follows ownerReferences across every listable built-in resource
/// (and namespaced or cluster custom resources known at start) and
/// - deletes dependents whose owners are all gone (background propagation; dangling owners are
///   checked against the API server, not only the cache);
/// - for an owner deleted in the foreground (`foregroundDeletion` finalizer), deletes its
///   dependents (those that block it in the foreground too) and removes the finalizer once no
///   dependent with `blockOwnerDeletion` remains;
/// - for an owner deleted with orphan propagation (`orphan` finalizer), removes the owner
///   references to it from its dependents, then the finalizer.
public struct GarbageCollectorController: Controller {
    public let name = "garbage-collector"

    public init() {}

    public func run(context: ControllerContext) async throws {
        let gc = GarbageCollector(context: context, resources: try await Self.resources(context.client))
        await gc.run()
    }

    /// Resources that can be listed, watched and deleted (events excepted: they own nothing and churn).
    static func resources(_ client: APIClient) async throws -> [APIResource] {
        var result = APISchema.builtIn.resources
            .filter { ["list", "watch", "delete"].allSatisfy($0.verbs.contains) && $0.plural != "events" }
            .map(APIResource.init)
        if let crds = try? await client.list(APIExtensionsV1.CustomResourceDefinition.self).items {
            for crd in crds {
                let spec = crd.spec
                guard let version = spec.versions.first(where: { $0.storage }) ?? spec.versions.first else { continue }
                result.append(APIResource(group: spec.group, version: version.name, plural: spec.names.plural, kind: spec.names.kind,
                                          namespaced: spec.scope == "Namespaced"))
            }
        }
        return result
    }
}

final class GarbageCollector: Sendable {
    struct Node: Sendable {
        var resource: APIResource
        var key: ObjectKey
    }

    let context: ControllerContext
    /// By `apiVersion/kind`: the metadata of every listable resource, shared with the other
    /// controllers' informers where they watch the same resource.
    let informers: [String: MetadataInformer]
    /// UID -> where the object lives, for every object the informers hold.
    let uids = Mutex<[String: Node]>([:])
    let queue: WorkQueue<String>

    init(context: ControllerContext, resources: [APIResource]) {
        self.context = context
        var informers: [String: MetadataInformer] = [:]
        for resource in resources {
            informers[Self.kindKey(apiVersion: resource.apiVersion, kind: resource.kind)] = context.informers.metadataInformer(resource: resource)
        }
        self.informers = informers
        self.queue = WorkQueue(clock: context.clock)
    }

    static func kindKey(apiVersion: String, kind: String) -> String { apiVersion + "/" + kind }

    func run() async {
        for informer in informers.values {
            let resource = informer.resource
            informer.addEventHandler { [self] event in handle(event, resource: resource) }
        }
        for informer in informers.values {
            do { try await informer.waitForSync() } catch { return }
        }
        await queue.run(workers: context.workers) { [self] uid in try await process(uid) }
    }

    func handle(_ event: InformerEvent<ObjectMetadata>, resource: APIResource) {
        let meta = event.object
        guard let uid = meta.uid else { return }
        switch event {
        case .added, .updated:
            uids.withLock { $0[uid] = Node(resource: resource, key: meta.key) }
            if !meta.ownerReferences.isEmpty { queue.add(uid) }
            if meta.deleting && (meta.finalizers.contains(GarbageCollectorCore.foregroundFinalizer) || meta.finalizers.contains(GarbageCollectorCore.orphanFinalizer)) {
                queue.add(uid)
                for dependent in dependents(of: uid) { queue.add(dependent.1.uid ?? "") }
            }
        case .deleted:
            uids.withLock { $0[uid] = nil }
            // Dependents may now be dangling; owners waiting for this one may finish.
            for dependent in dependents(of: uid) { queue.add(dependent.1.uid ?? "") }
            for ref in meta.ownerReferences { queue.add(ref.uid) }
        }
    }

    /// Objects the informers hold that name `uid` as an owner.
    func dependents(of uid: String) -> [(APIResource, ObjectMetadata)] {
        informers.values.flatMap { informer in informer.byIndex(IndexName.ownerUID, uid).map { (informer.resource, $0) } }
    }

    func object(_ uid: String) -> (APIResource, ObjectMetadata)? {
        guard let node = uids.withLock({ $0[uid] }), let informer = informers[Self.kindKey(apiVersion: node.resource.apiVersion, kind: node.resource.kind)],
              let object = informer.get(node.key) else { return nil }
        return (node.resource, object)
    }

    func process(_ uid: String) async throws {
        guard !uid.isEmpty, let (resource, meta) = object(uid) else { return }
        if meta.deleting {
            if meta.finalizers.contains(GarbageCollectorCore.orphanFinalizer) {
                try await orphanDependents(of: uid, owner: (resource, meta))
                return
            }
            if meta.finalizers.contains(GarbageCollectorCore.foregroundFinalizer) {
                try await deleteDependentsInForeground(of: uid, owner: (resource, meta))
                return
            }
        }
        let refs = meta.ownerReferences
        guard !refs.isEmpty else { return }
        let namespace = meta.key.namespace.isEmpty ? nil : meta.key.namespace
        var owners: [(ref: MetaV1.OwnerReference, state: GarbageCollectorCore.OwnerState)] = []
        for ref in refs { owners.append((ref, try await ownerState(ref, namespace: namespace))) }
        switch GarbageCollectorCore.decide(owners: owners, ownFinalizers: meta.finalizers) {
        case .none:
            return
        case .removeOwnerReferences(let drop):
            try await rewrite(resource, meta) { o in
                let kept = GarbageCollectorCore.removing(Set(drop), from: ObjectAccessor<JSONValue>.json.ownerReferences(o))
                return Self.setOwnerReferences(o, kept)
            }
        case .delete(let propagation):
            guard !meta.deleting || propagation == "Foreground" else { return }
            do {
                try await context.client.delete(resource, name: meta.key.name, namespace: namespace,
                                                options: DeleteOptions(propagationPolicy: .init(rawValue: propagation), preconditionUID: uid))
            } catch where APIErrors.isNotFound(error) || APIErrors.isConflict(error) {}
        }
    }

    /// Where the owner stands: from the cache when it is there, else from the API server (the
    /// cache may lag behind a just-created owner).
    func ownerState(_ ref: MetaV1.OwnerReference, namespace: String?) async throws -> GarbageCollectorCore.OwnerState {
        if let (_, owner) = object(ref.uid) { return Self.state(of: owner) }
        guard let resource = informers[Self.kindKey(apiVersion: ref.apiVersion, kind: ref.kind)]?.resource else {
            // An owner kind nobody serves: leave the dependent alone rather than guess.
            return .solid
        }
        do {
            let owner = try await context.client.get(resource, name: ref.name, namespace: resource.namespaced ? namespace : nil)
            guard owner["metadata"]?["uid"]?.stringValue == ref.uid else { return .dangling }
            return Self.state(of: ObjectMetadata(json: owner))
        } catch where APIErrors.isNotFound(error) {
            return .dangling
        }
    }

    static func state(of owner: ObjectMetadata) -> GarbageCollectorCore.OwnerState {
        if owner.deleting, owner.finalizers.contains(GarbageCollectorCore.foregroundFinalizer) {
            return .waitingForDependents
        }
        return .solid
    }

    func deleteDependentsInForeground(of uid: String, owner: (APIResource, ObjectMetadata)) async throws {
        let dependents = dependents(of: uid)
        let blocking = dependents.filter { _, d in GarbageCollectorCore.blocks(ownerUID: uid, d.ownerReferences) }
        for (_, d) in dependents {
            if let dependentUID = d.uid { queue.add(dependentUID) }
        }
        guard GarbageCollectorCore.canRemoveForegroundFinalizer(blockingDependents: blocking.count) else { return }
        // The informers may not have seen a dependent created just before the owner's deletion:
        // before letting the owner go, ask the API server itself.
        let live = try await liveBlockingDependents(of: uid, owner: owner)
        guard GarbageCollectorCore.canRemoveForegroundFinalizer(blockingDependents: live) else {
            // The informers will deliver those dependents (and their deletion requeues the owner);
            // look again later in case they are slow.
            queue.add(uid, after: .seconds(1))
            return
        }
        try await removeFinalizer(GarbageCollectorCore.foregroundFinalizer, from: owner)
    }

    /// How many objects block the owner `uid`, listed from the API server (not the informers):
    /// a namespaced owner's dependents are in its namespace; a cluster-scoped owner's anywhere.
    func liveBlockingDependents(of uid: String, owner: (APIResource, ObjectMetadata)) async throws -> Int {
        let namespace = owner.0.namespaced ? owner.1.key.namespace : nil
        var count = 0
        for informer in informers.values where namespace == nil || informer.resource.namespaced {
            let items: [JSONValue]
            do {
                items = try await context.client.listAll(informer.resource, namespace: namespace).items
            } catch where APIErrors.isNotFound(error) {
                // A custom resource whose definition went away since the collector started.
                continue
            }
            count += items.count { GarbageCollectorCore.blocks(ownerUID: uid, ObjectAccessor<JSONValue>.json.ownerReferences($0)) }
        }
        return count
    }

    func orphanDependents(of uid: String, owner: (APIResource, ObjectMetadata)) async throws {
        for (resource, dependent) in dependents(of: uid) {
            try await rewrite(resource, dependent) { o in
                Self.setOwnerReferences(o, GarbageCollectorCore.removing([uid], from: ObjectAccessor<JSONValue>.json.ownerReferences(o)))
            }
        }
        try await removeFinalizer(GarbageCollectorCore.orphanFinalizer, from: owner)
    }

    func removeFinalizer(_ finalizer: String, from owner: (APIResource, ObjectMetadata)) async throws {
        try await rewrite(owner.0, owner.1) { o in
            guard case .object(var root) = o, case .object(var meta)? = root["metadata"] else { return o }
            let left = (meta["finalizers"]?.arrayValue ?? []).compactMap(\.stringValue).filter { $0 != finalizer }
            meta["finalizers"] = left.isEmpty ? nil : .array(left.map(JSONValue.string))
            root["metadata"] = .object(meta)
            return .object(root)
        }
    }

    /// Reads the object (the caches hold metadata only), writes `change(object)` with its
    /// resourceVersion as precondition, and on a conflict reads and retries a few times. Does
    /// nothing if the object is gone or was replaced by another with the same name.
    func rewrite(_ resource: APIResource, _ meta: ObjectMetadata, _ change: (JSONValue) -> JSONValue) async throws {
        let namespace = meta.key.namespace.isEmpty ? nil : meta.key.namespace
        for _ in 0..<5 {
            let current: JSONValue
            do {
                current = try await context.client.get(resource, name: meta.key.name, namespace: namespace)
            } catch where APIErrors.isNotFound(error) {
                return
            }
            guard current["metadata"]?["uid"]?.stringValue == meta.uid else { return }
            let updated = change(current)
            if updated == current { return }
            do {
                _ = try await context.client.update(resource, updated, namespace: namespace)
                return
            } catch where APIErrors.isNotFound(error) {
                return
            } catch where APIErrors.isConflict(error) {
                continue
            }
        }
    }

    /// The object with `refs` as its owner references (the key removed when empty).
    static func setOwnerReferences(_ object: JSONValue, _ refs: [MetaV1.OwnerReference]) -> JSONValue {
        guard case .object(var root) = object, case .object(var meta)? = root["metadata"] else { return object }
        let kept = Set(refs.map(\.uid))
        let raw = (meta["ownerReferences"]?.arrayValue ?? []).filter { kept.contains($0["uid"]?.stringValue ?? "") }
        meta["ownerReferences"] = raw.isEmpty ? nil : .array(raw)
        root["metadata"] = .object(meta)
        return .object(root)
    }
}
