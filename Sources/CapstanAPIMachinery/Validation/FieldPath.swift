/// A field path written as Kubernetes writes it in errors: `spec.containers[0].name`, `metadata.labels[app]`.
public struct FieldPath: Sendable, Hashable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// The rendered path; empty for the root.
    public let description: String

    /// The root (empty) path.
    public static let root = FieldPath("")

    /// A path from its rendered form (`"metadata"`, `"spec.template"`).
    public init(_ rendered: String) { description = rendered }

    public init(stringLiteral value: String) { description = value }

    /// The named member of this path (`spec` -> `spec.replicas`).
    public func child(_ name: String) -> FieldPath {
        FieldPath(description.isEmpty ? name : description + "." + name)
    }

    /// The element at `index` of this list (`containers` -> `containers[0]`).
    public func index(_ index: Int) -> FieldPath { FieldPath(description + "[\(index)]") }

    /// The entry `key` of this map (`labels` -> `labels[app]`).
    public func key(_ key: String) -> FieldPath { FieldPath(description + "[\(key)]") }
}
