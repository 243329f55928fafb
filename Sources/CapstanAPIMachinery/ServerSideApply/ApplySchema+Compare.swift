import CapstanAPI

/// The fields that differ between two versions of an object.
public struct FieldComparison: Sendable, Hashable {
    public var added = FieldSet()
    public var modified = FieldSet()
    public var removed = FieldSet()

    public init() {}

    public var isSame: Bool { added.isEmpty && modified.isEmpty && removed.isEmpty }

    /// Hangs a child's differences under `element`.
    mutating func attach(_ element: PathElement, _ child: FieldComparison) {
        if !child.added.isEmpty { added.children[element] = child.added }
        if !child.modified.isEmpty { modified.children[element] = child.modified }
        if !child.removed.isEmpty { removed.children[element] = child.removed }
    }
}

extension ApplySchema {
    // MARK: Field sets

    /// The fields a value sets: its leaves, the items of its keyed lists and sets, and members
    /// whose value is null or an empty object (what an applier owns).
    public func fieldSet(of value: JSONValue) -> FieldSet {
        var set = FieldSet()
        var path: [PathElement] = []
        collect(value, rootSlot, &path, &set)
        return set
    }

    private func collect(_ value: JSONValue, _ slot: Slot, _ path: inout [PathElement], _ set: inout FieldSet) {
        let shape = self.shape(slot)
        switch (shape, value) {
        case (.structure, .object(let o)), (.map, .object(let o)), (.deduced, .object(let o)):
            for (name, child) in o {
                path.append(.field(name))
                collect(child, member(shape, name), &path, &set)
                if child == .null || child == .object([:]) { set.insert(path) }
                path.removeLast()
            }
        case (.associativeList(let item, let keys), .array(let items)):
            let itemSlot = item.map(Slot.field) ?? .unknown
            for (i, child) in items.enumerated() {
                path.append(Self.keyElement(child, keys: keys, index: i))
                collect(child, itemSlot, &path, &set)
                set.insert(path)
                path.removeLast()
            }
        case (.set, .array(let items)):
            for child in items {
                path.append(.value(child))
                set.insert(path)
                path.removeLast()
            }
        default:
            if !path.isEmpty { set.insert(path) }
        }
    }

    // MARK: Comparison

    /// What changed from `old` to `new`: added and removed leaves and members, modified leaves.
    /// Nulls count as absent.
    public func compare(_ old: JSONValue?, _ new: JSONValue?) -> FieldComparison {
        var c = compareNode(old.nonNull, new.nonNull, rootSlot)
        // The root is never a member.
        c.added.isMember = false
        c.modified.isMember = false
        c.removed.isMember = false
        return c
    }

    /// The differences under one node, as sets rooted at it: each child's sets are built once and
    /// hung under their element, instead of inserting every changed path from the root.
    private func compareNode(_ old: JSONValue?, _ new: JSONValue?, _ slot: Slot) -> FieldComparison {
        var c = FieldComparison()
        if old == nil, new == nil { return c }
        // Equal values have no differences below them (an update mostly leaves most of the
        // object alone: one equality test instead of a walk building paths).
        if let old, let new, old == new { return c }
        let shape = self.shape(slot)
        switch (shape, old ?? new!, new ?? old!) {
        case (.structure, .object, .object), (.map, .object, .object), (.deduced, .object, .object):
            let o = old?.objectValue ?? [:]
            let n = new?.objectValue ?? [:]
            if o.isEmpty, n.isEmpty { return leaf(old, new) }
            for (name, a) in o {
                c.attach(.field(name), child(Optional(a).nonNull, n[name].nonNull, member(shape, name)))
            }
            for (name, b) in n where o[name] == nil {
                c.attach(.field(name), child(nil, Optional(b).nonNull, member(shape, name)))
            }
        case (.associativeList(let itemSchema, let keys), .array, .array):
            let itemSlot = itemSchema.map(Slot.field) ?? .unknown
            let a = Self.index(old?.arrayValue ?? [], keys: keys)
            let b = Self.index(new?.arrayValue ?? [], keys: keys)
            for (key, x) in a {
                c.attach(key, child(x, b[key], itemSlot))
            }
            for (key, y) in b where a[key] == nil {
                c.attach(key, child(nil, y, itemSlot))
            }
        case (.set, .array, .array):
            let a = Set(old?.arrayValue ?? [])
            let b = Set(new?.arrayValue ?? [])
            var member = FieldSet()
            member.isMember = true
            for v in a.symmetricDifference(b) {
                if b.contains(v) { c.added.children[.value(v)] = member } else { c.removed.children[.value(v)] = member }
            }
        default:
            return leaf(old, new)
        }
        return c
    }

    /// A member or list item: what changed under it, and itself when it appears or disappears.
    private func child(_ old: JSONValue?, _ new: JSONValue?, _ slot: Slot) -> FieldComparison {
        var c = compareNode(old, new, slot)
        if old == nil, new != nil { c.added.isMember = true }
        if old != nil, new == nil { c.removed.isMember = true }
        return c
    }

    private func leaf(_ old: JSONValue?, _ new: JSONValue?) -> FieldComparison {
        var c = FieldComparison()
        if old == nil {
            c.added.isMember = true
        } else if new == nil {
            c.removed.isMember = true
        } else if old != new {
            c.modified.isMember = true
        }
        return c
    }

    // MARK: Zero values

    /// What a create compares against: the kind's zero value as Go serializes it, shaped like `new`.
    /// Members Go always writes exist (empty): fields the schema marks required (no `omitempty`) and
    /// nested value structs (metadata, specs, statuses, templates, strategies). So they are not
    /// themselves "added", and only pointers, maps and optional lists get a `.` entry.
    public func zeroValue(like new: JSONValue) -> JSONValue {
        zero(new, rootSlot) ?? .object([:])
    }

    private func zero(_ value: JSONValue, _ slot: Slot) -> JSONValue? {
        guard case .structure(let fields) = shape(slot), case .object(let o) = value else { return nil }
        let required: Set<String>
        switch slot {
        case .type(let t): required = Set(t.required ?? [])
        case .field(let f): required = Set(f.ref.flatMap { types[$0]?.required } ?? [])
        case .unknown: required = []
        }
        var out: [String: JSONValue] = [:]
        for (name, child) in o {
            guard let f = fields[name] else { continue }
            guard required.contains(name) || (f.kind == .ref && f.ref.map(Self.isValueStruct) == true) else { continue }
            switch child {
            case .object: out[name] = zero(child, .field(f)) ?? .object([:])
            case .array: out[name] = .array([])
            default: continue
            }
        }
        return .object(out)
    }

    static func isValueStruct(_ definition: String) -> Bool {
        ["ObjectMeta", "Spec", "Status", "Strategy"].contains { definition.hasSuffix($0) }
    }

    /// The items of an associative list by key; the first of duplicates wins.
    static func index(_ items: [JSONValue], keys: [String]) -> [PathElement: JSONValue] {
        var out: [PathElement: JSONValue] = [:]
        for (i, v) in items.enumerated() {
            let k = keyElement(v, keys: keys, index: i)
            if out[k] == nil { out[k] = v }
        }
        return out
    }
}

extension Optional where Wrapped == JSONValue {
    /// Nil for both absent and JSON null.
    var nonNull: JSONValue? {
        if case .some(.null) = self { return nil }
        return self
    }
}
