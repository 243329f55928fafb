import CapstanAPI
import CapstanClient

/// A named index of a ``Store``: the index values of an object (none, one or several).
/// Lookups by index value cost what they return, not the size of the store.
public struct Indexer<Object: Sendable>: Sendable {
    public var name: String
    public var values: @Sendable (Object) -> [String]

    public init(name: String, values: @escaping @Sendable (Object) -> [String]) {
        self.name = name
        self.values = values
    }
}

/// The names of the standard indexes every informer of the factory keeps.
public enum IndexName {
    /// The object's namespace ("" for cluster-scoped objects).
    public static let namespace = "namespace"
    /// The UID of the owner reference with `controller: true`; objects without a controller
    /// (orphans, which controllers may adopt) are indexed under `""`.
    public static let controllerUID = "controllerUID"
    /// The UIDs of every owner reference.
    public static let ownerUID = "ownerUID"
    /// Pods: `spec.nodeName` (unscheduled pods are not indexed).
    public static let nodeName = "spec.nodeName"
}

extension Indexer {
    public static func namespace(_ accessor: ObjectAccessor<Object>) -> Indexer {
        Indexer(name: IndexName.namespace) { [accessor.key($0).namespace] }
    }

    public static func controllerUID(_ accessor: ObjectAccessor<Object>) -> Indexer {
        Indexer(name: IndexName.controllerUID) { object in
            [accessor.ownerReferences(object).first(where: { $0.controller == true })?.uid ?? ""]
        }
    }

    public static func ownerUID(_ accessor: ObjectAccessor<Object>) -> Indexer {
        Indexer(name: IndexName.ownerUID) { object in accessor.ownerReferences(object).map(\.uid) }
    }

    /// The namespace, controller-UID and owner-UID indexes.
    public static func standard(_ accessor: ObjectAccessor<Object>) -> [Indexer] {
        [.namespace(accessor), .controllerUID(accessor), .ownerUID(accessor)]
    }
}

extension Indexer where Object == CoreV1.Pod {
    public static var nodeName: Indexer {
        Indexer(name: IndexName.nodeName) { pod in
            guard let node = pod.spec?.nodeName, !node.isEmpty else { return [] }
            return [node]
        }
    }
}
