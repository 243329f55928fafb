import CapstanAPI

/// One column of a `meta.k8s.io/v1` Table.
public struct TableColumnDefinition: Sendable, Hashable {
    /// Human-readable name; kubectl prints it upper-cased ("Nominated Node" -> NOMINATED NODE).
    public var name: String
    /// OpenAPI type of the cells: `string`, `integer`, `number`, `boolean`, `date`.
    public var type: String
    /// OpenAPI format; `name` marks the column holding the object's name.
    public var format: String
    public var description: String
    /// 0 prints by default; higher priorities only with `-o wide`.
    public var priority: Int32

    public init(name: String, type: String, format: String = "", description: String = "", priority: Int32 = 0) {
        self.name = name
        self.type = type
        self.format = format
        self.description = description
        self.priority = priority
    }

    /// As the Table carries it (every field present, as Go's encoder writes them).
    public var json: JSONValue {
        .object([
            "name": .string(name),
            "type": .string(type),
            "format": .string(format),
            "description": .string(description),
            "priority": .int(Int64(priority)),
        ])
    }
}

extension TableColumnDefinition {
    static let nameDescription = "Name of the object, unique within its namespace (or cluster) for this resource."
    static let ageDescription = "Time since the object was created (from metadata.creationTimestamp)."

    /// The `Name` column every printer starts with.
    static let name = TableColumnDefinition(name: "Name", type: "string", format: "name", description: nameDescription)
    /// The `Age` column.
    static let age = TableColumnDefinition(name: "Age", type: "string", description: ageDescription)

    static func string(_ name: String, _ description: String, priority: Int32 = 0) -> TableColumnDefinition {
        TableColumnDefinition(name: name, type: "string", description: description, priority: priority)
    }

    static func integer(_ name: String, _ description: String, priority: Int32 = 0) -> TableColumnDefinition {
        TableColumnDefinition(name: name, type: "integer", description: description, priority: priority)
    }

    static func boolean(_ name: String, _ description: String, priority: Int32 = 0) -> TableColumnDefinition {
        TableColumnDefinition(name: name, type: "boolean", description: description, priority: priority)
    }

    static let containers = string("Containers", "Container names of the template.", priority: 1)
    static let images = string("Images", "Container images of the template.", priority: 1)
    static let selector = string("Selector", "Label selector of the pods this object manages.", priority: 1)
}
