import CapstanAPI

/// One entry of a CRD version's `additionalPrinterColumns`.
public struct CustomResourceColumnDefinition: Sendable, Hashable {
    public var name: String
    /// `integer`, `number`, `string`, `boolean` or `date`.
    public var type: String
    public var format: String
    public var description: String
    public var priority: Int32
    /// A simple JSONPath starting with `.`, evaluated against each object.
    public var jsonPath: String

    public init(name: String, type: String, format: String = "", description: String = "", priority: Int32 = 0, jsonPath: String) {
        self.name = name
        self.type = type
        self.format = format
        self.description = description
        self.priority = priority
        self.jsonPath = jsonPath
    }

    /// Reads one `additionalPrinterColumns` entry; nil when it lacks a name, type or jsonPath.
    public init?(json: JSONValue) {
        let c = JSONNode(json)
        guard let name = c["name"].string, let type = c["type"].string, let path = c["jsonPath"].string else { return nil }
        self.init(name: name, type: type, format: c["format"].text, description: c["description"].text,
                  priority: Int32(clamping: c["priority"].integer), jsonPath: path)
    }

    /// The columns a CRD prints for `version`: that version's `additionalPrinterColumns` (or the
    /// pre-v1 top-level `spec.additionalPrinterColumns`), and when there are none, Kubernetes'
    /// default: one `Age` column of type `date` over `.metadata.creationTimestamp`.
    public static func columns(ofDefinition crd: JSONValue, version: String) -> [CustomResourceColumnDefinition] {
        let spec = JSONNode(crd)["spec"]
        var raw = spec["versions"].array.first { $0["name"].string == version }?["additionalPrinterColumns"].array ?? []
        if raw.isEmpty { raw = spec["additionalPrinterColumns"].array }
        let columns = raw.compactMap { $0.value.flatMap(CustomResourceColumnDefinition.init(json:)) }
        return columns.isEmpty ? [defaultAge] : columns
    }

    /// The column a CRD without printer columns gets.
    public static let defaultAge = CustomResourceColumnDefinition(
        name: "Age", type: "date", description: TableColumnDefinition.ageDescription,
        jsonPath: ".metadata.creationTimestamp")
}

extension TablePrinter {
    /// The printer of a custom resource: `Name`, then one column per definition. A column whose
    /// JSONPath does not parse ends the list there, as Kubernetes does (it logs and keeps the
    /// columns parsed so far).
    public static func customResource(columns: [CustomResourceColumnDefinition]) -> TablePrinter {
        var definitions: [TableColumnDefinition] = [.name]
        var paths: [(JSONPath, String)] = []
        for column in columns {
            guard let path = try? JSONPath("{\(column.jsonPath)}") else { break }
            let description = column.description.isEmpty
                ? "Printer column selecting \(column.jsonPath)"
                : column.description
            definitions.append(TableColumnDefinition(
                name: column.name, type: column.type, format: column.format,
                description: description, priority: column.priority))
            paths.append((path, column.type))
        }
        let columnPaths = paths
        return TablePrinter(columns: definitions) { object, context in
            var cells: [JSONValue] = [Format.name(object)]
            for (path, type) in columnPaths {
                cells.append(customCell(path, type, object.value ?? .null, context))
            }
            return PrintedRow(cells: cells)
        }
    }

    /// The printer of the custom resources of `crd` (a CustomResourceDefinition object) served
    /// at `version`.
    public static func customResource(definition crd: JSONValue, version: String) -> TablePrinter {
        customResource(columns: CustomResourceColumnDefinition.columns(ofDefinition: crd, version: version))
    }

    /// The cell of one printer column: the first value the path selects, rendered for the
    /// column's type; null when there is none or it does not fit the type.
    static func customCell(_ path: JSONPath, _ type: String, _ object: JSONValue, _ context: PrintContext) -> JSONValue {
        guard let results = try? path.evaluate(object), let value = results.first else { return .null }
        if type == "string" { return .string(GoFormat.print(value)) }
        switch (type, value) {
        case ("integer", .int(let i)): return .int(i)
        case ("integer", .double(let d)) where d.isFinite && abs(d) < 9.2e18: return .int(Int64(d))
        case ("number", .int(let i)): return .double(Double(i))
        case ("number", .double(let d)): return .double(d)
        case ("boolean", .bool(let b)): return .bool(b)
        case ("date", .string(let s)):
            if s.isEmpty || s == "null" { return .string("<unknown>") }
            guard (try? MetaV1.MicroTime(rfc3339: s)) != nil else { return .string("<invalid>") }
            return .string(context.since(JSONNode(value)))
        default: return .null
        }
    }
}
