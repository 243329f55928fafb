import CapstanAPI
import CapstanAPIMachinery

/// Walks an object against the structural schema of its definition: drops fields the schema
/// does not know (pruning), reports wrong JSON types, missing required fields and values
/// outside an enum. Free-form fields (`json`) are kept as they are.
public struct SchemaWalker: Sendable {
    public let schema: APISchema

    public init(schema: APISchema) { self.schema = schema }

    public struct Result: Sendable {
        /// Wrong JSON types (`spec.replicas: expected an integer`): a decoding error, answered 400.
        public var typeErrors: [String] = []
        /// Schema violations (required, duplicates, malformed quantities): answered 422.
        public var issues: [FieldError] = []
        /// Paths of fields that were pruned (for strict/warn field validation).
        public var unknownFields: [String] = []
    }

    /// Prunes and checks `object` as an instance of `definition`.
    public func walk(_ object: inout JSONValue, definition: String) -> Result {
        var result = Result()
        var path = WalkPath()
        visitType(&object, definition: definition, path: &path, result: &result)
        return result
    }

    /// Prunes and checks the member `name` of `object` (an instance of `definition`) alone; what
    /// it reports is named from the object's root, as ``walk(_:definition:)`` names it.
    public func walk(member name: String, of object: inout [String: JSONValue], definition: String) -> Result {
        var result = Result()
        guard let index = object.index(forKey: name) else { return result }
        guard let field = schema.type(definition)?.fields?[name] else {
            object[name] = nil
            result.unknownFields.append(name)
            return result
        }
        if object.values[index] == .null {
            object[name] = nil
            return result
        }
        var path = WalkPath()
        path.segments.append(.field(name))
        visitField(&object.values[index], field: field, path: &path, result: &result)
        return result
    }

    private func visitType(_ value: inout JSONValue, definition: String, path: inout WalkPath, result: inout Result) {
        guard let type = schema.type(definition) else { return }
        if let special = type.special {
            checkSpecial(&value, special: special, path: path, result: &result)
            return
        }
        guard case .object(var o) = value else {
            if value != .null { result.typeErrors.append("\(path.rendered): expected an object") }
            return
        }
        // The enum gives up its reference so the members below are changed in place, not copied.
        value = .null
        let fields = type.fields ?? [:]
        var dropped: [String] = []
        var index = o.startIndex
        while index != o.endIndex {
            let key = o.keys[index]
            guard let field = fields[key] else {
                dropped.append(key)
                result.unknownFields.append(path.rendered(appending: key))
                o.formIndex(after: &index)
                continue
            }
            if o.values[index] == .null {
                // null is the same as absent for optional fields.
                dropped.append(key)
            } else {
                path.segments.append(.field(key))
                visitField(&o.values[index], field: field, path: &path, result: &result)
                path.segments.removeLast()
            }
            o.formIndex(after: &index)
        }
        for key in dropped { o[key] = nil }
        for name in type.required ?? [] where o[name] == nil {
            result.issues.append(.required(FieldPath(path.rendered(appending: name))))
        }
        value = .object(o)
    }

    private func visitField(_ value: inout JSONValue, field: FieldSchema, path: inout WalkPath, result: inout Result) {
        switch field.kind {
        case .string:
            guard case .string(let s) = value else { return mismatch(path, "a string", &result) }
            // An empty string means "unset" and is defaulted later.
            if !s.isEmpty, let allowed = field.enumValues, !allowed.isEmpty, !allowed.contains(.string(s)) {
                result.issues.append(.notSupported(FieldPath(path.rendered), value: s, supported: allowed.compactMap(\.stringValue)))
            }
        case .integer:
            switch value {
            case .int(let i):
                if field.format == "int32", i < Int64(Int32.min) || i > Int64(Int32.max) {
                    result.typeErrors.append("\(path.rendered): expected a 32-bit integer, got \(i)")
                }
            case .double(let d) where d == d.rounded() && abs(d) < 9.2e18:
                value = .int(Int64(d))
            default: mismatch(path, "an integer", &result)
            }
        case .number:
            switch value {
            case .int, .double: break
            default: mismatch(path, "a number", &result)
            }
        case .boolean:
            guard case .bool = value else { return mismatch(path, "a boolean", &result) }
        case .array:
            guard case .array(var items) = value else { return mismatch(path, "a list", &result) }
            value = .null
            if let itemSchema = field.items {
                for i in items.indices {
                    path.segments.append(.index(i))
                    visitField(&items[i], field: itemSchema, path: &path, result: &result)
                    path.segments.removeLast()
                }
            }
            if field.listType == "map", let keys = field.listMapKeys {
                checkListMapKeys(items, keys: keys, path: path, result: &result)
            } else if field.listType == "set" {
                var seen = Set<JSONValue>()
                for (i, item) in items.enumerated() where !seen.insert(item).inserted {
                    result.issues.append(.duplicate(FieldPath(path.rendered(index: i)), value: item.stringValue ?? item.description))
                }
            }
            value = .array(items)
        case .map:
            guard case .object(var o) = value else { return mismatch(path, "an object", &result) }
            if let valueSchema = field.values {
                value = .null
                var index = o.startIndex
                while index != o.endIndex {
                    path.segments.append(.key(o.keys[index]))
                    visitField(&o.values[index], field: valueSchema, path: &path, result: &result)
                    path.segments.removeLast()
                    o.formIndex(after: &index)
                }
                value = .object(o)
            }
        case .ref:
            if let ref = field.ref { visitType(&value, definition: ref, path: &path, result: &result) }
        case .json:
            break
        case .quantity, .intOrString, .time, .microTime:
            checkSpecial(&value, special: field.kind.rawValue, path: path, result: &result)
        }
    }

    private func checkSpecial(_ value: inout JSONValue, special: String, path: WalkPath, result: inout Result) {
        switch special {
        case "quantity":
            let text: String
            switch value {
            case .string(let s): text = s
            case .int(let i): text = String(i)
            case .double(let d): text = "\(d)"
            default: return mismatch(path, "a quantity", &result)
            }
            do {
                let q = try Quantity(parsing: text)
                value = .string(q.description)
            } catch {
                result.issues.append(.invalid(FieldPath(path.rendered), value: text, QuantityError.grammar))
            }
        case "intOrString":
            switch value {
            case .int, .string: break
            default: mismatch(path, "an integer or a string", &result)
            }
        case "time":
            guard case .string(let s) = value else { return mismatch(path, "a timestamp string", &result) }
            if let t = try? MetaV1.Time(rfc3339: s) { value = .string(t.rfc3339) } else {
                result.typeErrors.append("\(path.rendered): invalid timestamp \"\(s)\": expected RFC 3339")
            }
        case "microTime":
            guard case .string(let s) = value else { return mismatch(path, "a timestamp string", &result) }
            if let t = try? MetaV1.MicroTime(rfc3339: s) { value = .string(t.rfc3339) } else {
                result.typeErrors.append("\(path.rendered): invalid timestamp \"\(s)\": expected RFC 3339")
            }
        default:
            break
        }
    }

    private func checkListMapKeys(_ items: [JSONValue], keys: [String], path: WalkPath, result: inout Result) {
        var seen = Set<[JSONValue]>()
        for (i, item) in items.enumerated() {
            guard case .object(let o) = item else { continue }
            let tuple = keys.map { o[$0] ?? .null }
            // Keys with defaults (protocol) may be absent; only complete tuples are compared.
            if tuple.allSatisfy({ $0 != .null }), !seen.insert(tuple).inserted {
                let shown = tuple.map { $0.stringValue ?? $0.description }.joined(separator: ",")
                result.issues.append(.duplicate(FieldPath(path.rendered(index: i)), value: shown))
            }
        }
    }

    private func mismatch(_ path: WalkPath, _ expected: String, _ result: inout Result) {
        result.typeErrors.append("\(path.rendered): expected \(expected)")
    }
}

/// Where the walk is, kept as segments and turned into a ``FieldPath`` (`spec.containers[0].name`,
/// `metadata.labels[app]`) only when something is reported there.
struct WalkPath {
    enum Segment {
        case field(String), index(Int), key(String)
    }

    var segments: [Segment] = []

    var fieldPath: FieldPath {
        segments.reduce(FieldPath.root) { path, segment in
            switch segment {
            case .field(let name): return path.child(name)
            case .index(let i): return path.index(i)
            case .key(let key): return path.key(key)
            }
        }
    }

    var rendered: String { fieldPath.description }

    func rendered(appending name: String) -> String { fieldPath.child(name).description }

    func rendered(index: Int) -> String { fieldPath.index(index).description }
}
