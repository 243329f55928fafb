import CapstanAPI

/// Options of a list: selectors, paging, and which resourceVersion to read at.
public struct ListOptions: Sendable, Hashable {
    /// `app=web,tier in (a,b)`.
    public var labelSelector: String?
    /// `spec.nodeName=node-1,status.phase!=Running`.
    public var fieldSelector: String?
    /// At most this many items; more come with ``ObjectList/continueToken``.
    public var limit: Int?
    /// The token of the previous page.
    public var continueToken: String?
    /// `"0"` reads from the server's cache, any other value at least that recent; nil the latest.
    public var resourceVersion: String?
    /// `NotOlderThan` or `Exact`, with ``resourceVersion``.
    public var resourceVersionMatch: String?
    public var timeoutSeconds: Int?

    public init(labelSelector: String? = nil, fieldSelector: String? = nil, limit: Int? = nil, continueToken: String? = nil,
                resourceVersion: String? = nil, resourceVersionMatch: String? = nil, timeoutSeconds: Int? = nil) {
        self.labelSelector = labelSelector
        self.fieldSelector = fieldSelector
        self.limit = limit
        self.continueToken = continueToken
        self.resourceVersion = resourceVersion
        self.resourceVersionMatch = resourceVersionMatch
        self.timeoutSeconds = timeoutSeconds
    }

    var query: APIClient.Query {
        var q = APIClient.Query()
        if let labelSelector, !labelSelector.isEmpty { q.append("labelSelector", labelSelector) }
        if let fieldSelector, !fieldSelector.isEmpty { q.append("fieldSelector", fieldSelector) }
        if let limit { q.append("limit", String(limit)) }
        if let continueToken, !continueToken.isEmpty { q.append("continue", continueToken) }
        if let resourceVersion { q.append("resourceVersion", resourceVersion) }
        if let resourceVersionMatch { q.append("resourceVersionMatch", resourceVersionMatch) }
        if let timeoutSeconds { q.append("timeoutSeconds", String(timeoutSeconds)) }
        return q
    }
}

/// Options of a watch.
public struct WatchOptions: Sendable, Hashable {
    public var labelSelector: String?
    public var fieldSelector: String?
    /// Changes after this resourceVersion; nil (or "0") starts with ADDED events for every current object.
    public var resourceVersion: String?
    /// Lets the server send BOOKMARK events that advance the resourceVersion without a change.
    public var allowBookmarks: Bool
    /// The server ends the watch after this long (it chooses when nil).
    public var timeoutSeconds: Int?

    public init(labelSelector: String? = nil, fieldSelector: String? = nil, resourceVersion: String? = nil,
                allowBookmarks: Bool = false, timeoutSeconds: Int? = nil) {
        self.labelSelector = labelSelector
        self.fieldSelector = fieldSelector
        self.resourceVersion = resourceVersion
        self.allowBookmarks = allowBookmarks
        self.timeoutSeconds = timeoutSeconds
    }

    var query: APIClient.Query {
        var q: APIClient.Query = ["watch": "true"]
        if let labelSelector, !labelSelector.isEmpty { q.append("labelSelector", labelSelector) }
        if let fieldSelector, !fieldSelector.isEmpty { q.append("fieldSelector", fieldSelector) }
        if let resourceVersion, !resourceVersion.isEmpty { q.append("resourceVersion", resourceVersion) }
        if allowBookmarks { q.append("allowWatchBookmarks", "true") }
        if let timeoutSeconds { q.append("timeoutSeconds", String(timeoutSeconds)) }
        return q
    }
}

/// Options of create, update and patch.
public struct WriteOptions: Sendable, Hashable {
    /// Validate and default, but do not persist (`dryRun=All`).
    public var dryRun: Bool
    /// Who makes the change, for managedFields.
    public var fieldManager: String?
    /// `Ignore`, `Warn` or `Strict`.
    public var fieldValidation: String?

    public init(dryRun: Bool = false, fieldManager: String? = nil, fieldValidation: String? = nil) {
        self.dryRun = dryRun
        self.fieldManager = fieldManager
        self.fieldValidation = fieldValidation
    }

    var query: APIClient.Query {
        var q = APIClient.Query()
        if dryRun { q.append("dryRun", "All") }
        if let fieldManager, !fieldManager.isEmpty { q.append("fieldManager", fieldManager) }
        if let fieldValidation, !fieldValidation.isEmpty { q.append("fieldValidation", fieldValidation) }
        return q
    }
}

/// Options of a delete, sent as a `DeleteOptions` body.
public struct DeleteOptions: Sendable, Hashable {
    /// How dependents are deleted; open for growth.
    public struct PropagationPolicy: RawRepresentable, Sendable, Hashable {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public static let orphan = PropagationPolicy(rawValue: "Orphan")
        public static let background = PropagationPolicy(rawValue: "Background")
        public static let foreground = PropagationPolicy(rawValue: "Foreground")
    }

    public var propagationPolicy: PropagationPolicy?
    /// 0 deletes at once; nil uses the object's default.
    public var gracePeriodSeconds: Int64?
    /// Delete only if the object still has this UID.
    public var preconditionUID: String?
    /// Delete only if the object is still at this resourceVersion.
    public var preconditionResourceVersion: String?
    public var dryRun: Bool

    public init(propagationPolicy: PropagationPolicy? = nil, gracePeriodSeconds: Int64? = nil, preconditionUID: String? = nil,
                preconditionResourceVersion: String? = nil, dryRun: Bool = false) {
        self.propagationPolicy = propagationPolicy
        self.gracePeriodSeconds = gracePeriodSeconds
        self.preconditionUID = preconditionUID
        self.preconditionResourceVersion = preconditionResourceVersion
        self.dryRun = dryRun
    }

    /// The `DeleteOptions` body; nil when every option is at its default.
    var body: [UInt8]? {
        var o: [String: JSONValue] = [:]
        if let propagationPolicy { o["propagationPolicy"] = .string(propagationPolicy.rawValue) }
        if let gracePeriodSeconds { o["gracePeriodSeconds"] = .int(gracePeriodSeconds) }
        var preconditions: [String: JSONValue] = [:]
        if let preconditionUID { preconditions["uid"] = .string(preconditionUID) }
        if let preconditionResourceVersion { preconditions["resourceVersion"] = .string(preconditionResourceVersion) }
        if !preconditions.isEmpty { o["preconditions"] = .object(preconditions) }
        if dryRun { o["dryRun"] = .array([.string("All")]) }
        if o.isEmpty { return nil }
        o["kind"] = .string("DeleteOptions")
        o["apiVersion"] = .string("v1")
        return JSONValue.object(o).serialized()
    }
}

/// A patch: its type (the request's content type) and its body.
public struct Patch: Sendable, Hashable {
    /// The patch format; open for growth.
    public struct PatchType: RawRepresentable, Sendable, Hashable {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        /// RFC 6902: a list of operations.
        public static let json = PatchType(rawValue: "application/json-patch+json")
        /// RFC 7386: an object merged in; `null` removes.
        public static let merge = PatchType(rawValue: "application/merge-patch+json")
        /// Kubernetes' merge that merges lists by their patch merge keys.
        public static let strategicMerge = PatchType(rawValue: "application/strategic-merge-patch+json")
        /// Server-side apply; needs a field manager.
        public static let apply = PatchType(rawValue: "application/apply-patch+yaml")
    }

    public var type: PatchType
    public var body: [UInt8]
    /// For apply: take ownership of conflicting fields.
    public var force: Bool

    public init(type: PatchType, body: [UInt8], force: Bool = false) {
        self.type = type
        self.body = body
        self.force = force
    }

    /// A JSON merge patch.
    public static func merge(_ patch: JSONValue) -> Patch { Patch(type: .merge, body: patch.serialized()) }
    /// A strategic merge patch.
    public static func strategicMerge(_ patch: JSONValue) -> Patch { Patch(type: .strategicMerge, body: patch.serialized()) }
    /// A JSON patch: `[{"op":"replace","path":"/spec/replicas","value":3}]`.
    public static func json(_ operations: [JSONValue]) -> Patch { Patch(type: .json, body: JSONValue.array(operations).serialized()) }
    /// A server-side apply of the whole intended object (JSON is valid YAML); pass a field manager in ``WriteOptions``.
    public static func apply(_ object: JSONValue, force: Bool = false) -> Patch {
        Patch(type: .apply, body: object.serialized(), force: force)
    }
}
