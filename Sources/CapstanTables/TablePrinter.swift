import CapstanAPI

/// Server-side printing of one resource: its column definitions and how to turn an object into a
/// row, as kube-apiserver's printers do for `kubectl get`.
///
/// Objects are plain JSON trees (built-in kinds and custom resources alike). Rows always carry
/// every column, wide ones included: the server prints wide and kubectl hides priority > 0
/// columns unless `-o wide`. Time is injected: pass the current wall-clock time as `now`.
public struct TablePrinter: Sendable {
    public let columnDefinitions: [TableColumnDefinition]
    private let makeRow: @Sendable (JSONNode, PrintContext) -> PrintedRow

    init(columns: [TableColumnDefinition], row: @escaping @Sendable (JSONNode, PrintContext) -> PrintedRow) {
        columnDefinitions = columns
        makeRow = row
    }

    /// A printer whose rows only have cells.
    init(columns: [TableColumnDefinition], cells: @escaping @Sendable (JSONNode, PrintContext) -> [JSONValue]) {
        self.init(columns: columns) { object, context in PrintedRow(cells: cells(object, context)) }
    }

    /// The row for `object`, whose cells match `columnDefinitions` one to one. Never fails:
    /// missing fields print as Kubernetes prints zero values (`<none>`, `0`, "").
    public func row(for object: JSONValue, now: MetaV1.MicroTime) -> TableRow {
        let printed = makeRow(JSONNode(object), PrintContext(now: now))
        return TableRow(cells: printed.cells, conditions: printed.conditions, object: object)
    }

    public func rows(for objects: [JSONValue], now: MetaV1.MicroTime) -> [TableRow] {
        let context = PrintContext(now: now)
        return objects.map { object in
            let printed = makeRow(JSONNode(object), context)
            return TableRow(cells: printed.cells, conditions: printed.conditions, object: object)
        }
    }
}

/// What a printer function returns.
struct PrintedRow {
    var cells: [JSONValue]
    var conditions: [TableRowCondition] = []
}

extension TablePrinter {
    /// The printer for a built-in resource (`group` "" for the core group, `resource` the plural,
    /// as `("apps", "deployments")`), or the default printer when Kubernetes has none for it.
    public static func forResource(group: String, resource: String) -> TablePrinter {
        builtIn(group: group, resource: resource) ?? .default
    }

    /// The dedicated printer of a built-in resource; nil when Kubernetes prints it with the default
    /// table (roles, clusterroles, limitranges, customresourcedefinitions, ...).
    public static func builtIn(group: String, resource: String) -> TablePrinter? {
        builtIns[BuiltInKey(group: group, resource: resource)]
    }

    /// The column definitions for a resource (see `forResource`).
    public static func columns(group: String, resource: String) -> [TableColumnDefinition] {
        forResource(group: group, resource: resource).columnDefinitions
    }

    /// The cells of one object of a resource (see `forResource`).
    public static func cells(for object: JSONValue, group: String, resource: String, now: MetaV1.MicroTime) -> [JSONValue] {
        forResource(group: group, resource: resource).row(for: object, now: now).cells
    }

    /// Kubernetes' default table for resources without a printer: `Name` and `Created At`, the
    /// creation time as an RFC 3339 UTC date.
    public static let `default` = TablePrinter(
        columns: [
            .name,
            TableColumnDefinition(name: "Created At", type: "date", description: TableColumnDefinition.ageDescription),
        ],
        cells: { object, _ in
            let created = object["metadata"]["creationTimestamp"]
            let date: String
            if let s = created.string, let t = try? MetaV1.Time(rfc3339: s) {
                date = t.rfc3339
            } else {
                date = MetaV1.Time(secondsSinceEpoch: JSONNode.goZeroTimeSeconds).rfc3339
            }
            return [.string(object["metadata"]["name"].text), .string(date)]
        })

    /// The printer of the `scale` subresource (`kubectl get deploy x --subresource=scale`).
    public static let scale = TablePrinter(
        columns: [
            TableColumnDefinition(name: "Name", type: "string", description: TableColumnDefinition.nameDescription),
            .integer("Desired", "Desired number of replicas (spec.replicas)."),
            .integer("Available", "Observed number of replicas (status.replicas)."),
            .age,
        ],
        cells: { o, ctx in
            [.string(o["metadata"]["name"].text), .int(o["spec"]["replicas"].integer),
             .int(o["status"]["replicas"].integer), .string(ctx.age(o))]
        })
}

struct BuiltInKey: Hashable, Sendable {
    var group: String
    var resource: String
}
