import CapstanAPI

/// A field selector bound to one resource's fields: evaluates directly on JSON objects.
public struct FieldMatcher: Sendable {
    struct Term: Sendable {
        let requirement: FieldSelector.Requirement
        /// nil for labels Kubernetes accepts but never fills (`status.podIPs`): they read as "".
        let source: SelectableFields.Source?
    }

    /// The converted selector.
    public let selector: FieldSelector
    let terms: [Term]

    /// True when `object` satisfies every term.
    public func matches(_ object: JSONValue) -> Bool {
        for t in terms {
            let actual = t.source.flatMap { SelectableFields.value($0, in: object) }
            if !t.requirement.matches(value: actual) { return false }
        }
        return true
    }
}
