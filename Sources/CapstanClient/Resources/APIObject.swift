import CapstanAPI

/// A top-level API object type the typed helpers can read and write: a generated kind such as
/// `CoreV1.Pod` or `AppsV1.Deployment` (every built-in resource kind conforms, see
/// `Generated/APIObject+BuiltIn.swift`), or a hand-written custom resource type.
///
/// The generated types already carry `static let apiVersion` and `kind`; conforming adds
/// ``objectMeta``, a non-optional view of `metadata`.
public protocol APIObject: Codable, Sendable {
    /// `v1`, `apps/v1`, ...
    static var apiVersion: String { get }
    static var kind: String { get }
    /// The resource serving the kind: plural name and scope. Built-in kinds find it in the API
    /// schema; a custom resource type provides it.
    static var resource: APIResource { get }
    /// The object's metadata (empty when the object has none).
    var objectMeta: MetaV1.ObjectMeta { get set }
}

extension APIObject {
    public static var resource: APIResource {
        guard let resource = APIResource(apiVersion: apiVersion, kind: kind) else {
            preconditionFailure("\(Self.self) (\(apiVersion), \(kind)) names no built-in resource; provide `static var resource`")
        }
        return resource
    }

    public static var groupVersionKind: GroupVersionKind {
        let (group, version) = APIResource.split(apiVersion: apiVersion)
        return GroupVersionKind(group: group, version: version, kind: kind)
    }

    /// `metadata.name`, or "".
    public var name: String { objectMeta.name ?? "" }
    /// `metadata.namespace`, or nil.
    public var namespace: String? { objectMeta.namespace }
    /// `metadata.resourceVersion`, or nil.
    public var resourceVersion: String? { objectMeta.resourceVersion }
}
