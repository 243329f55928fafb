import CapstanAPI

extension ApplySchema {
    // MARK: Merge

    /// `config` applied onto `live`: members merge recursively, keyed lists item by item and sets
    /// value by value (keeping live items the config does not mention), leaves are replaced.
    public func merge(_ live: JSONValue?, _ config: JSONValue?) -> JSONValue? {
        merge(live, config, rootSlot)
    }

    private func merge(_ live: JSONValue?, _ config: JSONValue?, _ slot: Slot) -> JSONValue? {
        guard let config else { return live }
        guard let live else { return config }
        let shape = self.shape(slot)
        switch (shape, live, config) {
        case (.structure, .object(var out), .object(let c)), (.map, .object(var out), .object(let c)),
             (.deduced, .object(var out), .object(let c)):
            for (name, value) in c {
                out[name] = merge(out[name], value, member(shape, name))
            }
            return .object(out)
        case (.associativeList(let item, let keys), .array(let l), .array(let r)):
            let itemSlot = item.map(Slot.field) ?? .unknown
            return .array(Self.mergeItems(l, r, element: { v, i in Self.keyElement(v, keys: keys, index: i) }) { a, b in
                merge(a, b, itemSlot) ?? b
            })
        case (.set, .array(let l), .array(let r)):
            return .array(Self.mergeItems(l, r, element: { v, _ in .value(v) }) { _, b in b })
        default:
            return config
        }
    }

    /// Merges two lists of identified items. Shared and new items come in the config's order; live
    /// items the config does not mention keep their place relative to the shared ones.
    static func mergeItems(_ live: [JSONValue], _ config: [JSONValue], element: (JSONValue, Int) -> PathElement,
                           merge: (JSONValue, JSONValue) -> JSONValue) -> [JSONValue] {
        let l = live.enumerated().map { element($1, $0) }
        let r = config.enumerated().map { element($1, $0) }
        var liveIndex: [PathElement: Int] = [:]
        for (i, e) in l.enumerated() where liveIndex[e] == nil { liveIndex[e] = i }
        var configIndex: [PathElement: Int] = [:]
        for (i, e) in r.enumerated() where configIndex[e] == nil { configIndex[e] = i }
        var shared = r.filter { liveIndex[$0] != nil }[...]
        var taken = Set<PathElement>()
        var out: [JSONValue] = []
        var li = 0, ri = 0
        func advance(past e: PathElement) {
            if shared.first == e { shared = shared.dropFirst() }
        }
        while li < l.count || ri < r.count {
            if li < l.count, ri < r.count {
                let e = l[li]
                if e == r[ri] {
                    if !taken.contains(e) { out.append(merge(live[li], config[ri])) }
                    taken.insert(e)
                    li += 1
                    ri += 1
                    advance(past: e)
                    continue
                }
                if configIndex[e] != nil, let next = shared.first, next != e {
                    li += 1  // a shared item, but not the next one in the config's order
                    continue
                }
            }
            if li < l.count {
                let e = l[li]
                if configIndex[e] == nil {
                    out.append(live[li])
                    li += 1
                    continue
                }
                if taken.contains(e) {
                    li += 1
                    continue
                }
            }
            if ri < r.count {
                let e = r[ri]
                if !taken.contains(e) {
                    out.append(liveIndex[e].map { merge(live[$0], config[ri]) } ?? config[ri])
                }
                taken.insert(e)
                ri += 1
                advance(past: e)
            }
        }
        return out
    }

    // MARK: Removal

    /// `value` without the members of `remove`, except those with a member of `keep` at or under
    /// them (another manager still owns part of them).
    public func removing(_ remove: FieldSet, keeping keep: FieldSet, from value: JSONValue) -> JSONValue {
        removing(remove, keep, value, rootSlot)
    }

    private func removing(_ remove: FieldSet, _ keep: FieldSet?, _ value: JSONValue, _ slot: Slot) -> JSONValue {
        let shape = self.shape(slot)
        switch (shape, value) {
        case (.structure, .object(var o)), (.map, .object(var o)), (.deduced, .object(var o)):
            for (element, sub) in remove.children {
                guard case .field(let name) = element, let child = o[name] else { continue }
                let kept = keep?.children[element]
                if sub.isMember, kept?.isEmpty ?? true {
                    o[name] = nil
                } else {
                    o[name] = removing(sub, kept, child, member(shape, name))
                }
            }
            return .object(o)
        case (.associativeList(let item, let keys), .array(var items)):
            let itemSlot = item.map(Slot.field) ?? .unknown
            var drop = Set<Int>()
            for (i, child) in items.enumerated() {
                let element = Self.keyElement(child, keys: keys, index: i)
                guard let sub = remove.children[element] else { continue }
                let kept = keep?.children[element]
                if sub.isMember, kept?.isEmpty ?? true {
                    drop.insert(i)
                } else {
                    items[i] = removing(sub, kept, child, itemSlot)
                }
            }
            return .array(items.enumerated().filter { !drop.contains($0.offset) }.map(\.element))
        case (.set, .array(let items)):
            return .array(items.filter { v in
                guard let sub = remove.children[.value(v)], sub.isMember else { return true }
                return !(keep?.children[.value(v)]?.isMember ?? false)
            })
        default:
            return value
        }
    }
}
