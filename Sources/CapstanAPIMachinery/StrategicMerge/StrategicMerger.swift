import CapstanAPI

/// The work of applying one strategic merge patch: objects here, lists and ordering in extensions.
/// Keeps the path it is at, to name it in errors.
struct StrategicMerger {
    static let directiveMarker = "$patch"
    static let retainKeysDirective = "$retainKeys"
    static let setElementOrderPrefix = "$setElementOrder"
    static let deleteFromPrimitiveListPrefix = "$deleteFromPrimitiveList"

    let schema: StrategicMergeSchema
    /// Field names (and `[key=value]` for list items) down to where the merge is.
    var path: [String] = []

    init(schema: StrategicMergeSchema) {
        self.schema = schema
    }

    // MARK: Objects

    /// Merges `patch` into `object`, an object of `shape`.
    ///
    /// This, ``mergeField(_:_:into:shape:deleteList:depth:)`` and the child merges recurse once per
    /// level of the patch, so they stay lean: directives and error messages live in helpers.
    mutating func mergeObject(into object: inout [String: JSONValue], _ patch: [String: JSONValue], shape: StrategicMergeSchema.ObjectShape,
                              depth: Int) throws(PatchError) {
        try checkDepth(depth)
        guard Self.hasDirectives(patch) else {
            // `mergeField` inlined: one frame less per level.
            for (key, value) in patch {
                switch value {
                case .object(let p):
                    if case .object? = object[key] {
                        try mergeChild(key, p, into: &object, shape: shape, depth: depth)
                        continue
                    }
                case .array(let p):
                    if case .array(let o)? = object[key] {
                        try mergeChild(key, o, p, into: &object, shape: shape, deleteList: false, depth: depth)
                        continue
                    }
                case .null:
                    object.removeValue(forKey: key)
                    continue
                default:
                    object[key] = value
                    continue
                }
                object[key] = try cleaned(value, depth: depth + 1)
            }
            return
        }
        try mergeObjectWithDirectives(into: &object, patch, shape: shape, depth: depth)
    }

    /// ``mergeObject(into:_:shape:depth:)`` for a patch object holding directives.
    mutating func mergeObjectWithDirectives(into object: inout [String: JSONValue], _ patch: [String: JSONValue],
                                            shape: StrategicMergeSchema.ObjectShape, depth: Int) throws(PatchError) {
        var patch = patch
        var deletions: [(field: String, items: JSONValue)] = []
        if try applyDirectives(&patch, to: &object, shape: shape, depth: depth, deletions: &deletions) { return }
        for (key, value) in patch {
            try mergeField(key, value, into: &object, shape: shape, deleteList: false, depth: depth)
        }
        for (field, items) in deletions {
            try mergeField(field, items, into: &object, shape: shape, deleteList: true, depth: depth)
        }
    }

    /// Merges one member of the patch into `object`. A `deleteList` value removes its items from a list.
    mutating func mergeField(_ key: String, _ value: JSONValue, into object: inout [String: JSONValue], shape: StrategicMergeSchema.ObjectShape,
                             deleteList: Bool, depth: Int) throws(PatchError) {
        switch value {
        case .null:
            object.removeValue(forKey: key)
        case .object(let p):
            if case .object? = object[key] {
                try mergeChild(key, p, into: &object, shape: shape, depth: depth)
            } else if !deleteList {
                // Not in the original, or not an object there: the patch value, cleaned of nulls and directives.
                object[key] = try cleaned(value, depth: depth + 1)
            }
        case .array(let p):
            if case .array(let o)? = object[key] {
                try mergeChild(key, o, p, into: &object, shape: shape, deleteList: deleteList, depth: depth)
            } else if !deleteList {
                object[key] = try cleaned(value, depth: depth + 1)
            }
        default:
            if !deleteList { object[key] = value }
        }
    }

    /// Merges the patch object `patch` into the object at `key`.
    mutating func mergeChild(_ key: String, _ patch: [String: JSONValue], into object: inout [String: JSONValue],
                             shape: StrategicMergeSchema.ObjectShape, depth: Int) throws(PatchError) {
        path.append(key)
        defer { path.removeLast() }
        let meta = schema.meta(key, in: shape)
        // Take the child out so it is uniquely referenced while it changes.
        guard case .object(var child)? = object.removeValue(forKey: key) else { return }
        if meta.strategy == .replace { child = [:] }
        try mergeObject(into: &child, patch, shape: schema.objectShape(meta.field), depth: depth + 1)
        object[key] = .object(child)
    }

    /// Merges the patch list `patch` into `original`, the list at `key`: by the field's strategy, or
    /// removing items for a `deleteList`.
    mutating func mergeChild(_ key: String, _ original: [JSONValue], _ patch: [JSONValue], into object: inout [String: JSONValue],
                             shape: StrategicMergeSchema.ObjectShape, deleteList: Bool, depth: Int) throws(PatchError) {
        path.append(key)
        defer { path.removeLast() }
        let meta = schema.meta(key, in: shape)
        if meta.strategy == .merge || deleteList {
            object[key] = .array(try mergeList(original, patch, meta: meta, deleteList: deleteList, depth: depth + 1))
        } else {
            object[key] = try cleaned(.array(patch), depth: depth + 1)
        }
    }

    /// True when the patch object holds a key starting with `$`.
    static func hasDirectives(_ patch: [String: JSONValue]) -> Bool {
        patch.keys.contains { $0.utf8.first == UInt8(ascii: "$") }
    }

    /// Applies the directives of a patch object and removes them from it: `$patch`, `$retainKeys` and
    /// `$setElementOrder/<field>` (which merges and orders <field>, removing it too). Moves the lists of
    /// `$deleteFromPrimitiveList/<field>` into `deletions` by field, to apply last.
    /// Returns true when nothing is left to merge (`$patch: delete`).
    mutating func applyDirectives(_ patch: inout [String: JSONValue], to object: inout [String: JSONValue], shape: StrategicMergeSchema.ObjectShape,
                                  depth: Int, deletions: inout [(field: String, items: JSONValue)]) throws(PatchError) -> Bool {
        if let directive = patch.removeValue(forKey: Self.directiveMarker) {
            switch directive {
            case .string("replace"):
                // The rest of the patch is the whole new object.
                object = [:]
            case .string("delete"):
                object = [:]
                return true
            case .string("merge"):
                break
            default:
                throw malformed("unknown patch type: \(Self.describe(directive)) in map: \(Self.describe(.object(patch)))")
            }
        }
        if let retain = patch.removeValue(forKey: Self.retainKeysDirective) {
            try retainKeys(retain, patch: patch, in: &object)
        }
        var orders: [String] = []
        var deletionKeys: [String] = []
        for key in patch.keys where key.utf8.first == UInt8(ascii: "$") {
            if key.hasPrefix(Self.setElementOrderPrefix) {
                orders.append(key)
            } else if key.hasPrefix(Self.deleteFromPrimitiveListPrefix) {
                deletionKeys.append(key)
            }
        }
        // `$setElementOrder/<field>` merges <field> and orders it; <field> is then done.
        for key in orders.sorted() {
            let order = patch.removeValue(forKey: key)!
            let name = try directiveField(key, prefix: Self.setElementOrderPrefix, problem: "invalid patch format of setElementOrder list")
            let list = patch.removeValue(forKey: name)
            try mergeOrderedList(name, order: order, patch: list, in: &object, shape: shape, depth: depth)
        }
        // Deletions from primitive lists come last, after any additions to the same list.
        for key in deletionKeys.sorted() {
            let value = patch.removeValue(forKey: key)!
            let name = try directiveField(key, prefix: Self.deleteFromPrimitiveListPrefix, problem: "invalid patch format of primitive list")
            guard case .array = value else {
                throw malformed("invalid patch format of primitive list: \(key) must be a list, not \(Self.describe(value))")
            }
            deletions.append((name, value))
        }
        return false
    }

    /// Applies `$retainKeys`: every non-null member of the patch must be listed; members of the
    /// original not listed are cleared.
    func retainKeys(_ retain: JSONValue, patch: [String: JSONValue], in object: inout [String: JSONValue]) throws(PatchError) {
        guard case .array(let names) = retain else {
            throw malformed("invalid patch format of retainKeys: \(Self.retainKeysDirective) must be a list of field names, not \(Self.describe(retain))")
        }
        var keep = Set<String>()
        for case .string(let name) in names { keep.insert(name) }
        for (key, value) in patch.sorted(by: { $0.key < $1.key }) {
            if case .null = value { continue }
            if key.hasPrefix(Self.deleteFromPrimitiveListPrefix) || key.hasPrefix(Self.setElementOrderPrefix) { continue }
            if !keep.contains(key) {
                throw malformed("invalid patch format of retainKeys: \(key) is in the patch but not in \(Self.retainKeysDirective) \(Self.describe(retain))")
            }
        }
        object = object.filter { keep.contains($0.key) }
    }

    /// The field a `$setElementOrder/<field>` or `$deleteFromPrimitiveList/<field>` key names.
    func directiveField(_ key: String, prefix: String, problem: String) throws(PatchError) -> String {
        guard let slash = key.utf8.firstIndex(of: UInt8(ascii: "/")), key[..<slash] == prefix else {
            throw malformed("\(problem): \(key) is not \(prefix)/<field>")
        }
        return String(key[key.index(after: slash)...])
    }

    // MARK: Values taken whole

    /// `value` as it lands when taken from the patch: objects carrying `$patch` are dropped (nil at the
    /// top), `null` members and the parallel directives (`$retainKeys`, `$setElementOrder/…`,
    /// `$deleteFromPrimitiveList/…`) removed, at every depth.
    func cleaned(_ value: JSONValue, depth: Int) throws(PatchError) -> JSONValue? {
        switch value {
        case .object(let o):
            if let directive = o[Self.directiveMarker] {
                // Dropped as kube-apiserver drops it; a directive it would not know is refused.
                switch directive {
                case .string("replace"), .string("delete"), .string("merge"): return nil
                default: throw malformed("unknown patch type: \(Self.describe(directive)) in map: \(Self.describe(value))")
                }
            }
            try checkDepth(depth)
            var out: [String: JSONValue] = [:]
            out.reserveCapacity(o.count)
            for (key, member) in o {
                if case .null = member { continue }
                if key.utf8.first == UInt8(ascii: "$"), Self.isParallelDirective(key) { continue }
                if let kept = try cleaned(member, depth: depth + 1) { out[key] = kept }
            }
            return .object(out)
        case .array(let a):
            guard a.contains(where: { if case .object = $0 { return true }; if case .array = $0 { return true }; return false }) else {
                return value
            }
            try checkDepth(depth)
            var out: [JSONValue] = []
            out.reserveCapacity(a.count)
            for element in a {
                if let kept = try cleaned(element, depth: depth + 1) { out.append(kept) }
            }
            return .array(out)
        default:
            return value
        }
    }

    static func isParallelDirective(_ key: String) -> Bool {
        key == retainKeysDirective || key.hasPrefix(setElementOrderPrefix + "/") || key.hasPrefix(deleteFromPrimitiveListPrefix + "/")
    }

    // MARK: Errors

    func checkDepth(_ depth: Int) throws(PatchError) {
        if depth > StrategicMergePatch.maximumDepth {
            throw malformed("the patch nests deeper than \(StrategicMergePatch.maximumDepth) levels")
        }
    }

    /// 400 with the cause, naming where it is.
    func malformed(_ message: String) -> PatchError {
        PatchError(.malformed, located(message))
    }

    /// 422 as kube-apiserver answers it; the cause stays in `PatchError.message`.
    func failed(_ message: String) -> PatchError {
        PatchError(.failed, located(message))
    }

    private func located(_ message: String) -> String {
        path.isEmpty ? message : "\(message) (at \(pathDescription))"
    }

    var pathDescription: String {
        var s = ""
        for part in path {
            if !s.isEmpty, part.first != "[" { s += "." }
            s += part
        }
        return s
    }

    /// A value as JSON text, shortened for messages.
    static func describe(_ value: JSONValue) -> String {
        let text = value.description
        guard text.utf8.count > 200 else { return text }
        return String(text.prefix(200)) + "…"
    }
}
