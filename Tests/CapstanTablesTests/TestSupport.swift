import CapstanAPI
@testable import CapstanTables

/// The fixed "now" of every test: 2024-05-01T12:00:00Z.
let nowSeconds: Int64 = 1_714_564_800
let now = MetaV1.MicroTime(secondsSinceEpoch: nowSeconds)

/// An RFC 3339 timestamp `seconds` before `now`.
func ago(_ seconds: Int64) -> String {
    MetaV1.Time(secondsSinceEpoch: nowSeconds - seconds).rfc3339
}

let minute: Int64 = 60
let hour: Int64 = 3600
let day: Int64 = 86400

func json(_ text: String) -> JSONValue {
    do {
        return try JSONValue.parse(text)
    } catch {
        fatalError("bad test JSON: \(error)\n\(text)")
    }
}

func cells(_ group: String, _ resource: String, _ object: String) -> [JSONValue] {
    TablePrinter.cells(for: json(object), group: group, resource: resource, now: now)
}

func columnNames(_ group: String, _ resource: String) -> [String] {
    TablePrinter.columns(group: group, resource: resource).map(\.name)
}

// Literals for expected cells in tests.
extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByNilLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(nilLiteral: ()) { self = .null }
}
