import CapstanAPI
import CapstanAPIMachinery
import CapstanStorage

extension Registry {
    /// `namespaces/<name>/finalize`: replaces `spec.finalizers`; a terminating namespace with no
    /// finalizers left is removed.
    public func finalizeNamespace(name: String, body: [UInt8], options: WriteOptions) async throws(APIError) -> WriteResult {
        guard let r = resource(group: "", version: "v1", plural: "namespaces") else {
            throw APIError.notFound(GroupResource(resource: "namespaces"), name: name)
        }
        let given = try decodeObject(body, r)
        let finalizers = given["spec"]?["finalizers"] ?? .array([])
        let key = r.key.key(namespace: nil, name: name)
        for _ in 0..<16 {
            let current: KeyValue
            do {
                guard let kv = try await storage.get(key).kv else {
                    throw APIError.notFound(r.groupResource, name: name)
                }
                current = kv
            } catch {
                throw Self.map(error, r, name: name)
            }
            guard case .object(var o)? = try? JSONValue.parse(current.value) else {
                throw APIError.internalError("stored namespace \(name) does not decode")
            }
            o.edit("spec") { $0["finalizers"] = finalizers.arrayValue?.isEmpty == false ? finalizers : nil }
            let meta = o.object("metadata") ?? [:]
            do {
                if meta["deletionTimestamp"] != nil, (finalizers.arrayValue ?? []).isEmpty,
                   (meta.array("finalizers") ?? []).isEmpty {
                    if options.dryRun { return WriteResult(entry: r.cache.makeEntry(current), created: false, warnings: []) }
                    let deleted = try await storage.delete(key, expectedModRevision: current.modRevision)
                    let last = KeyValue(key: key, value: StoredObject.encode(.object(o)), createRevision: current.createRevision,
                                        modRevision: deleted.revision)
                    return WriteResult(entry: r.cache.makeEntry(last), created: false, warnings: [])
                }
                let bytes = StoredObject.encode(.object(o))
                if options.dryRun || bytes == current.value {
                    return WriteResult(entry: r.cache.makeEntry(current), created: false, warnings: [])
                }
                let kv = try await storage.update(key, value: bytes, expectedModRevision: current.modRevision, lease: 0)
                return WriteResult(entry: r.cache.makeEntry(kv), created: false, warnings: [])
            } catch let s as StorageError where s.code == .conflict {
                continue
            } catch {
                throw Self.map(error, r, name: name)
            }
        }
        throw APIError.objectModified(r.groupResource, name: name)
    }
}
