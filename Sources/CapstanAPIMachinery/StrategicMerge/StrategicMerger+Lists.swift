import CapstanAPI

extension StrategicMerger {
    /// What the elements of a list are; a merging list must hold elements of one type.
    enum ElementKind: Equatable {
        case object, array, string, bool, int, double, null

        init(_ value: JSONValue) {
            switch value {
            case .object: self = .object
            case .array: self = .array
            case .string: self = .string
            case .bool: self = .bool
            case .int: self = .int
            case .double: self = .double
            case .null: self = .null
            }
        }
    }

    /// Merges `patch` into `original`, a list whose field has strategy `merge` (or, for `deleteList`,
    /// any list of primitives), and orders the result as Kubernetes does.
    mutating func mergeList(_ original: [JSONValue], _ patch: [JSONValue], meta: PatchMeta, deleteList: Bool,
                            depth: Int) throws(PatchError) -> [JSONValue] {
        var view: [JSONValue?]? = nil
        return try mergeList(original, patch, meta: meta, deleteList: deleteList, depth: depth, originalView: &view)
    }

    /// As above; when `originalView` is non-nil on entry, it is set to the identities (merge keys) the
    /// original list holds afterwards in kube-apiserver, whose merge edits the original list in place:
    /// deletions shift items left, leaving stale items in the freed tail, and new items land there.
    /// `$setElementOrder` orders server-only items by that view, and so does this.
    mutating func mergeList(_ original: [JSONValue], _ patch: [JSONValue], meta: PatchMeta, deleteList: Bool,
                            depth: Int, originalView: inout [JSONValue?]?) throws(PatchError) -> [JSONValue] {
        try checkDepth(depth)
        if original.isEmpty && patch.isEmpty { return original }
        let kind = try elementKind(original, patch)
        guard kind == .object else {
            // kube-apiserver's union of primitives leaves the original list as it was.
            originalView = nil
            if deleteList {
                let doomed = Set(patch)
                return original.filter { !doomed.contains($0) }
            }
            return Self.union(original, patch)
        }
        if deleteList {
            throw malformed("invalid patch format of primitive list: \(Self.deleteFromPrimitiveListPrefix) applies to lists of primitives, not to a list of objects")
        }
        guard let mergeKey = meta.mergeKey else {
            throw failed("cannot merge lists without merge key")
        }
        return try mergeObjects(original, patch, mergeKey: mergeKey, items: meta.items, depth: depth, originalView: &originalView)
    }

    /// The type all elements of both lists share; lists of lists and mixed lists do not merge.
    func elementKind(_ original: [JSONValue], _ patch: [JSONValue]) throws(PatchError) -> ElementKind {
        var kind: ElementKind? = nil
        for list in [original, patch] {
            for element in list {
                let k = ElementKind(element)
                guard let seen = kind else {
                    // kube-apiserver answers a list of lists with a bare 422.
                    if k == .array { throw failed("lists of lists are not supported") }
                    kind = k
                    continue
                }
                if k != seen {
                    throw malformed("list element types are not identical: \(Self.describe(.array(original))) and \(Self.describe(.array(patch)))")
                }
            }
        }
        return kind ?? .null
    }

    /// The union of two lists of primitives, each value once: values of the patch in patch order,
    /// interleaved with the others in their original order.
    static func union(_ original: [JSONValue], _ patch: [JSONValue]) -> [JSONValue] {
        var patchItems: [JSONValue] = []
        var inPatch = Set<JSONValue>()
        for value in patch where inPatch.insert(value).inserted { patchItems.append(value) }
        var serverOnly: [JSONValue] = []
        var serverPosition: [JSONValue: Int] = [:]
        for (i, value) in original.enumerated() where serverPosition[value] == nil {
            serverPosition[value] = i
            if !inPatch.contains(value) { serverOnly.append(value) }
        }
        return interleave(serverOnly, patchItems, serverPosition: serverPosition, identity: { $0 })
    }

    /// Merges a patch list of objects into `original` by `mergeKey`: `$patch: delete` items remove the
    /// original items with their key, a `{"$patch": "replace"}` item replaces the list with the other items,
    /// items with a known key merge into the first original item with it, the rest are added.
    mutating func mergeObjects(_ original: [JSONValue], _ patch: [JSONValue], mergeKey: String, items: FieldSchema?,
                               depth: Int, originalView: inout [JSONValue?]?) throws(PatchError) -> [JSONValue] {
        var doomed = Set<JSONValue>()
        var deletions: [JSONValue] = []
        var replace = false
        var entries: [[String: JSONValue]] = []
        entries.reserveCapacity(patch.count)
        for element in patch {
            guard case .object(var item) = element else { continue }
            guard let directive = item[Self.directiveMarker] else {
                entries.append(item)
                continue
            }
            switch directive {
            case .string("delete"):
                guard let key = item[mergeKey], key != .null else { throw missingMergeKey(item, mergeKey) }
                if doomed.insert(key).inserted { deletions.append(key) }
            case .string("replace"):
                guard item.count == 1 else {
                    throw malformed("conflicting directives: a list item with \"$patch\": \"replace\" replaces the whole list and may hold nothing else, got \(Self.describe(element))")
                }
                replace = true
            case .string("merge"):
                item.removeValue(forKey: Self.directiveMarker)
                if !item.isEmpty { entries.append(item) }
            default:
                throw malformed("unknown patch type: \(Self.describe(directive)) in map: \(Self.describe(element))")
            }
        }

        var view: [JSONValue?] = []
        if originalView != nil {
            view = Self.viewAfterDeletions(original, mergeKey: mergeKey, deletions: deletions)
        }
        defer { if originalView != nil { originalView = view } }

        if replace {
            var out: [JSONValue] = []
            out.reserveCapacity(entries.count)
            for item in entries {
                guard let key = item[mergeKey], key != .null else { throw missingMergeKey(item, mergeKey) }
                path.append("[\(mergeKey)=\(Self.describe(key))]")
                defer { path.removeLast() }
                if let kept = try cleaned(.object(item), depth: depth + 1) { out.append(kept) }
            }
            return out
        }

        // The original without deleted items, and where each key first appears.
        var merged: [JSONValue] = []
        merged.reserveCapacity(original.count + entries.count)
        var index: [JSONValue: Int] = [:]
        for element in original {
            guard case .object(let o) = element else { continue }
            let key = o[mergeKey]
            if let key, doomed.contains(key) { continue }
            if let key, index[key] == nil { index[key] = merged.count }
            merged.append(element)
        }
        let serverPosition = index

        var patchPosition: [JSONValue: Int] = [:]
        let shape = schema.objectShape(items)
        for (n, item) in entries.enumerated() {
            guard let key = item[mergeKey], key != .null else { throw missingMergeKey(item, mergeKey) }
            if patchPosition[key] == nil { patchPosition[key] = n }
            path.append("[\(mergeKey)=\(Self.describe(key))]")
            defer { path.removeLast() }
            if let i = index[key] {
                guard case .object(var target) = merged[i] else { continue }
                merged[i] = .null
                try mergeObject(into: &target, item, shape: shape, depth: depth + 1)
                merged[i] = .object(target)
            } else {
                if merged.count < view.count { view[merged.count] = key }
                index[key] = merged.count
                merged.append(try cleaned(.object(item), depth: depth + 1) ?? .object([:]))
            }
        }

        // Patch items in patch order, interleaved with the others in their original order.
        var patchItems: [(position: Int, value: JSONValue)] = []
        var serverOnly: [(position: Int, value: JSONValue)] = []
        for element in merged {
            guard let key = element[mergeKey] else {
                throw failed("map: \(Self.describe(element)) does not contain declared merge key: \(mergeKey)")
            }
            if let p = patchPosition[key] {
                patchItems.append((p, element))
            } else {
                serverOnly.append((serverPosition[key] ?? Int.max, element))
            }
        }
        return Self.interleave(Self.stableSorted(serverOnly), Self.stableSorted(patchItems), serverPosition: serverPosition,
                               identity: { $0[mergeKey] })
    }

    /// The identities of `original` after kube-apiserver removed the items with the keys of `deletions`
    /// (in that order, each key's items first to last) in place: the live items, then in the freed tail
    /// the item that was last when each slot was freed.
    static func viewAfterDeletions(_ original: [JSONValue], mergeKey: String, deletions: [JSONValue]) -> [JSONValue?] {
        let ids = original.map { $0[mergeKey] }
        guard !deletions.isEmpty else { return ids }
        var positions: [JSONValue: [Int]] = [:]
        for (i, id) in ids.enumerated() { if let id { positions[id, default: []].append(i) } }
        var removed = [Bool](repeating: false, count: ids.count)
        var tail = [JSONValue?](repeating: nil, count: ids.count)
        var live = ids.count
        var last = ids.count - 1
        for key in deletions {
            for i in positions[key] ?? [] {
                while last >= 0 && removed[last] { last -= 1 }
                tail[live - 1] = ids[last]
                removed[i] = true
                live -= 1
            }
        }
        var view: [JSONValue?] = []
        view.reserveCapacity(ids.count)
        for (i, id) in ids.enumerated() where !removed[i] { view.append(id) }
        view.append(contentsOf: tail[live...])
        return view
    }

    func missingMergeKey(_ item: [String: JSONValue], _ mergeKey: String) -> PatchError {
        malformed("map: \(Self.describe(.object(item))) does not contain declared merge key: \(mergeKey)")
    }

    /// The values ordered by position, equal positions keeping their order.
    static func stableSorted(_ items: [(position: Int, value: JSONValue)]) -> [JSONValue] {
        var numbered = Array(items.enumerated())
        numbered.sort { $0.element.position != $1.element.position ? $0.element.position < $1.element.position : $0.offset < $1.offset }
        return numbered.map(\.element.value)
    }

    /// Kubernetes' merge of two ordered lists: a server-only item goes first only when the next patch
    /// item is also in the original list, further down.
    static func interleave(_ serverOnly: [JSONValue], _ patchItems: [JSONValue], serverPosition: [JSONValue: Int],
                           identity: (JSONValue) -> JSONValue?) -> [JSONValue] {
        var out: [JSONValue] = []
        out.reserveCapacity(serverOnly.count + patchItems.count)
        var i = 0
        var j = 0
        while i < serverOnly.count && j < patchItems.count {
            if let l = identity(serverOnly[i]).flatMap({ serverPosition[$0] }),
               let r = identity(patchItems[j]).flatMap({ serverPosition[$0] }), l < r {
                out.append(serverOnly[i])
                i += 1
            } else {
                out.append(patchItems[j])
                j += 1
            }
        }
        out.append(contentsOf: serverOnly[i...])
        out.append(contentsOf: patchItems[j...])
        return out
    }
}
