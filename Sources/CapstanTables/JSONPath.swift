import CapstanAPI

/// A JSONPath expression in the dialect of Kubernetes' `jsonpath` package, as CRD
/// `additionalPrinterColumns` use it: `.spec.replicas`, `.metadata.labels['app\.io/name']`,
/// `.status.conditions[?(@.type=="Ready")].status`, `.items[*].name`, `.spec.ports[0:2]`,
/// `.spec.containers[-1].image`, `..name`, with or without the surrounding `{}`.
///
/// Missing keys give no result rather than an error (`AllowMissingKeys(true)`); applying an
/// index or a filter to something that is not an array, an index out of range, or comparing
/// values of different types are errors.
public struct JSONPath: Sendable, Hashable {
    public let expression: String
    let steps: [Step]

    public init(_ expression: String) throws(JSONPathError) {
        self.expression = expression
        var text = Substring(expression).trimmingSpaces()
        if text.hasPrefix("{") && text.hasSuffix("}") && text.count >= 2 {
            text = text.dropFirst().dropLast().trimmingSpaces()
        }
        var parser = JSONPathParser(Array(text.utf8), expression: expression)
        steps = try parser.parsePath(allowRoot: true)
        guard parser.atEnd else { throw parser.error("unexpected \(parser.rest)") }
    }

    /// Every value the expression selects in `root`, in order.
    public func evaluate(_ root: JSONValue) throws(JSONPathError) -> [JSONValue] {
        try JSONPath.evaluate(steps, on: [root], root: root)
    }

    indirect enum Step: Sendable, Hashable {
        case field(String)
        case fields([String])
        case wildcard
        case recursive
        case slice(Slice)
        case union([Slice])
        case filter(Filter)
    }

    struct Slice: Sendable, Hashable {
        var start: Int?
        var end: Int?
        var step: Int?
        /// `[i]`: the end is `i + 1`, derived.
        var single: Bool
    }

    struct Filter: Sendable, Hashable {
        var left: Operand
        /// nil for an existence test `[?(@.x)]`.
        var comparison: Comparison?
        var right: Operand?
    }

    enum Comparison: String, Sendable, Hashable {
        case equal = "==", notEqual = "!=", less = "<", greater = ">", lessOrEqual = "<=", greaterOrEqual = ">="
    }

    enum Operand: Sendable, Hashable {
        /// Relative to the element (`@...`).
        case current([Step])
        /// From the document root (`$...`).
        case root([Step])
        case literal(JSONValue)
    }
}

public struct JSONPathError: Error, Hashable, Sendable, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}

extension Substring {
    fileprivate func trimmingSpaces() -> Substring {
        var s = self
        while let f = s.first, f == " " || f == "\t" || f == "\n" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\n" { s = s.dropLast() }
        return s
    }
}

// MARK: - Parsing

struct JSONPathParser {
    let b: [UInt8]
    let expression: String
    var i = 0

    init(_ bytes: [UInt8], expression: String) {
        b = bytes
        self.expression = expression
    }

    var atEnd: Bool { i >= b.count }
    var rest: String { String(decoding: b[min(i, b.count)...], as: UTF8.self) }

    func error(_ message: String) -> JSONPathError {
        JSONPathError(message: "invalid JSONPath \(expression): \(message)")
    }

    func peek(_ offset: Int = 0) -> UInt8? {
        i + offset < b.count ? b[i + offset] : nil
    }

    mutating func parsePath(allowRoot: Bool) throws(JSONPathError) -> [JSONPath.Step] {
        var steps: [JSONPath.Step] = []
        if allowRoot, peek() == UInt8(ascii: "$") { i += 1 }
        while let c = peek() {
            if c == UInt8(ascii: ".") {
                if peek(1) == UInt8(ascii: ".") {
                    i += 2
                    steps.append(.recursive)
                    if peek() == UInt8(ascii: "[") { continue }
                } else {
                    i += 1
                    if atEnd || peek() == UInt8(ascii: "[") || peek() == UInt8(ascii: ".") { continue }
                }
                if peek() == UInt8(ascii: "*") {
                    i += 1
                    steps.append(.wildcard)
                } else {
                    steps.append(.field(try parseName()))
                }
            } else if c == UInt8(ascii: "[") {
                steps.append(try parseBracket())
            } else {
                break
            }
        }
        return steps
    }

    /// A field name up to the next `.`, `[`, space or parenthesis; `\.` escapes a dot.
    mutating func parseName() throws(JSONPathError) -> String {
        var name: [UInt8] = []
        while let c = peek() {
            if c == UInt8(ascii: "\\"), let next = peek(1) {
                name.append(next)
                i += 2
                continue
            }
            if c == UInt8(ascii: ".") || c == UInt8(ascii: "[") || c == UInt8(ascii: " ") || c == UInt8(ascii: "(")
                || c == UInt8(ascii: ")") || c == UInt8(ascii: "=") || c == UInt8(ascii: "!") || c == UInt8(ascii: "<")
                || c == UInt8(ascii: ">") || c == UInt8(ascii: ",") || c == UInt8(ascii: "]") {
                break
            }
            name.append(c)
            i += 1
        }
        guard !name.isEmpty else { throw error("expected a field name at \(rest)") }
        return String(decoding: name, as: UTF8.self)
    }

    /// The text between `[` and its `]`, quotes and parentheses respected.
    mutating func bracketContent() throws(JSONPathError) -> [UInt8] {
        i += 1  // [
        let start = i
        var depth = 0
        var quote: UInt8?
        while let c = peek() {
            if let q = quote {
                if c == UInt8(ascii: "\\") { i += 2; continue }
                if c == q { quote = nil }
            } else if c == UInt8(ascii: "'") || c == UInt8(ascii: "\"") {
                quote = c
            } else if c == UInt8(ascii: "(") {
                depth += 1
            } else if c == UInt8(ascii: ")") {
                depth -= 1
            } else if c == UInt8(ascii: "]") && depth == 0 {
                let content = Array(b[start..<i])
                i += 1
                return content
            }
            i += 1
        }
        throw error("unterminated [")
    }

    mutating func parseBracket() throws(JSONPathError) -> JSONPath.Step {
        let content = trim(try bracketContent())
        if content == [UInt8(ascii: "*")] { return .wildcard }
        if content.first == UInt8(ascii: "?") {
            var inner = trim(Array(content.dropFirst()))
            guard inner.first == UInt8(ascii: "("), inner.last == UInt8(ascii: ")") else {
                throw error("filter must be ?(...)")
            }
            inner = trim(Array(inner.dropFirst().dropLast()))
            return .filter(try parseFilter(inner))
        }
        let parts = splitOutsideQuotes(content, on: UInt8(ascii: ","))
        if let first = parts.first?.first, first == UInt8(ascii: "'") || first == UInt8(ascii: "\"") {
            var keys: [String] = []
            for part in parts {
                guard let key = unquote(part) else { throw error("bad key \(String(decoding: part, as: UTF8.self))") }
                keys.append(key)
            }
            return keys.count == 1 ? .field(keys[0]) : .fields(keys)
        }
        var slices: [JSONPath.Slice] = []
        for part in parts { slices.append(try parseSlice(part)) }
        guard !slices.isEmpty else { throw error("empty []") }
        return slices.count == 1 ? .slice(slices[0]) : .union(slices)
    }

    func parseSlice(_ text: [UInt8]) throws(JSONPathError) -> JSONPath.Slice {
        let pieces = text.split(separator: UInt8(ascii: ":"), omittingEmptySubsequences: false).map { trim(Array($0)) }
        guard (1...3).contains(pieces.count) else { throw error("bad index \(String(decoding: text, as: UTF8.self))") }
        var values: [Int?] = []
        for piece in pieces {
            if piece.isEmpty {
                values.append(nil)
            } else if let n = Int(String(decoding: piece, as: UTF8.self)) {
                values.append(n)
            } else {
                throw error("bad index \(String(decoding: text, as: UTF8.self))")
            }
        }
        if pieces.count == 1 {
            guard let n = values[0] else { throw error("empty index") }
            return JSONPath.Slice(start: n, end: n + 1, step: nil, single: true)
        }
        return JSONPath.Slice(start: values[0], end: values[1], step: pieces.count == 3 ? values[2] : nil, single: false)
    }

    func parseFilter(_ text: [UInt8]) throws(JSONPathError) -> JSONPath.Filter {
        // The first run of comparison characters outside quotes splits left from right.
        var quote: UInt8?
        var index = 0
        while index < text.count {
            let c = text[index]
            if let q = quote {
                if c == q { quote = nil }
            } else if c == UInt8(ascii: "'") || c == UInt8(ascii: "\"") {
                quote = c
            } else if c == UInt8(ascii: "=") || c == UInt8(ascii: "!") || c == UInt8(ascii: "<") || c == UInt8(ascii: ">") {
                var end = index
                while end < text.count, [UInt8(ascii: "="), UInt8(ascii: "!"), UInt8(ascii: "<"), UInt8(ascii: ">")].contains(text[end]) {
                    end += 1
                }
                let op = String(decoding: text[index..<end], as: UTF8.self)
                guard let comparison = JSONPath.Comparison(rawValue: op) else { throw error("unknown operator \(op)") }
                let left = try parseOperand(trim(Array(text[..<index])))
                let right = try parseOperand(trim(Array(text[end...])))
                return JSONPath.Filter(left: left, comparison: comparison, right: right)
            }
            index += 1
        }
        return JSONPath.Filter(left: try parseOperand(text), comparison: nil, right: nil)
    }

    func parseOperand(_ text: [UInt8]) throws(JSONPathError) -> JSONPath.Operand {
        guard let first = text.first else { throw error("empty filter operand") }
        if first == UInt8(ascii: "@") || first == UInt8(ascii: "$") {
            var sub = JSONPathParser(Array(text.dropFirst()), expression: expression)
            let steps = try sub.parsePath(allowRoot: false)
            guard sub.atEnd else { throw error("unexpected \(sub.rest)") }
            return first == UInt8(ascii: "@") ? .current(steps) : .root(steps)
        }
        if let s = unquote(text) { return .literal(.string(s)) }
        let word = String(decoding: text, as: UTF8.self)
        if word == "true" { return .literal(.bool(true)) }
        if word == "false" { return .literal(.bool(false)) }
        if let n = Int64(word) { return .literal(.int(n)) }
        if let d = Double(word), d.isFinite { return .literal(.double(d)) }
        throw error("unrecognized operand \(word)")
    }

    func unquote(_ text: [UInt8]) -> String? {
        guard text.count >= 2, let q = text.first, q == UInt8(ascii: "'") || q == UInt8(ascii: "\""), text.last == q else {
            return nil
        }
        var out: [UInt8] = []
        var k = 1
        while k < text.count - 1 {
            if text[k] == UInt8(ascii: "\\"), k + 1 < text.count - 1 {
                out.append(text[k + 1])
                k += 2
                continue
            }
            out.append(text[k])
            k += 1
        }
        return String(decoding: out, as: UTF8.self)
    }

    func splitOutsideQuotes(_ text: [UInt8], on separator: UInt8) -> [[UInt8]] {
        var parts: [[UInt8]] = []
        var current: [UInt8] = []
        var quote: UInt8?
        for c in text {
            if let q = quote {
                if c == q { quote = nil }
                current.append(c)
            } else if c == UInt8(ascii: "'") || c == UInt8(ascii: "\"") {
                quote = c
                current.append(c)
            } else if c == separator {
                parts.append(trim(current))
                current = []
            } else {
                current.append(c)
            }
        }
        parts.append(trim(current))
        return parts
    }

    func trim(_ text: [UInt8]) -> [UInt8] {
        var s = text[...]
        while let f = s.first, f == UInt8(ascii: " ") || f == UInt8(ascii: "\t") { s = s.dropFirst() }
        while let l = s.last, l == UInt8(ascii: " ") || l == UInt8(ascii: "\t") { s = s.dropLast() }
        return Array(s)
    }
}

// MARK: - Evaluation

extension JSONPath {
    static func evaluate(_ steps: [Step], on input: [JSONValue], root: JSONValue) throws(JSONPathError) -> [JSONValue] {
        var current = input
        for step in steps {
            current = try apply(step, to: current, root: root)
        }
        return current
    }

    private static func apply(_ step: Step, to input: [JSONValue], root: JSONValue) throws(JSONPathError) -> [JSONValue] {
        var out: [JSONValue] = []
        switch step {
        case .field(let name):
            for value in input {
                if case .object(let o) = value, let v = o[name] { out.append(v) }
            }
        case .fields(let names):
            for value in input {
                guard case .object(let o) = value else { continue }
                for name in names {
                    if let v = o[name] { out.append(v) }
                }
            }
        case .wildcard:
            for value in input {
                switch value {
                case .object(let o): out += o.keys.sorted(by: Format.byteOrder).map { o[$0]! }
                case .array(let a): out += a
                default: break
                }
            }
        case .recursive:
            for value in input { collectRecursive(value, into: &out) }
        case .slice(let slice):
            for value in input {
                guard let selected = try select(slice, from: value) else { return out }
                out += selected
            }
        case .union(let slices):
            for slice in slices {
                for value in input {
                    guard let selected = try select(slice, from: value) else { break }
                    out += selected
                }
            }
        case .filter(let filter):
            for value in input {
                if value == .null { continue }
                guard case .array(let elements) = value else {
                    throw JSONPathError(message: "\(GoFormat.print(value)) is not array or slice and cannot be filtered")
                }
                for element in elements where try matches(filter, element, root: root) {
                    out.append(element)
                }
            }
        }
        return out
    }

    /// Values with children (non-empty objects, arrays and strings, as Go reflects them) and
    /// everything below them, depth first.
    private static func collectRecursive(_ value: JSONValue, into out: inout [JSONValue]) {
        switch value {
        case .object(let o) where !o.isEmpty:
            out.append(value)
            for key in o.keys.sorted(by: Format.byteOrder) { collectRecursive(o[key]!, into: &out) }
        case .array(let a) where !a.isEmpty:
            out.append(value)
            for v in a { collectRecursive(v, into: &out) }
        case .string(let s) where !s.isEmpty:
            out.append(value)
        default:
            break
        }
    }

    /// The elements a slice selects; nil when it selects nothing (which ends the step in Go).
    private static func select(_ slice: Slice, from value: JSONValue) throws(JSONPathError) -> [JSONValue]? {
        if value == .null { return [] }
        guard case .array(let a) = value else {
            throw JSONPathError(message: "\(GoFormat.print(value)) is not array or slice")
        }
        let n = a.count
        var start = slice.start ?? 0
        if start < 0 { start += n }
        var end = slice.end ?? n
        if slice.end != nil && (end < 0 || (slice.single && end == 0)) { end += n }
        if start == end { return nil }
        if start >= n || start < 0 {
            throw JSONPathError(message: "array index out of bounds: index \(start), length \(n)")
        }
        if end > n || end < 0 {
            throw JSONPathError(message: "array index out of bounds: index \(end - 1), length \(n)")
        }
        if start > end {
            throw JSONPathError(message: "starting index \(start) is greater than ending index \(end)")
        }
        let step = slice.step ?? 1
        guard step > 0 else { throw JSONPathError(message: "step must be > 0") }
        return Array(stride(from: start, to: end, by: step).map { a[$0] })
    }

    private static func matches(_ filter: Filter, _ element: JSONValue, root: JSONValue) throws(JSONPathError) -> Bool {
        guard let left = try operand(filter.left, element, root: root) else { return false }
        guard let comparison = filter.comparison, let rightOperand = filter.right else { return true }
        guard let right = try operand(rightOperand, element, root: root) else { return false }
        return try compare(left, comparison, right)
    }

    /// The single value of a filter operand; nil when it has none.
    private static func operand(_ operand: Operand, _ element: JSONValue, root: JSONValue) throws(JSONPathError) -> JSONValue? {
        let values: [JSONValue]
        switch operand {
        case .literal(let v): return v
        case .current(let steps): values = try evaluate(steps, on: [element], root: root)
        case .root(let steps): values = try evaluate(steps, on: [root], root: root)
        }
        if values.isEmpty { return nil }
        guard values.count == 1 else { throw JSONPathError(message: "can only compare one element at a time") }
        return values[0]
    }

    /// Go's `template` comparisons: same basic kinds only; booleans compare for equality only.
    private static func compare(_ a: JSONValue, _ op: Comparison, _ b: JSONValue) throws(JSONPathError) -> Bool {
        func incompatible() -> JSONPathError { JSONPathError(message: "incompatible types for comparison") }
        let order: Int
        switch (a, b) {
        case (.string(let x), .string(let y)):
            order = x == y ? 0 : (Format.byteOrder(x, y) ? -1 : 1)
        case (.int(let x), .int(let y)):
            order = x == y ? 0 : (x < y ? -1 : 1)
        case (.double(let x), .double(let y)):
            order = x == y ? 0 : (x < y ? -1 : 1)
        case (.bool(let x), .bool(let y)):
            switch op {
            case .equal: return x == y
            case .notEqual: return x != y
            default: throw JSONPathError(message: "invalid type for comparison")
            }
        case (.null, _), (_, .null), (.object, _), (_, .object), (.array, _), (_, .array):
            throw JSONPathError(message: "invalid type for comparison")
        default:
            throw incompatible()
        }
        switch op {
        case .equal: return order == 0
        case .notEqual: return order != 0
        case .less: return order < 0
        case .greater: return order > 0
        case .lessOrEqual: return order <= 0
        case .greaterOrEqual: return order >= 0
        }
    }
}
