import CapstanAPI

/// One entry of `metadata.managedFields`: which fields a manager owns, and how it got them.
public struct ManagedFieldsEntry: Hashable, Sendable {
    public enum Operation: String, Sendable, Hashable {
        case apply = "Apply", update = "Update"
    }

    public var manager: String
    public var operation: Operation
    public var apiVersion: String
    /// RFC 3339, seconds precision.
    public var time: String?
    /// `status` for writes through that subresource, empty for the main resource.
    public var subresource: String
    public var fields: FieldSet {
        get { decoded ?? (encoded.flatMap { try? FieldSet(fieldsV1: $0) } ?? FieldSet()) }
        set {
            decoded = newValue
            encoded = nil
        }
    }
    /// The field set, once decoded or set.
    private var decoded: FieldSet?
    /// The `fieldsV1` as read, while `fields` has not been set: written back as it came, and
    /// decoded only when an update needs the set (most writes leave other managers' entries alone).
    private var encoded: JSONValue?

    public init(manager: String, operation: Operation, apiVersion: String, time: String? = nil,
                subresource: String = "", fields: FieldSet) {
        self.manager = manager
        self.operation = operation
        self.apiVersion = apiVersion
        self.time = time
        self.subresource = subresource
        self.decoded = fields
    }

    /// Whether the entry owns any field.
    public var hasFields: Bool {
        if let decoded { return !decoded.isEmpty }
        return encoded?.objectValue?.isEmpty == false
    }

    public static func == (a: ManagedFieldsEntry, b: ManagedFieldsEntry) -> Bool {
        a.manager == b.manager && a.operation == b.operation && a.apiVersion == b.apiVersion && a.time == b.time
            && a.subresource == b.subresource && a.fields == b.fields
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(manager)
        hasher.combine(operation)
        hasher.combine(apiVersion)
        hasher.combine(time)
        hasher.combine(subresource)
        hasher.combine(fields)
    }

    /// What makes two entries the same manager: name, operation, subresource, and for updates
    /// the API version (an applier keeps one entry whatever version it applies with).
    public struct Identity: Hashable, Sendable, Comparable {
        public var manager: String
        public var operation: Operation
        public var subresource: String
        public var apiVersion: String

        public static func < (a: Identity, b: Identity) -> Bool {
            (a.manager, a.operation.rawValue, a.subresource, a.apiVersion)
                < (b.manager, b.operation.rawValue, b.subresource, b.apiVersion)
        }

        /// How a conflict names the manager: `"kubectl"`, `"kubectl-edit" using apps/v1`,
        /// `"m" with subresource "status" using v1`.
        public var conflictDescription: String {
            var s = quoted(manager)
            if !subresource.isEmpty { s += " with subresource \(quoted(subresource))" }
            if operation == .update { s += " using \(apiVersion)" }
            return s
        }
    }

    public var identity: Identity {
        Identity(manager: manager, operation: operation, subresource: subresource,
                 apiVersion: operation == .apply ? "" : apiVersion)
    }

    /// The wire form, in Kubernetes' member order.
    public var json: JSONValue {
        var o: [String: JSONValue] = [
            "operation": .string(operation.rawValue),
            "apiVersion": .string(apiVersion),
            "fieldsType": .string("FieldsV1"),
            "fieldsV1": decoded?.fieldsV1 ?? encoded ?? .object([:]),
        ]
        if !manager.isEmpty { o["manager"] = .string(manager) }
        if let time { o["time"] = .string(time) }
        if !subresource.isEmpty { o["subresource"] = .string(subresource) }
        return .object(o)
    }

    /// Reads one wire entry; with `fieldsLazily`, its `fieldsV1` is decoded when first used
    /// (for entries already checked, as stored objects' are).
    public init(json: JSONValue, fieldsLazily: Bool = false) throws(FieldsV1Error) {
        guard case .object(let o) = json else { throw FieldsV1Error(message: "a managedFields entry must be an object") }
        guard let op = o["operation"]?.stringValue, let operation = Operation(rawValue: op) else {
            throw FieldsV1Error(message: "managedFields operation must be Apply or Update")
        }
        if let type = o["fieldsType"]?.stringValue, type != "FieldsV1" {
            throw FieldsV1Error(message: "managedFields fieldsType \"\(type)\" is not supported (only FieldsV1)")
        }
        let fieldsV1 = o["fieldsV1"] ?? .object([:])
        manager = o["manager"]?.stringValue ?? ""
        self.operation = operation
        apiVersion = o["apiVersion"]?.stringValue ?? ""
        time = o["time"]?.stringValue
        subresource = o["subresource"]?.stringValue ?? ""
        if fieldsLazily {
            encoded = fieldsV1
        } else {
            decoded = try FieldSet(fieldsV1: fieldsV1)
        }
    }

    /// Reads `metadata.managedFields`.
    public static func decode(_ value: JSONValue?, fieldsLazily: Bool = false) throws(FieldsV1Error) -> [ManagedFieldsEntry] {
        guard let value, value != .null else { return [] }
        guard case .array(let items) = value else { throw FieldsV1Error(message: "managedFields must be a list") }
        var out: [ManagedFieldsEntry] = []
        for item in items { out.append(try ManagedFieldsEntry(json: item, fieldsLazily: fieldsLazily)) }
        return out
    }

    /// Encodes entries in Kubernetes' order: appliers first, then by time, manager, version.
    public static func encode(_ entries: [ManagedFieldsEntry]) -> JSONValue {
        .array(entries.sorted { a, b in
            if a.operation != b.operation { return a.operation == .apply }
            if (a.time ?? "") != (b.time ?? "") { return (a.time ?? "") < (b.time ?? "") }
            if a.manager != b.manager { return a.manager < b.manager }
            if a.apiVersion != b.apiVersion { return a.apiVersion < b.apiVersion }
            return a.subresource < b.subresource
        }.map(\.json))
    }
}

func quoted(_ s: String) -> String { String(decoding: JSONValue.string(s).serialized(), as: UTF8.self) }
