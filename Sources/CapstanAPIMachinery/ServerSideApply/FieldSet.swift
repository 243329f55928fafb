import CapstanAPI

/// A set of field paths as a tree: every node may itself be a member (`.` in `fieldsV1`) and
/// has children by path element. The root is never a member. Nodes that are neither members nor
/// lead to one are not kept, so equal sets compare equal.
public struct FieldSet: Hashable, Sendable, CustomStringConvertible {
    public var isMember = false
    public var children: [PathElement: FieldSet] = [:]

    public init() {}

    public init(_ paths: [ManagedFieldPath]) {
        for p in paths { insert(p.elements) }
    }

    public var isEmpty: Bool { !isMember && children.isEmpty }

    public mutating func insert(_ path: [PathElement]) {
        insert(path[...])
    }

    mutating func insert(_ path: ArraySlice<PathElement>) {
        guard let first = path.first else {
            isMember = true
            return
        }
        children[first, default: FieldSet()].insert(path.dropFirst())
    }

    public func contains(_ path: [PathElement]) -> Bool {
        var node = self
        for e in path {
            guard let child = node.children[e] else { return false }
            node = child
        }
        return node.isMember && !path.isEmpty
    }

    /// The node at `path` (members under it), or nil.
    public func node(at path: [PathElement]) -> FieldSet? {
        var node = self
        for e in path {
            guard let child = node.children[e] else { return nil }
            node = child
        }
        return node
    }

    /// Every member path, sorted.
    public var paths: [ManagedFieldPath] {
        var out: [ManagedFieldPath] = []
        collect(prefix: [], into: &out)
        return out
    }

    private func collect(prefix: [PathElement], into out: inout [ManagedFieldPath]) {
        if isMember, !prefix.isEmpty { out.append(ManagedFieldPath(prefix)) }
        for key in children.keys.sorted() {
            children[key]!.collect(prefix: prefix + [key], into: &out)
        }
    }

    public var count: Int { (isMember ? 1 : 0) + children.values.reduce(0) { $0 + $1.count } }

    public func union(_ other: FieldSet) -> FieldSet {
        var out = self
        out.isMember = isMember || other.isMember
        for (k, v) in other.children {
            out.children[k] = out.children[k].map { $0.union(v) } ?? v
        }
        return out
    }

    /// The members of `self` that are not members of `other` (members only; subtrees stay).
    /// Walks `other`'s nodes only: the subtrees it does not reach are shared, not copied.
    public func subtracting(_ other: FieldSet) -> FieldSet {
        var out = self
        if other.isMember { out.isMember = false }
        for (k, o) in other.children {
            guard let v = out.children[k] else { continue }
            let rest = v.subtracting(o)
            out.children[k] = rest.isEmpty ? nil : rest
        }
        return out
    }

    /// The members of both.
    public func intersection(_ other: FieldSet) -> FieldSet {
        var out = FieldSet()
        out.isMember = isMember && other.isMember
        for (k, v) in children {
            guard let o = other.children[k] else { continue }
            let both = v.intersection(o)
            if !both.isEmpty { out.children[k] = both }
        }
        return out
    }

    /// Without the members at or under any member of `other` (a recursive difference).
    public func removingSubtrees(_ other: FieldSet) -> FieldSet {
        if other.isMember { return FieldSet() }
        var out = self
        for (k, o) in other.children {
            guard let v = out.children[k] else { continue }
            let rest = v.removingSubtrees(o)
            out.children[k] = rest.isEmpty ? nil : rest
        }
        return out
    }

    /// Only the members at or under `path` (a subtree kept in place).
    public func keepingOnly(_ path: [PathElement]) -> FieldSet {
        guard let first = path.first else { return self }
        guard let child = children[first] else { return FieldSet() }
        let kept = child.keepingOnly(Array(path.dropFirst()))
        var out = FieldSet()
        if !kept.isEmpty { out.children[first] = kept }
        return out
    }

    /// True when this node or anything under it is a member.
    public var hasMembers: Bool { isMember || children.values.contains { $0.hasMembers } }

    public var description: String { paths.map(\.description).joined(separator: ", ") }
}
