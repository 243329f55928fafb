import CapstanAPI
import CapstanAPIMachinery

public struct WatchRequest: Sendable {
    public var namespace: String?
    /// `resourceVersion`: nil or 0 starts with the current objects as ADDED events.
    public var resourceVersion: Int64?
    public var filter: @Sendable (CacheEntry) -> Bool = { _ in true }

    public init(namespace: String?) { self.namespace = namespace }
}

extension Registry {
    /// Starts a watch from the resource's cache. With a resourceVersion, every change after it
    /// (410 Gone when it is older than the history kept); without, the current state first.
    public func watch(_ r: RegisteredResource, _ request: WatchRequest) async throws(APIError) -> CacheWatch {
        let filter = WatchFilter(namespace: request.namespace, matches: request.filter)
        if let rv = request.resourceVersion, rv > 0 {
            // A version the cache has not seen yet: wait for it (it was just written).
            if rv > r.cache.revision {
                do { try await r.cache.wait(forRevision: rv) } catch { throw Self.map(error, r, name: "") }
            }
            do {
                return try r.cache.watch(filter: filter, after: rv)
            } catch {
                throw Self.map(error, r, name: "")
            }
        }
        do {
            return try r.cache.watch(filter: filter, after: nil)
        } catch {
            throw Self.map(error, r, name: "")
        }
    }
}
