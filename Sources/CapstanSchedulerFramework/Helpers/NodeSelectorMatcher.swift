import CapstanAPI

/// A compiled `NodeSelector` (terms ORed, requirements within a term ANDed), as Kubernetes'
/// `nodeaffinity.NodeSelector`. A term with no requirements, or with an invalid one, matches
/// no node.
public struct NodeSelectorMatcher: Sendable, Hashable {
    public struct Requirement: Sendable, Hashable {
        public enum Test: Sendable, Hashable {
            case `in`([String])
            case notIn([String])
            case exists
            case doesNotExist
            case greaterThan(Int64)
            case lessThan(Int64)
        }
        public var key: String
        public var test: Test

        /// Compiles one requirement; nil when it is invalid.
        public init?(_ r: CoreV1.NodeSelectorRequirement) {
            key = r.key
            let values = r.values ?? []
            switch r.operator {
            case "In":
                guard !values.isEmpty else { return nil }
                test = .in(values)
            case "NotIn":
                guard !values.isEmpty else { return nil }
                test = .notIn(values)
            case "Exists":
                guard values.isEmpty else { return nil }
                test = .exists
            case "DoesNotExist":
                guard values.isEmpty else { return nil }
                test = .doesNotExist
            case "Gt", "Lt":
                guard values.count == 1, let v = Int64(values[0]) else { return nil }
                test = r.operator == "Gt" ? .greaterThan(v) : .lessThan(v)
            default:
                return nil
            }
        }

        @inlinable
        public func matches(_ value: String?) -> Bool {
            switch test {
            case .in(let vs):
                guard let value else { return false }
                return vs.contains(value)
            case .notIn(let vs):
                guard let value else { return true }
                return !vs.contains(value)
            case .exists: return value != nil
            case .doesNotExist: return value == nil
            case .greaterThan(let b):
                guard let value, let v = Int64(value) else { return false }
                return v > b
            case .lessThan(let b):
                guard let value, let v = Int64(value) else { return false }
                return v < b
            }
        }
    }

    public struct Term: Sendable, Hashable {
        public var labelRequirements: [Requirement]
        /// Requirements on `metadata.name`.
        public var fieldRequirements: [Requirement]
        public var valid: Bool

        public init(_ t: CoreV1.NodeSelectorTerm) {
            valid = true
            labelRequirements = []
            fieldRequirements = []
            for r in t.matchExpressions ?? [] {
                if let c = Requirement(r) { labelRequirements.append(c) } else { valid = false }
            }
            for r in t.matchFields ?? [] {
                guard r.key == "metadata.name", r.operator == "In" || r.operator == "NotIn", let c = Requirement(r) else {
                    valid = false
                    continue
                }
                fieldRequirements.append(c)
            }
            if labelRequirements.isEmpty && fieldRequirements.isEmpty { valid = false }
        }

        @inlinable
        public func matches(labels: [String: String], nodeName: String) -> Bool {
            guard valid else { return false }
            for r in labelRequirements where !r.matches(labels[r.key]) { return false }
            for r in fieldRequirements where !r.matches(nodeName) { return false }
            return true
        }
    }

    public var terms: [Term]

    public init(_ selector: CoreV1.NodeSelector) {
        terms = selector.nodeSelectorTerms.map(Term.init)
    }

    public init(terms: [CoreV1.NodeSelectorTerm]) {
        self.terms = terms.map(Term.init)
    }

    @inlinable
    public func matches(labels: [String: String], nodeName: String) -> Bool {
        for t in terms where t.matches(labels: labels, nodeName: nodeName) { return true }
        return false
    }
}

/// The node constraints a pod must satisfy: `spec.nodeSelector` and required node affinity
/// (Kubernetes' `nodeaffinity.RequiredNodeAffinity`).
public struct RequiredNodeAffinity: Sendable, Hashable {
    public var nodeSelector: [String: String]
    public var affinity: NodeSelectorMatcher?

    public init(_ spec: CoreV1.PodSpec?) {
        nodeSelector = spec?.nodeSelector ?? [:]
        if let required = spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution {
            affinity = NodeSelectorMatcher(required)
        }
    }

    /// True when there is nothing to check.
    public var isEmpty: Bool { nodeSelector.isEmpty && affinity == nil }

    @inlinable
    public func matches(_ node: NodeInfo) -> Bool {
        matches(labels: node.labels, nodeName: node.name)
    }

    @inlinable
    public func matches(labels: [String: String], nodeName: String) -> Bool {
        for (k, v) in nodeSelector where labels[k] != v { return false }
        if let affinity { return affinity.matches(labels: labels, nodeName: nodeName) }
        return true
    }
}
