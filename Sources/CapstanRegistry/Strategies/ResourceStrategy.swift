import CapstanAPI
import CapstanAPIMachinery

/// What a write is about to do, for strategies that need the request's facts.
public struct WriteContext: Sendable {
    /// Seconds since the epoch, from the registry's clock.
    public let now: Int64
    public let namespace: String?
    public let registry: Registry
}

/// Per-kind behaviour on top of the schema: defaults, semantic validation and the fields
/// selectors can use. Objects are JSON trees; `[String: JSONValue]` is the object's top level.
public protocol ResourceStrategy: Sendable {
    /// Kubernetes' defaults for a new or updated object (after pruning).
    func applyDefaults(_ object: inout [String: JSONValue])
    /// Adjusts a new object before validation (status reset, allocations).
    func prepareForCreate(_ object: inout [String: JSONValue], context: WriteContext) async throws(APIError)
    /// Adjusts an update before validation; `old` is the stored object.
    func prepareForUpdate(_ object: inout [String: JSONValue], old: [String: JSONValue], context: WriteContext)
    /// Semantic validation beyond the schema; `old` is set for updates.
    func validate(_ object: [String: JSONValue], old: [String: JSONValue]?) -> [FieldError]
    /// Runs after a delete has removed the object (allocations released).
    func afterDelete(_ object: [String: JSONValue], context: WriteContext) async
}

extension ResourceStrategy {
    public func applyDefaults(_ object: inout [String: JSONValue]) {}
    public func prepareForCreate(_ object: inout [String: JSONValue], context: WriteContext) async throws(APIError) {}
    public func prepareForUpdate(_ object: inout [String: JSONValue], old: [String: JSONValue], context: WriteContext) {}
    public func validate(_ object: [String: JSONValue], old: [String: JSONValue]?) -> [FieldError] { [] }
    public func afterDelete(_ object: [String: JSONValue], context: WriteContext) async {}
}

/// The behaviour of resources without special rules.
public struct GenericStrategy: ResourceStrategy {
    public init() {}
}

/// Resources with a status subresource reset status on create, as Kubernetes' strategies do.
public struct StatusResettingStrategy: ResourceStrategy {
    let defaults: @Sendable (inout [String: JSONValue]) -> Void

    public init(defaults: @escaping @Sendable (inout [String: JSONValue]) -> Void = { _ in }) {
        self.defaults = defaults
    }

    public func applyDefaults(_ object: inout [String: JSONValue]) { defaults(&object) }

    public func prepareForCreate(_ object: inout [String: JSONValue], context: WriteContext) async throws(APIError) {
        object["status"] = nil
    }
}
