import CapstanAPI
import CapstanAPIMachinery
import CapstanStorage
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// How a list or watch reads: Kubernetes' `resourceVersion` and `resourceVersionMatch`.
public enum ReadConsistency: Sendable, Hashable {
    /// Unset: the latest state (read-your-writes).
    case latest
    /// `resourceVersion=0`: any recent state; served from the cache without waiting.
    case any
    /// `resourceVersion=N` (NotOlderThan) or with `resourceVersionMatch=Exact`.
    case notOlderThan(Int64)
    case exact(Int64)
}

public struct ListRequest: Sendable {
    public var namespace: String?
    public var consistency: ReadConsistency = .latest
    public var limit: Int?
    public var continueToken: String?
    /// Label and field selectors, compiled by the caller.
    public var filter: @Sendable (CacheEntry) -> Bool = { _ in true }
    /// Whether any selector is set (Kubernetes reports remainingItemCount only without them).
    public var hasSelector = false

    public init(namespace: String?) { self.namespace = namespace }
}

public struct ListPage: Sendable {
    public var items: [CacheEntry]
    public var revision: Int64
    public var continueToken: String?
    public var remainingItemCount: Int?
}

/// The continue token: the revision the list is read at and the key to start from.
struct ContinueToken: Codable {
    var rv: Int64
    var start: String

    func encoded() -> String {
        let json = #"{"v":"meta.k8s.io/v1","rv":\#(rv),"start":"# + String(decoding: JSONValue.string(start).serialized(), as: UTF8.self) + "}"
        return Data(json.utf8).base64EncodedString()
    }

    static func decode(_ token: String) throws(APIError) -> ContinueToken {
        guard let data = Data(base64Encoded: token), let v = try? JSONValue.parse(Array(data)),
              case .int(let rv)? = v["rv"], let start = v["start"]?.stringValue, rv > 0
        else { throw APIError.badRequest("continue key is not valid: invalid continue token") }
        return ContinueToken(rv: rv, start: start)
    }
}

extension Registry {
    // MARK: Get

    public func get(_ r: RegisteredResource, namespace: String?, name: String,
                    consistency: ReadConsistency = .latest) async throws(APIError) -> CacheEntry {
        switch consistency {
        case .any:
            break
        case .latest:
            try await sync(r)
        case .notOlderThan(let rv):
            try await waitFor(r, revision: rv)
        case .exact(let rv):
            let key = r.key.key(namespace: namespace, name: name)
            do {
                let result = try await storage.get(key, atRevision: rv)
                guard let kv = result.kv else { throw APIError.notFound(GroupResource(group: r.group, resource: r.plural), name: name) }
                return r.cache.makeEntry(kv)
            } catch let e as APIError {
                throw e
            } catch {
                throw Self.map(error, r, name: name)
            }
        }
        guard let e = r.cache.get(namespace: namespace, name: name) else {
            throw APIError.notFound(GroupResource(group: r.group, resource: r.plural), name: name)
        }
        return e
    }

    func sync(_ r: RegisteredResource) async throws(APIError) {
        do { try await r.cache.sync() } catch { throw Self.map(error, r, name: "") }
    }

    func waitFor(_ r: RegisteredResource, revision: Int64) async throws(APIError) {
        do { try await r.cache.wait(forRevision: revision) } catch { throw Self.map(error, r, name: "") }
    }

    // MARK: List

    public func list(_ r: RegisteredResource, _ request: ListRequest) async throws(APIError) -> ListPage {
        let filter = WatchFilter(namespace: request.namespace, matches: request.filter)
        if let token = request.continueToken, !token.isEmpty {
            let c = try ContinueToken.decode(token)
            // Nothing of this resource changed since the token's revision: the cache is that snapshot.
            let limit = request.limit.flatMap { $0 > 0 ? $0 : nil }
            if let page = r.cache.page(filter: filter, startKey: c.start, limit: limit,
                                       countRemaining: !request.hasSelector, ifRevision: c.rv) {
                return listPage(page)
            }
            return try await page(r, request, filter: filter, revision: c.rv, startKey: c.start)
        }
        switch request.consistency {
        case .any:
            // Served from the cache; Kubernetes ignores limit for resourceVersion=0.
            let (entries, revision) = r.cache.list(filter: filter)
            return ListPage(items: entries, revision: revision, continueToken: nil, remainingItemCount: nil)
        case .latest:
            try await sync(r)
        case .notOlderThan(let rv):
            try await waitFor(r, revision: rv)
        case .exact(let rv):
            return try await page(r, request, filter: filter, revision: rv, startKey: nil)
        }
        let limit = request.limit.flatMap { $0 > 0 ? $0 : nil }
        return listPage(r.cache.page(filter: filter, startKey: nil, limit: limit, countRemaining: !request.hasSelector)!)
    }

    /// A cache page as a list response: a continue token after its last entry when more follow.
    private func listPage(_ page: CachePage) -> ListPage {
        guard page.more, let last = page.entries.last else {
            return ListPage(items: page.entries, revision: page.revision, continueToken: nil, remainingItemCount: nil)
        }
        let token = ContinueToken(rv: page.revision, start: last.key + "\u{0}").encoded()
        return ListPage(items: page.entries, revision: page.revision, continueToken: token,
                        remainingItemCount: page.remaining)
    }

    /// A page read from storage at a fixed revision (continuations and exact reads).
    private func page(_ r: RegisteredResource, _ request: ListRequest, filter: WatchFilter, revision: Int64,
                      startKey: String?) async throws(APIError) -> ListPage {
        let prefix = r.key.prefix(namespace: request.namespace)
        let limit = request.limit.flatMap { $0 > 0 ? $0 : nil }
        var items: [CacheEntry] = []
        var start = startKey
        var more = false
        var remaining = 0
        do {
            // Selectors filter after reading; keep reading until the page is full or the range ends.
            while true {
                let want = limit.map { $0 - items.count } ?? 5000
                let result = try await storage.list(prefix: prefix, startKey: start, limit: max(want, 1), atRevision: revision)
                for kv in result.kvs {
                    let e = r.cache.makeEntry(kv)
                    if filter.matches(e) { items.append(e) }
                }
                more = result.more
                remaining = result.remaining
                guard more, let last = result.kvs.last else { break }
                start = last.key + "\u{0}"
                if let limit, items.count >= limit { break }
            }
        } catch {
            if let s = error as? StorageError, s.code == .compacted {
                throw APIError.expired(
                    "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.")
            }
            throw Self.map(error, r, name: "")
        }
        let token = more ? ContinueToken(rv: revision, start: start ?? "").encoded() : nil
        return ListPage(items: items, revision: revision, continueToken: token,
                        remainingItemCount: more && !request.hasSelector ? remaining : nil)
    }

    // MARK: Errors

    /// Storage failures as API errors.
    static func map(_ error: any Error, _ r: RegisteredResource, name: String) -> APIError {
        if let e = error as? APIError { return e }
        if let s = error as? StorageError {
            switch s.code {
            case .keyExists: return .alreadyExists(GroupResource(group: r.group, resource: r.plural), name: name)
            case .keyNotFound: return .notFound(GroupResource(group: r.group, resource: r.plural), name: name)
            case .conflict: return .objectModified(GroupResource(group: r.group, resource: r.plural), name: name)
            case .compacted: return .expired("too old resource version: \(s)")
            case .futureRevision: return .timeout("Too large resource version")
            case .valueTooLarge: return .requestEntityTooLarge("etcdserver: request is too large")
            case .unavailable: return .serviceUnavailable("storage is unavailable: \(s)")
            default: return .internalError("storage: \(s)")
            }
        }
        if let w = error as? WatchCacheError {
            switch w.code {
            case .tooOld: return .expired(w.description)
            default: return .serviceUnavailable(w.description)
            }
        }
        return .internalError("\(error)")
    }
}
