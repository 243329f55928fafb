import CapstanAPI
import CapstanAPIMachinery
import CapstanStorage

public struct DeleteRequest: Sendable {
    public var gracePeriodSeconds: Int64?
    /// `Orphan`, `Background` or `Foreground`.
    public var propagationPolicy: String?
    public var preconditionUID: String?
    public var preconditionResourceVersion: String?
    public var dryRun = false

    public init() {}
}

public enum DeleteOutcome: Sendable {
    /// The object is gone; the entry is its last state.
    case deleted(CacheEntry)
    /// Deletion started (finalizers or a grace period remain); the entry is the updated object.
    case pending(CacheEntry)
}

extension Registry {
    public func delete(_ r: RegisteredResource, namespace: String?, name: String,
                       _ request: DeleteRequest) async throws(APIError) -> DeleteOutcome {
        if r.kind == "Namespace", r.group.isEmpty, Self.undeletableNamespaces.contains(name) {
            throw APIError.forbidden(r.groupResource, name: name, reason: "this namespace may not be deleted")
        }
        let key = r.key.key(namespace: namespace, name: name)
        for _ in 0..<16 {
            let current = try await storedValue(r, key: key, name: name)
            guard case .object(var o)? = try? JSONValue.parse(current.value) else {
                throw APIError.internalError("stored object \(key) does not decode")
            }
            var meta = o.object("metadata") ?? [:]
            if let uid = request.preconditionUID, uid != meta.string("uid") {
                throw APIError.conflict(GroupResource(group: r.group, resource: r.plural), name: name,
                    message: "Precondition failed: UID in precondition: \(uid), UID in object meta: \(meta.string("uid") ?? "")")
            }
            if let rv = request.preconditionResourceVersion, rv != String(current.modRevision) {
                throw APIError.conflict(GroupResource(group: r.group, resource: r.plural), name: name,
                    message: "Precondition failed: ResourceVersion in precondition: \(rv), ResourceVersion in object meta: \(current.modRevision)")
            }

            var finalizers = (meta.array("finalizers") ?? []).compactMap(\.stringValue)
            let alreadyDeleting = meta["deletionTimestamp"] != nil
            switch request.propagationPolicy {
            case "Orphan"?:
                if !finalizers.contains("orphan") { finalizers.append("orphan") }
                finalizers.removeAll { $0 == "foregroundDeletion" }
            case "Foreground"?:
                if !finalizers.contains("foregroundDeletion") { finalizers.append("foregroundDeletion") }
                finalizers.removeAll { $0 == "orphan" }
            default:
                break
            }
            // Pods bound to a node stop gracefully: the node agent finishes the deletion.
            var grace: Int64 = 0
            if r.kind == "Pod", r.group.isEmpty, o.object("spec")?.string("nodeName") != nil,
               !Self.isTerminal(o) {
                grace = request.gracePeriodSeconds ?? o.object("spec")?.int("terminationGracePeriodSeconds") ?? 30
                if let existing = meta.int("deletionGracePeriodSeconds"), alreadyDeleting { grace = min(grace, existing) }
            }
            if r.kind == "Namespace", r.group.isEmpty {
                if !(o.object("spec")?.array("finalizers") ?? []).isEmpty || !finalizers.isEmpty || !alreadyDeleting {
                    o.edit("status") { $0["phase"] = .string("Terminating") }
                }
            }
            let namespaceFinalizing = r.kind == "Namespace" && !(o.object("spec")?.array("finalizers") ?? []).isEmpty

            if finalizers.isEmpty && grace == 0 && !namespaceFinalizing {
                if request.dryRun { return .deleted(r.cache.makeEntry(current)) }
                do {
                    let result = try await storage.delete(key, expectedModRevision: current.modRevision)
                    await r.strategy.afterDelete(o, context: context(namespace: namespace))
                    let last = KeyValue(key: key, value: current.value, createRevision: current.createRevision,
                                        modRevision: result.revision)
                    return .deleted(r.cache.makeEntry(last))
                } catch let s as StorageError where s.code == .conflict {
                    continue
                } catch {
                    throw Self.map(error, r, name: name)
                }
            }
            // Deletion is pending: record it and let finalizers or the node agent finish.
            if !alreadyDeleting {
                meta["deletionTimestamp"] = .string(MetaV1.Time(secondsSinceEpoch: now() + grace).rfc3339)
                // Starting deletion counts as a spec change, as Kubernetes records it.
                if r.hasSpec, let generation = meta.int("generation") { meta["generation"] = .int(generation + 1) }
            }
            meta["deletionGracePeriodSeconds"] = .int(grace)
            meta["finalizers"] = finalizers.isEmpty ? nil : .array(finalizers.map(JSONValue.string))
            o["metadata"] = .object(meta)
            let bytes = StoredObject.encode(.object(o))
            if request.dryRun || bytes == current.value {
                return .pending(r.cache.makeEntry(KeyValue(key: key, value: bytes, createRevision: current.createRevision,
                                                           modRevision: current.modRevision)))
            }
            do {
                let kv = try await storage.update(key, value: bytes, expectedModRevision: current.modRevision, lease: 0)
                return .pending(r.cache.makeEntry(kv))
            } catch let s as StorageError where s.code == .conflict {
                continue
            } catch {
                throw Self.map(error, r, name: name)
            }
        }
        throw APIError.objectModified(GroupResource(group: r.group, resource: r.plural), name: name)
    }

    /// Deletes every object a list request selects; returns each outcome.
    public func deleteCollection(_ r: RegisteredResource, _ list: ListRequest,
                                 _ request: DeleteRequest) async throws(APIError) -> [DeleteOutcome] {
        var all = list
        all.limit = nil
        all.continueToken = nil
        let page = try await self.list(r, all)
        var out: [DeleteOutcome] = []
        for e in page.items {
            do {
                out.append(try await delete(r, namespace: e.namespace, name: e.name, request))
            } catch let error where error.code == 404 {
                continue
            }
        }
        return out
    }

    /// The namespaces every cluster keeps.
    static let undeletableNamespaces: Set<String> = ["default", "kube-system", "kube-public"]

    static func isTerminal(_ pod: [String: JSONValue]) -> Bool {
        let phase = pod.object("status")?.string("phase")
        return phase == "Succeeded" || phase == "Failed"
    }
}

extension DeleteRequest {
    /// Takes what a DeleteOptions object says (a request body, an Eviction's `deleteOptions`):
    /// grace period, propagation (`orphanDependents` as Orphan), preconditions, dry run.
    public mutating func apply(options o: [String: JSONValue]) {
        if let g = o.int("gracePeriodSeconds") { gracePeriodSeconds = g }
        if let p = o.string("propagationPolicy") { propagationPolicy = p }
        if o["orphanDependents"] == .bool(true) && propagationPolicy == nil { propagationPolicy = "Orphan" }
        if let pre = o.object("preconditions") {
            preconditionUID = pre.string("uid")
            preconditionResourceVersion = pre.string("resourceVersion")
        }
        if let dry = o.array("dryRun"), dry.contains(.string("All")) { dryRun = true }
    }

    /// Refuses a propagation policy Kubernetes does not know.
    public func validate() throws(APIError) {
        if let p = propagationPolicy, !["Orphan", "Background", "Foreground"].contains(p) {
            throw APIError.badRequest("propagationPolicy: Unsupported value: \"\(p)\": supported values: \"Foreground\", \"Background\", \"Orphan\"")
        }
    }
}
