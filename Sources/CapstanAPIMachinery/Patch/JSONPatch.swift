import CapstanAPI

/// A JSON Patch (RFC 6902, `application/json-patch+json`): a list of `add`, `remove`, `replace`,
/// `move`, `copy` and `test` operations applied in order, all or nothing.
///
/// Follows the library kube-apiserver uses where it is more lenient than the RFC: array indexes may
/// be negative (counted from the end) or have leading zeros, and `test` of a missing location
/// against `null` succeeds. Results are bounded (depth, copied size) so no patch can exhaust memory or stack.
public struct JSONPatch: Sendable, Hashable {
    /// The most operations one patch may hold, as kube-apiserver allows.
    public static let maximumOperations = 10_000
    /// The deepest nesting a patched document may reach.
    public static let maximumDepth = 500
    /// The most JSON nodes all `copy` operations of one patch may duplicate together.
    public static let maximumCopiedNodes = 1_000_000

    /// The operation objects as given.
    public let operations: [JSONValue]

    /// Reads a patch document: it must be a list of objects (`null` is an empty patch), with at most
    /// `maximumOperations` entries. Operations themselves are checked when applied.
    public init(_ patch: JSONValue) throws(PatchError) {
        switch patch {
        case .null:
            operations = []
        case .array(let ops):
            for op in ops {
                switch op {
                case .object, .null: continue
                default: throw PatchError(.malformed, "json: cannot unmarshal \(Self.goTypeName(op)) into Go value of type jsonpatch.Operation")
                }
            }
            if ops.count > Self.maximumOperations {
                throw PatchError(.tooManyOperations, "The allowed maximum operations in a JSON patch is \(Self.maximumOperations), got \(ops.count)")
            }
            operations = ops
        default:
            throw PatchError(.malformed, "json: cannot unmarshal \(Self.goTypeName(patch)) into Go value of type jsonpatch.Patch")
        }
    }

    static func goTypeName(_ v: JSONValue) -> String {
        switch v {
        case .null: return "null"
        case .bool: return "bool"
        case .int, .double: return "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }

    /// Reads and applies `patch` to `document`.
    public static func apply(_ patch: JSONValue, to document: JSONValue) throws(PatchError) -> JSONValue {
        try JSONPatch(patch).apply(to: document)
    }

    /// The document with every operation applied in order; throws at the first that does not apply.
    public func apply(to document: JSONValue) throws(PatchError) -> JSONValue {
        var doc = document
        var copied = 0
        for (index, op) in operations.enumerated() {
            try Self.apply(op, index: index, to: &doc, copied: &copied)
        }
        return doc
    }

    // MARK: Operations

    private static func apply(_ op: JSONValue, index: Int, to doc: inout JSONValue, copied: inout Int) throws(PatchError) {
        guard case .string(let kind)? = op["op"] else {
            throw PatchError(.failed, "operation \(index): missing or invalid \"op\"")
        }
        guard case .string(let pathText)? = op["path"] else {
            throw PatchError(.failed, "operation \(index) (\(kind)): missing or invalid \"path\"")
        }
        func fail(_ what: String, _ code: PatchError.Code = .failed) -> PatchError {
            PatchError(code, "operation \(index) (\(kind)) at \(GoFormat.quote(pathText)): \(what)")
        }
        guard let path = JSONPointer(pathText) else { throw fail("a JSON pointer must be empty or start with '/'") }

        func value() throws(PatchError) -> JSONValue {
            guard let v = op["value"] else { throw fail("missing \"value\"") }
            return v
        }
        func from() throws(PatchError) -> JSONPointer {
            guard case .string(let text)? = op["from"] else { throw fail("missing or invalid \"from\"") }
            guard let p = JSONPointer(text) else { throw fail("\"from\" \(GoFormat.quote(text)) must be empty or start with '/'") }
            return p
        }
        func checkDepth(_ v: JSONValue) throws(PatchError) {
            if path.tokens.count + depth(of: v, limit: maximumDepth + 1) > maximumDepth {
                throw fail("the result would nest deeper than \(maximumDepth) levels")
            }
        }

        switch kind {
        case "add":
            let v = try value()
            try checkDepth(v)
            do { try modify(&doc, path.tokens[...], .add(v)) } catch { throw fail(error.text) }
        case "remove":
            if path.tokens.isEmpty { throw fail("cannot remove the whole document") }
            do { try modify(&doc, path.tokens[...], .remove) } catch { throw fail(error.text) }
        case "replace":
            let v = try value()
            try checkDepth(v)
            do { try modify(&doc, path.tokens[...], .replace(v)) } catch { throw fail(error.text) }
        case "move":
            let source = try from()
            if source == path { return }
            if source.isProperPrefix(of: path) { throw fail("cannot move a value into one of its own children") }
            guard let v = get(doc, source.tokens[...]) else { throw fail("\"from\" location \(GoFormat.quote(source.description)) does not exist") }
            try checkDepth(v)
            // A failure leaves `doc` half-changed, but then the whole patch fails and the caller's value is untouched.
            do { try modify(&doc, source.tokens[...], .remove) } catch { throw fail("\"from\": " + error.text) }
            do { try modify(&doc, path.tokens[...], .add(v)) } catch { throw fail(error.text) }
        case "copy":
            let source = try from()
            guard let v = get(doc, source.tokens[...]) else { throw fail("\"from\" location \(GoFormat.quote(source.description)) does not exist") }
            copied += nodeCount(v, limit: maximumCopiedNodes - copied + 1)
            if copied > maximumCopiedNodes { throw fail("the patch copies more than \(maximumCopiedNodes) JSON nodes") }
            try checkDepth(v)
            do { try modify(&doc, path.tokens[...], .add(v)) } catch { throw fail(error.text) }
        case "test":
            let expected = op["value"]
            guard let actual = get(doc, path.tokens[...]) else {
                if expected == nil || expected == .null { return }
                throw fail("the location does not exist", .testFailed)
            }
            guard let expected, actual == expected else {
                throw fail("the value differs from the expected one", .testFailed)
            }
        default:
            throw PatchError(.failed, "operation \(index): unknown op \(GoFormat.quote(kind))")
        }
    }

    // MARK: Document access

    enum Action {
        case add(JSONValue), remove, replace(JSONValue)
    }

    struct Failure: Error {
        let text: String
    }

    /// The value at `tokens`, or nil when the location does not exist.
    static func get(_ doc: JSONValue, _ tokens: ArraySlice<String>) -> JSONValue? {
        var current = doc
        for token in tokens {
            switch current {
            case .object(let o):
                guard let next = o[token] else { return nil }
                current = next
            case .array(let a):
                guard let i = arrayIndex(token, count: a.count, inserting: false) else { return nil }
                current = a[i]
            default:
                return nil
            }
        }
        return current
    }

    /// Performs `action` at `tokens`, mutating containers in place (no copy of untouched siblings).
    static func modify(_ doc: inout JSONValue, _ tokens: ArraySlice<String>, _ action: Action) throws(Failure) {
        guard let token = tokens.first else {
            switch action {
            case .add(let v), .replace(let v): doc = v
            case .remove: throw Failure(text: "cannot remove the whole document")
            }
            return
        }
        let rest = tokens.dropFirst()
        switch doc {
        case .object(var o):
            doc = .null
            defer { doc = .object(o) }
            if rest.isEmpty {
                switch action {
                case .add(let v):
                    o[token] = v
                case .replace(let v):
                    guard o[token] != nil else { throw Failure(text: "key \(GoFormat.quote(token)) does not exist") }
                    o[token] = v
                case .remove:
                    guard o.removeValue(forKey: token) != nil else { throw Failure(text: "key \(GoFormat.quote(token)) does not exist") }
                }
            } else {
                guard o.index(forKey: token) != nil else { throw Failure(text: "key \(GoFormat.quote(token)) does not exist") }
                try modify(&o[token, default: .null], rest, action)
            }
        case .array(var a):
            doc = .null
            defer { doc = .array(a) }
            if rest.isEmpty {
                switch action {
                case .add(let v):
                    guard let i = arrayIndex(token, count: a.count, inserting: true) else {
                        throw Failure(text: "index \(GoFormat.quote(token)) is out of range for a list of \(a.count)")
                    }
                    a.insert(v, at: i)
                case .replace(let v):
                    guard let i = arrayIndex(token, count: a.count, inserting: false) else {
                        throw Failure(text: "index \(GoFormat.quote(token)) is out of range for a list of \(a.count)")
                    }
                    a[i] = v
                case .remove:
                    guard let i = arrayIndex(token, count: a.count, inserting: false) else {
                        throw Failure(text: "index \(GoFormat.quote(token)) is out of range for a list of \(a.count)")
                    }
                    a.remove(at: i)
                }
            } else {
                guard let i = arrayIndex(token, count: a.count, inserting: false) else {
                    throw Failure(text: "index \(GoFormat.quote(token)) is out of range for a list of \(a.count)")
                }
                try modify(&a[i], rest, action)
            }
        default:
            throw Failure(text: "\(GoFormat.quote(token)) is below a value that is neither an object nor a list")
        }
    }

    /// An array index as the patch library reads it: `-` (end, when inserting), or a decimal integer,
    /// negative ones counting from the end.
    static func arrayIndex(_ token: String, count: Int, inserting: Bool) -> Int? {
        if token == "-" { return inserting ? count : nil }
        guard case .success(let parsed) = GoFormat.parseInt64(token) else { return nil }
        let size = inserting ? count + 1 : count
        var i = parsed
        if i < 0 {
            if i < -Int64(size) { return nil }
            i += Int64(size)
        }
        guard i < Int64(size) else { return nil }
        return Int(i)
    }

    /// Nesting depth of containers in `v` (a scalar is 0), counting no further than `limit`.
    static func depth(of v: JSONValue, limit: Int) -> Int {
        guard limit > 0 else { return 0 }
        switch v {
        case .array(let a):
            var d = 0
            for e in a {
                d = max(d, depth(of: e, limit: limit - 1))
                if d >= limit - 1 { break }
            }
            return d + 1
        case .object(let o):
            var d = 0
            for e in o.values {
                d = max(d, depth(of: e, limit: limit - 1))
                if d >= limit - 1 { break }
            }
            return d + 1
        default:
            return 0
        }
    }

    /// Number of JSON nodes in `v`, counting no further than `limit`.
    static func nodeCount(_ v: JSONValue, limit: Int) -> Int {
        var count = 0
        var stack: [JSONValue] = [v]
        while let next = stack.popLast() {
            count += 1
            if count >= limit { return count }
            switch next {
            case .array(let a): stack.append(contentsOf: a)
            case .object(let o): stack.append(contentsOf: o.values)
            default: break
            }
        }
        return count
    }
}
