import CapstanAPI

extension StrategicMerger {
    /// Applies `$setElementOrder/<name>`: merges the patch list for `name` (if any) into the original
    /// list, then orders the items `order` names as it names them, the others where they were.
    mutating func mergeOrderedList(_ name: String, order orderValue: JSONValue, patch: JSONValue?, in object: inout [String: JSONValue],
                                   shape: StrategicMergeSchema.ObjectShape, depth: Int) throws(PatchError) {
        path.append(name)
        defer { path.removeLast() }
        guard case .array(let order) = orderValue else {
            throw malformed("invalid patch format of setElementOrder list: \(Self.setElementOrderPrefix)/\(name) must be a list, not \(Self.describe(orderValue))")
        }
        var patchList: [JSONValue]? = nil
        if let patch {
            guard case .array(let p) = patch else {
                throw malformed("invalid patch format of setElementOrder list: \(name) must be a list next to \(Self.setElementOrderPrefix)/\(name), not \(Self.describe(patch))")
            }
            patchList = p
        }
        var originalList: [JSONValue]? = nil
        if case .array(let o)? = object[name] { originalList = o }

        let meta = schema.meta(name, in: shape)
        let mergeKey = meta.mergeKey
        try validate(patchList ?? [], against: order, mergeKey: mergeKey)

        let merged: [JSONValue]
        // Where the original items are, as kube-apiserver sees them once the merge is done.
        var view: [JSONValue?]? = nil
        switch (originalList, patchList) {
        case (let o?, nil):
            merged = o
        case (nil, let p?):
            guard case .array(let a)? = try cleaned(.array(p), depth: depth + 1) else { return }
            merged = a
        case (let o?, let p?):
            if meta.strategy == .merge {
                view = []
                merged = try mergeList(o, p, meta: meta, deleteList: false, depth: depth + 1, originalView: &view)
            } else {
                guard case .array(let a)? = try cleaned(.array(p), depth: depth + 1) else { return }
                merged = a
            }
        case (nil, nil):
            return
        }
        var serverOrder: [JSONValue?] = []
        if let view {
            serverOrder = view
        } else {
            for item in originalList ?? [] { serverOrder.append(try identity(of: item, mergeKey: mergeKey, inPatch: false)) }
        }
        object[name] = .array(try ordered(merged, by: order, serverOrder: serverOrder, mergeKey: mergeKey))
    }

    /// Checks that the items of the patch list (deletions and directives aside) appear in `order`, in
    /// the same relative order.
    func validate(_ patchList: [JSONValue], against order: [JSONValue], mergeKey: String?) throws(PatchError) {
        if patchList.isEmpty || order.isEmpty { return }
        var p = 0
        var o = 0
        while p < patchList.count && o < order.count {
            let item = patchList[p]
            if case .object(let fields) = item, fields[Self.directiveMarker] != nil {
                p += 1
                continue
            }
            if try identity(of: item, mergeKey: mergeKey, inPatch: true) == identity(of: order[o], mergeKey: mergeKey, inPatch: true) {
                p += 1
            }
            o += 1
        }
        while p < patchList.count, case .object(let fields) = patchList[p], fields[Self.directiveMarker] != nil { p += 1 }
        if p < patchList.count {
            throw malformed("invalid patch format of setElementOrder list: the order in patch list \(Self.describe(.array(patchList))) doesn't match \(Self.setElementOrderPrefix) list \(Self.describe(.array(order)))")
        }
    }

    /// What identifies a list item: its merge key, or the item itself in a list without one.
    func identity(of item: JSONValue, mergeKey: String?, inPatch: Bool) throws(PatchError) -> JSONValue {
        guard let mergeKey else { return item }
        guard case .object(let fields) = item, let key = fields[mergeKey] else {
            let message = "map: \(Self.describe(item)) does not contain declared merge key: \(mergeKey)"
            throw inPatch ? malformed(message) : failed(message)
        }
        return key
    }

    /// `merged` with the items `order` names in that order, interleaved with the others in their
    /// order in `serverOrder` (the identities of the original items).
    func ordered(_ merged: [JSONValue], by order: [JSONValue], serverOrder: [JSONValue?], mergeKey: String?) throws(PatchError) -> [JSONValue] {
        var orderPosition: [JSONValue: Int] = [:]
        for (i, item) in order.enumerated() {
            let id = try identity(of: item, mergeKey: mergeKey, inPatch: true)
            if orderPosition[id] == nil { orderPosition[id] = i }
        }
        var serverPosition: [JSONValue: Int] = [:]
        for (i, id) in serverOrder.enumerated() {
            if let id, serverPosition[id] == nil { serverPosition[id] = i }
        }
        var patchItems: [(position: Int, value: JSONValue)] = []
        var serverOnly: [(position: Int, value: JSONValue)] = []
        for item in merged {
            let id = try identity(of: item, mergeKey: mergeKey, inPatch: false)
            if let p = orderPosition[id] {
                patchItems.append((p, item))
            } else {
                serverOnly.append((serverPosition[id] ?? Int.max, item))
            }
        }
        if let mergeKey {
            return Self.interleave(Self.stableSorted(serverOnly), Self.stableSorted(patchItems), serverPosition: serverPosition,
                                   identity: { $0[mergeKey] })
        }
        return Self.interleave(Self.stableSorted(serverOnly), Self.stableSorted(patchItems), serverPosition: serverPosition,
                               identity: { $0 })
    }
}
