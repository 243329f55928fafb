/// A resource in an API group (`deployments` in `apps`); printed `deployments.apps`, or `pods` for the core group.
public struct GroupResource: Sendable, Hashable, CustomStringConvertible {
    public var group: String
    public var resource: String

    /// A plural resource; the core group is "".
    public init(group: String = "", resource: String) {
        self.group = group
        self.resource = resource
    }

    /// `resource.group`, or `resource` for the core group, as `schema.GroupResource.String()`.
    public var description: String { group.isEmpty ? resource : "\(resource).\(group)" }

    /// True when both parts are empty.
    public var isEmpty: Bool { group.isEmpty && resource.isEmpty }
}
