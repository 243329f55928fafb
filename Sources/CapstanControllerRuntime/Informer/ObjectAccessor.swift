import CapstanAPI
import CapstanClient

/// How an informer reads the metadata it needs from its objects: typed API objects
/// (``typed``) or raw JSON objects of any resource (``json``).
public struct ObjectAccessor<Object: Sendable>: Sendable {
    public var key: @Sendable (Object) -> ObjectKey
    public var uid: @Sendable (Object) -> String?
    public var resourceVersion: @Sendable (Object) -> String?
    public var ownerReferences: @Sendable (Object) -> [MetaV1.OwnerReference]

    public init(key: @escaping @Sendable (Object) -> ObjectKey, uid: @escaping @Sendable (Object) -> String?,
                resourceVersion: @escaping @Sendable (Object) -> String?,
                ownerReferences: @escaping @Sendable (Object) -> [MetaV1.OwnerReference]) {
        self.key = key
        self.uid = uid
        self.resourceVersion = resourceVersion
        self.ownerReferences = ownerReferences
    }
}

extension ObjectAccessor where Object: APIObject {
    public static var typed: ObjectAccessor<Object> {
        ObjectAccessor(key: { ObjectKey(namespace: $0.objectMeta.namespace, name: $0.objectMeta.name ?? "") },
                       uid: { $0.objectMeta.uid },
                       resourceVersion: { $0.objectMeta.resourceVersion },
                       ownerReferences: { $0.objectMeta.ownerReferences ?? [] })
    }
}

extension ObjectAccessor where Object == JSONValue {
    public static var json: ObjectAccessor<JSONValue> {
        ObjectAccessor(key: { ObjectKey(namespace: $0["metadata"]?["namespace"]?.stringValue, name: $0["metadata"]?["name"]?.stringValue ?? "") },
                       uid: { $0["metadata"]?["uid"]?.stringValue },
                       resourceVersion: { $0["metadata"]?["resourceVersion"]?.stringValue },
                       ownerReferences: { object in
                           (object["metadata"]?["ownerReferences"]?.arrayValue ?? []).compactMap { ref in
                               guard let apiVersion = ref["apiVersion"]?.stringValue, let kind = ref["kind"]?.stringValue,
                                     let name = ref["name"]?.stringValue, let uid = ref["uid"]?.stringValue else { return nil }
                               return MetaV1.OwnerReference(apiVersion: apiVersion, kind: kind, blockOwnerDeletion: bool(ref["blockOwnerDeletion"]),
                                                            controller: bool(ref["controller"]), name: name, uid: uid)
                           }
                       })
    }
}

private func bool(_ value: JSONValue?) -> Bool? {
    if case .bool(let b)? = value { return b }
    return nil
}
