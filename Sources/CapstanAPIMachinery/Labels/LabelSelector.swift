import CapstanAPI

/// A label selector: requirements that must all hold (`app=web,tier!=db,env in (a,b),has,!missing`).
/// Parse once, then match many label sets; matching allocates nothing.
public struct LabelSelector: Sendable, Hashable, CustomStringConvertible {
    /// The requirements, sorted by key as Kubernetes keeps them.
    public let requirements: [LabelRequirement]
    /// True for the selector that matches nothing (a null `metav1.LabelSelector`).
    public let matchesNothing: Bool

    /// Matches every label set.
    public static let everything = LabelSelector(sorted: [], nothing: false)
    /// Matches no label set.
    public static let nothing = LabelSelector(sorted: [], nothing: true)

    private init(sorted: [LabelRequirement], nothing: Bool) {
        requirements = sorted
        matchesNothing = nothing
    }

    /// A selector of these requirements (sorted by key, keeping the given order among equal keys).
    public init(requirements: [LabelRequirement]) {
        self.init(sorted: Self.sortedByKey(requirements), nothing: false)
    }

    /// `key=value` for every entry, unchecked (Kubernetes' `SelectorFromSet`); empty matches everything.
    public init(matchLabels: [String: String]) {
        self.init(requirements: matchLabels.map { LabelRequirement(unchecked: $0.key, .equals, [$0.value]) })
    }

    /// True when the selector matches everything.
    public var isEmpty: Bool { !matchesNothing && requirements.isEmpty }

    static func sortedByKey(_ reqs: [LabelRequirement]) -> [LabelRequirement] {
        reqs.enumerated().sorted { a, b in
            if a.element.key != b.element.key { return GoFormat.byteOrder(a.element.key, b.element.key) }
            return a.offset < b.offset
        }.map(\.element)
    }

    // MARK: Matching

    /// True when `labels` satisfy every requirement.
    public func matches(_ labels: [String: String]) -> Bool {
        if matchesNothing { return false }
        for r in requirements where !r.matches(value: labels[r.key]) { return false }
        return true
    }

    /// True when the labels given by `lookup` (nil: absent) satisfy every requirement.
    public func matches(lookup: (String) -> String?) -> Bool {
        if matchesNothing { return false }
        for r in requirements where !r.matches(value: lookup(r.key)) { return false }
        return true
    }

    /// True when the object's `metadata.labels` satisfy every requirement; non-string label values count as absent.
    public func matches(labelsOf object: JSONValue) -> Bool {
        if matchesNothing { return false }
        if requirements.isEmpty { return true }
        var labels: [String: JSONValue] = [:]
        if case .object(let o) = object, case .object(let m)? = o["metadata"], case .object(let l)? = m["labels"] {
            labels = l
        }
        return matches(jsonLabels: labels)
    }

    /// True when a JSON labels map satisfies every requirement.
    public func matches(jsonLabels labels: [String: JSONValue]) -> Bool {
        if matchesNothing { return false }
        for r in requirements {
            var value: String?
            if case .string(let s)? = labels[r.key] { value = s }
            if !r.matches(value: value) { return false }
        }
        return true
    }

    /// The value a selector pins `key` to (`key=v`, `key==v` or `key in (v)`), as Kubernetes'
    /// `RequiresExactMatch`; lets a cache answer from an index.
    public func requiresExactMatch(_ key: String) -> String? {
        for r in requirements where r.key == key {
            switch r.operator {
            case .equals, .doubleEquals, .in:
                return r.values.count == 1 ? r.values[0] : nil
            default:
                return nil
            }
        }
        return nil
    }

    /// The canonical string form Kubernetes prints (`app=web,env in (a,b),!x`); empty for
    /// `everything` and, as in Kubernetes, also for `nothing`.
    public var description: String {
        requirements.map(\.description).joined(separator: ",")
    }
}
