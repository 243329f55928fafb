import CapstanAPI

/// Server-side apply and field ownership for one resource, as pure functions of objects and their
/// `managedFields`:
/// - ``update(live:new:managed:manager:time:)`` records what a create, update or patch changed
///   (operation `Update`); the writer takes those fields from every other manager, never conflicts.
/// - ``apply(live:config:managed:manager:force:time:)`` merges an applied configuration by the
///   schema (operation `Apply`), fails with ``ApplyConflictError`` when it changes a field another
///   manager owns (unless forced, which takes the field over), and removes the fields this manager
///   applied before but no longer applies when nobody else owns them.
public struct FieldManager: Sendable {
    public let schema: ApplySchema
    public let apiVersion: String
    /// `status` when the writes go through that subresource.
    public let subresource: String
    /// Whether the resource has a status subresource (then the main resource never owns status,
    /// and the status subresource owns only status).
    public let hasStatus: Bool

    public init(schema: ApplySchema, apiVersion: String, subresource: String = "", hasStatus: Bool) {
        self.schema = schema
        self.apiVersion = apiVersion
        self.subresource = subresource
        self.hasStatus = hasStatus
    }

    public struct ApplyResult: Sendable {
        public var object: JSONValue
        public var managedFields: [ManagedFieldsEntry]
    }

    /// The manager named by the initial segment of a User-Agent (`kubectl/v1.33.1 (linux/amd64)`
    /// manages as `kubectl`) when the request names none.
    public static func managerName(fieldManager: String?, userAgent: String) -> String {
        if let fieldManager, !fieldManager.isEmpty { return fieldManager }
        return String(userAgent.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
    }

    /// The managed fields an update starts from: the request's when it changed them on purpose, none
    /// when it reset them (`[]` or `[{}]`), otherwise the live object's.
    public static func baseEntries(live: JSONValue?, request: JSONValue?) -> [ManagedFieldsEntry] {
        // The live entries were checked when they were stored: their field sets are read when used.
        let liveValue = live?["metadata"]?["managedFields"]
        let liveEntries = (try? ManagedFieldsEntry.decode(liveValue, fieldsLazily: true)) ?? []
        // A patch's result carries the live entries unchanged.
        guard let given = request?["metadata"]?["managedFields"], given != .null, given != liveValue else { return liveEntries }
        if given == .array([]) || given == .array([.object([:])]) { return [] }
        guard let entries = try? ManagedFieldsEntry.decode(given), !entries.isEmpty else { return liveEntries }
        return entries
    }

    // MARK: Update

    public func update(live: JSONValue?, new: JSONValue, managed: [ManagedFieldsEntry], manager: String,
                       time: String) -> [ManagedFieldsEntry] {
        let scopedNew = scoped(new)
        let comparison = filtered(schema.compare(live.map(scoped) ?? schema.zeroValue(like: scopedNew), scopedNew))
        var managers = Self.byIdentity(managed)
        let me = ManagedFieldsEntry.Identity(manager: manager, operation: .update, subresource: subresource, apiVersion: apiVersion)
        let changed = comparison.modified.union(comparison.added)
        for (id, entry) in managers where id != me && !disjoint(entry) {
            managers[id]?.fields = entry.fields.subtracting(changed).subtracting(comparison.removed)
        }
        let previous = managers[me]
        let fields = filtered((previous?.fields ?? FieldSet()).subtracting(comparison.removed).union(changed))
        managers[me] = ManagedFieldsEntry(manager: manager, operation: .update, apiVersion: apiVersion,
                                          time: comparison.isSame ? previous?.time ?? time : time,
                                          subresource: subresource, fields: fields)
        return managers.values.filter { $0.hasFields }
    }

    /// The part of an object this subresource's writes own, the only part an update compares:
    /// `status` through the status subresource; the rest, without `status`, through the main
    /// resource when it has a status subresource; without `metadata.managedFields` either way.
    func scoped(_ value: JSONValue) -> JSONValue {
        guard case .object(var o) = value else { return value }
        if subresource == "status" {
            return .object(o["status"].map { ["status": $0] } ?? [:])
        }
        if hasStatus { o["status"] = nil }
        return stripped(.object(o))
    }

    /// Whether an entry cannot own anything this write changes: with a status subresource, the
    /// main resource's managers own no status and the status subresource's own only status.
    func disjoint(_ entry: ManagedFieldsEntry) -> Bool {
        func splitByStatus(_ s: String) -> Bool { s.isEmpty || s == "status" }
        return hasStatus && entry.subresource != subresource && splitByStatus(entry.subresource) && splitByStatus(subresource)
    }

    // MARK: Apply

    public func apply(live: JSONValue?, config: JSONValue, managed: [ManagedFieldsEntry], manager: String, force: Bool,
                      time: String) throws(ApplyConflictError) -> ApplyResult {
        let liveObject = stripped(live)
        let configObject = stripped(config)
        var managers = Self.byIdentity(managed)
        if let liveObject, managers.isEmpty {
            // An object written before fields were tracked: its fields so far belong to one manager.
            let id = ManagedFieldsEntry.Identity(manager: "before-first-apply", operation: .update, subresource: subresource,
                                                 apiVersion: apiVersion)
            managers[id] = ManagedFieldsEntry(manager: id.manager, operation: .update, apiVersion: apiVersion, time: time,
                                              subresource: subresource, fields: filtered(schema.fieldSet(of: liveObject)))
        }
        let me = ManagedFieldsEntry.Identity(manager: manager, operation: .apply, subresource: subresource, apiVersion: "")
        let previous = managers[me]
        let applied = filtered(schema.fieldSet(of: configObject))
        var result = schema.merge(liveObject, configObject) ?? configObject
        managers[me] = ManagedFieldsEntry(manager: manager, operation: .apply, apiVersion: apiVersion, time: time,
                                          subresource: subresource, fields: applied)

        // Fields this manager applied before and dropped now go, unless someone else owns them.
        if let last = previous?.fields, !last.isEmpty {
            let owned = managers.values.reduce(FieldSet()) { $0.union($1.fields) }
            let dropped = last.subtracting(owned)
            if !dropped.isEmpty { result = schema.removing(dropped, keeping: owned, from: result) }
        }

        let comparison = filtered(schema.compare(liveObject, result))
        let changed = comparison.modified.union(comparison.added)
        var conflicts: [ApplyConflictError.Conflict] = []
        var taken: [ManagedFieldsEntry.Identity: FieldSet] = [:]
        for (id, entry) in managers where id != me {
            let overlap = entry.fields.intersection(changed)
            if !overlap.isEmpty {
                taken[id] = overlap
                conflicts += overlap.paths.map { ApplyConflictError.Conflict(manager: id, path: $0) }
            }
        }
        if !force, !conflicts.isEmpty { throw ApplyConflictError(conflicts: conflicts) }
        for (id, entry) in managers where id != me {
            managers[id]?.fields = entry.fields.subtracting(taken[id] ?? FieldSet()).subtracting(comparison.removed)
        }
        if comparison.isSame, previous?.fields == applied, let old = previous?.time {
            managers[me]?.time = old
        }
        return ApplyResult(object: result, managedFields: managers.values.filter { $0.hasFields })
    }

    // MARK: Helpers

    static func byIdentity(_ entries: [ManagedFieldsEntry]) -> [ManagedFieldsEntry.Identity: ManagedFieldsEntry] {
        var out: [ManagedFieldsEntry.Identity: ManagedFieldsEntry] = [:]
        for e in entries {
            if let existing = out[e.identity] {
                out[e.identity]?.fields = existing.fields.union(e.fields)
            } else {
                out[e.identity] = e
            }
        }
        return out
    }

    /// The object without `metadata.managedFields` (never part of any field set).
    func stripped(_ value: JSONValue?) -> JSONValue? { value.map(stripped) }

    func stripped(_ value: JSONValue) -> JSONValue {
        guard case .object(var o) = value else { return value }
        if case .object(var meta)? = o["metadata"] {
            meta["managedFields"] = nil
            o["metadata"] = .object(meta)
        }
        return .object(o)
    }

    /// Metadata the server sets, type fields, and the part of the object this subresource does not own.
    static let neverOwned: FieldSet = {
        var s = FieldSet()
        for name in ["name", "namespace", "creationTimestamp", "selfLink", "uid", "clusterName", "generation",
                     "managedFields", "resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds"] {
            s.insert([.field("metadata"), .field(name)])
        }
        return s
    }()

    static let typeFields = FieldSet([ManagedFieldPath(fields: "apiVersion"), ManagedFieldPath(fields: "kind"),
                                      ManagedFieldPath(fields: "metadata")])

    func filtered(_ set: FieldSet) -> FieldSet {
        var s = set.subtracting(Self.typeFields).removingSubtrees(Self.neverOwned)
        if subresource == "status" {
            s = s.keepingOnly([.field("status")])
        } else if hasStatus {
            s = s.removingSubtrees(FieldSet([ManagedFieldPath(fields: "status")]))
        }
        return s
    }

    func filtered(_ c: FieldComparison) -> FieldComparison {
        var out = FieldComparison()
        out.added = filtered(c.added)
        out.modified = filtered(c.modified)
        out.removed = filtered(c.removed)
        return out
    }

    /// Sets `metadata.managedFields` (removes it when there are no entries).
    public static func setManagedFields(_ entries: [ManagedFieldsEntry], on object: inout [String: JSONValue]) {
        var meta = object["metadata"]?.objectValue ?? [:]
        meta["managedFields"] = entries.isEmpty ? nil : ManagedFieldsEntry.encode(entries)
        object["metadata"] = .object(meta)
    }
}
