/// A kind in an API group (`Deployment` in `apps`); printed `Deployment.apps`, or `Pod` for the core group.
public struct GroupKind: Sendable, Hashable, CustomStringConvertible {
    public var group: String
    public var kind: String

    /// A kind; the core group is "".
    public init(group: String = "", kind: String) {
        self.group = group
        self.kind = kind
    }

    /// `Kind.group`, or `Kind` for the core group, as `schema.GroupKind.String()`.
    public var description: String { group.isEmpty ? kind : "\(kind).\(group)" }
}
