import CapstanAPI

/// One page of a list: the items, the resourceVersion the list reflects (watch from it), and the
/// token of the next page.
public struct ObjectList<Object: Sendable>: Sendable {
    public var items: [Object]
    /// `metadata.resourceVersion`.
    public var resourceVersion: String
    /// `metadata.continue`; nil on the last page.
    public var continueToken: String?
    /// `metadata.remainingItemCount`, when the server counts them.
    public var remainingItemCount: Int64?

    public init(items: [Object], resourceVersion: String, continueToken: String? = nil, remainingItemCount: Int64? = nil) {
        self.items = items
        self.resourceVersion = resourceVersion
        self.continueToken = continueToken
        self.remainingItemCount = remainingItemCount
    }
}

extension ObjectList: Decodable where Object: Decodable {
    private enum CodingKeys: String, CodingKey { case metadata, items }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let metadata = try c.decodeIfPresent(MetaV1.ListMeta.self, forKey: .metadata)
        items = try c.decodeIfPresent([Object].self, forKey: .items) ?? []
        resourceVersion = metadata?.resourceVersion ?? ""
        continueToken = metadata?.continue.flatMap { $0.isEmpty ? nil : $0 }
        remainingItemCount = metadata?.remainingItemCount
    }
}

extension ObjectList where Object == JSONValue {
    /// A list document parsed with the byte-level parser.
    init(json: JSONValue) throws {
        guard case .object(let o) = json else {
            throw APIClientError(.invalidResponse, "a list response is not a JSON object")
        }
        let metadata = o["metadata"]
        var remaining: Int64?
        if case .int(let n)? = metadata?["remainingItemCount"] { remaining = n }
        self.init(items: o["items"]?.arrayValue ?? [],
                  resourceVersion: metadata?["resourceVersion"]?.stringValue ?? "",
                  continueToken: metadata?["continue"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 },
                  remainingItemCount: remaining)
    }
}
