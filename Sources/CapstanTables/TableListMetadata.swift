import CapstanAPI

/// The Table's `metadata` (a ListMeta): copied from the list the rows came from, or from the
/// single object for a get or a watch event.
public struct TableListMetadata: Sendable, Hashable {
    public var resourceVersion: String
    public var `continue`: String
    public var remainingItemCount: Int64?

    public init(resourceVersion: String = "", continue: String = "", remainingItemCount: Int64? = nil) {
        self.resourceVersion = resourceVersion
        self.continue = `continue`
        self.remainingItemCount = remainingItemCount
    }

    /// The metadata of a Table printed from one object: its resourceVersion.
    public init(object: JSONValue) {
        self.init(resourceVersion: JSONNode(object)["metadata"]["resourceVersion"].text)
    }

    /// Empty fields are left out, as Go's `omitempty` does.
    public var json: JSONValue {
        var o: [String: JSONValue] = [:]
        if !resourceVersion.isEmpty { o["resourceVersion"] = .string(resourceVersion) }
        if !`continue`.isEmpty { o["continue"] = .string(`continue`) }
        if let n = remainingItemCount { o["remainingItemCount"] = .int(n) }
        return .object(o)
    }
}
