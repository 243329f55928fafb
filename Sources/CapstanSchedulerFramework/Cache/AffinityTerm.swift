import CapstanAPI
import CapstanAPIMachinery

/// A parsed `PodAffinityTerm`, as Kubernetes' `framework.AffinityTerm`: the namespaces it
/// looks in (explicit names, or a selector over namespace labels), the pod label selector and
/// the topology key. Hashable, so identical terms of many pods share one index entry.
public struct AffinityTerm: Sendable, Hashable {
    /// Namespaces named by the term (the owning pod's own when neither names nor a selector are given).
    public var namespaces: Set<String>
    /// Selects namespaces by their labels; `.nothing` when the term has none, `.everything` for `{}`.
    public var namespaceSelector: LabelSelector
    /// Selects pods by their labels.
    public var selector: LabelSelector
    public var topologyKey: String

    public init(namespaces: Set<String>, namespaceSelector: LabelSelector = .nothing, selector: LabelSelector, topologyKey: String) {
        self.namespaces = namespaces
        self.namespaceSelector = namespaceSelector
        self.selector = selector
        self.topologyKey = topologyKey
    }

    /// Parses `term` of a pod in `namespace` with `labels`; `matchLabelKeys`/`mismatchLabelKeys`
    /// become `key in (value)` / `key notin (value)` with the pod's own label values.
    public init(_ term: CoreV1.PodAffinityTerm, namespace: String, labels: [String: String]) throws(SelectorError) {
        var sel = try LabelSelector(term.labelSelector)
        let matchKeys = term.matchLabelKeys ?? []
        let mismatchKeys = term.mismatchLabelKeys ?? []
        if (!matchKeys.isEmpty || !mismatchKeys.isEmpty) && term.labelSelector != nil {
            var reqs = sel.requirements
            for k in matchKeys { if let v = labels[k] { reqs.append(try LabelRequirement(key: k, operator: .in, values: [v])) } }
            for k in mismatchKeys { if let v = labels[k] { reqs.append(try LabelRequirement(key: k, operator: .notIn, values: [v])) } }
            sel = LabelSelector(requirements: reqs)
        }
        selector = sel
        topologyKey = term.topologyKey
        let names = term.namespaces ?? []
        if names.isEmpty && term.namespaceSelector == nil {
            namespaces = [namespace]
        } else {
            namespaces = Set(names)
        }
        namespaceSelector = try LabelSelector(term.namespaceSelector)
    }

    /// True when `pod` is in one of the term's namespaces and its labels match the selector.
    /// `namespaceLabels` are the labels of the pod's namespace (nil when not needed).
    @inlinable
    public func matches(_ pod: PodInfo, namespaceLabels: [String: String]?) -> Bool {
        matches(namespace: pod.namespace, labels: pod.labels, namespaceLabels: namespaceLabels)
    }

    @inlinable
    public func matches(namespace: String, labels: [String: String], namespaceLabels: [String: String]?) -> Bool {
        guard namespaces.contains(namespace) || (!namespaceSelector.matchesNothing && namespaceSelector.matches(namespaceLabels ?? [:])) else {
            return false
        }
        return selector.matches(labels)
    }

    /// True when the namespace selector matches no namespace at all and so can be ignored.
    public var hasNamespaceSelector: Bool { !namespaceSelector.matchesNothing }
}

/// An affinity term with the weight of a preferred (soft) rule.
public struct WeightedAffinityTerm: Sendable, Hashable {
    public var term: AffinityTerm
    public var weight: Int32

    public init(term: AffinityTerm, weight: Int32) {
        self.term = term
        self.weight = weight
    }
}
