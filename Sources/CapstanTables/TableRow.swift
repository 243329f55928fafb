import CapstanAPI

/// One row of a Table: the cells (one per column definition), row conditions, and the object the
/// row was printed from (which `TableBuilder` embeds per `includeObject`).
public struct TableRow: Sendable, Hashable {
    /// Strings, integers, booleans, numbers, or `null` for a cell with no value.
    public var cells: [JSONValue]
    public var conditions: [TableRowCondition]
    /// The source object, whole.
    public var object: JSONValue

    public init(cells: [JSONValue], conditions: [TableRowCondition] = [], object: JSONValue) {
        self.cells = cells
        self.conditions = conditions
        self.object = object
    }
}

/// A condition of a row (only `Completed` is defined): kubectl may de-emphasize such rows.
public struct TableRowCondition: Sendable, Hashable {
    public var type: String
    public var status: String
    public var reason: String
    public var message: String

    public init(type: String, status: String, reason: String = "", message: String = "") {
        self.type = type
        self.status = status
        self.reason = reason
        self.message = message
    }

    public var json: JSONValue {
        var o: [String: JSONValue] = ["type": .string(type), "status": .string(status)]
        if !reason.isEmpty { o["reason"] = .string(reason) }
        if !message.isEmpty { o["message"] = .string(message) }
        return .object(o)
    }

    static let podSucceeded = TableRowCondition(
        type: "Completed", status: "True", reason: "Succeeded", message: "The pod has completed successfully.")
    static let podFailed = TableRowCondition(
        type: "Completed", status: "True", reason: "Failed", message: "The pod failed.")
}
