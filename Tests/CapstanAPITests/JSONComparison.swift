import Foundation

/// An independent model of a JSON document for comparisons in tests (built with
/// JSONSerialization, not with the types under test). Numbers compare as values; object keys
/// whose value is null compare as absent, since encoding omits nil fields.
indirect enum JSONTree: Equatable, CustomStringConvertible {
    case null, bool(Bool), number(Double), string(String), array([JSONTree]), object([String: JSONTree])

    init(data: Data) throws {
        self = JSONTree(any: try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]))
    }

    init(any: Any) {
        switch any {
        case is NSNull: self = .null
        case let b as Bool where type(of: any) == Bool.self: self = .bool(b)
        case let n as NSNumber:
            if String(cString: n.objCType) == "c" { self = .bool(n.boolValue) } else { self = .number(n.doubleValue) }
        case let s as String: self = .string(s)
        case let a as [Any]: self = .array(a.map(JSONTree.init(any:)))
        case let o as [String: Any]:
            var out: [String: JSONTree] = [:]
            for (k, v) in o {
                let t = JSONTree(any: v)
                if t != .null { out[k] = t }
            }
            self = .object(out)
        default: self = .string("\(any)")
        }
    }

    var description: String {
        switch self {
        case .null: return "null"
        case .bool(let b): return "\(b)"
        case .number(let n): return "\(n)"
        case .string(let s): return "\"\(s)\""
        case .array(let a): return "[" + a.map(\.description).joined(separator: ",") + "]"
        case .object(let o): return "{" + o.keys.sorted().map { "\"\($0)\":\(o[$0]!)" }.joined(separator: ",") + "}"
        }
    }

    /// The first path at which two trees differ, for readable failures.
    static func firstDifference(_ a: JSONTree, _ b: JSONTree, path: String = "") -> String? {
        switch (a, b) {
        case (.object(let x), .object(let y)):
            for k in Set(x.keys).union(y.keys).sorted() {
                guard let xv = x[k] else { return "\(path).\(k): missing on the left" }
                guard let yv = y[k] else { return "\(path).\(k): missing on the right" }
                if let d = firstDifference(xv, yv, path: "\(path).\(k)") { return d }
            }
            return nil
        case (.array(let x), .array(let y)):
            if x.count != y.count { return "\(path): \(x.count) items vs \(y.count)" }
            for (i, (xv, yv)) in zip(x, y).enumerated() {
                if let d = firstDifference(xv, yv, path: "\(path)[\(i)]") { return d }
            }
            return nil
        default:
            return a == b ? nil : "\(path): \(a) vs \(b)"
        }
    }
}

enum Fixtures {
    static func data(_ name: String) throws -> Data {
        guard let url = Bundle.module.url(forResource: name, withExtension: "json", subdirectory: "Fixtures") else {
            throw CocoaError(.fileNoSuchFile)
        }
        return try Data(contentsOf: url)
    }
}
