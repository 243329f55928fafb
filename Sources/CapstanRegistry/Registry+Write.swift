import CapstanAPI
import CapstanAPIMachinery
import CapstanStorage
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Options every write verb shares.
public struct WriteOptions: Sendable {
    /// `dryRun=All`: run defaulting, validation and admission, but never store.
    public var dryRun = false
    /// `fieldValidation`: how unknown and duplicate fields are treated.
    public var fieldValidation: FieldValidation = .warn
    public var fieldManager: String?
    /// `force=true` on an apply patch: take fields other managers own.
    public var force = false
    /// The client's User-Agent; its first segment names the field manager when the request does not.
    public var userAgent = ""
    /// Set by server-side apply, which writes `managedFields` itself.
    var managedFieldsSet = false

    public init() {}
}

public enum FieldValidation: String, Sendable {
    case ignore = "Ignore", warn = "Warn", strict = "Strict"
}

/// The outcome of a write: the stored object as served, and warnings for the client.
public struct WriteResult: Sendable {
    public var entry: CacheEntry
    /// True when the object was created (201) rather than updated (200).
    public var created: Bool
    public var warnings: [String]
}

/// Which part of an object a write addresses.
public enum Subresource: String, Sendable {
    case main = "", status
    /// pods/binding: the node assignment and the PodScheduled condition.
    case binding
}

extension Registry {
    // MARK: Create

    public func create(_ r: RegisteredResource, namespace: String?, body: [UInt8],
                       options: WriteOptions) async throws(APIError) -> WriteResult {
        var (object, duplicates) = try decodeObject(body, r, options)
        return try await create(r, namespace: namespace, object: &object, options: options, duplicateFields: duplicates)
    }

    public func create(_ r: RegisteredResource, namespace: String?, object: inout JSONValue, options: WriteOptions,
                       duplicateFields: [String] = []) async throws(APIError) -> WriteResult {
        try checkTypeMeta(&object, r)
        guard case .object(var o) = object else { throw APIError.badRequest("the body must be a JSON object") }
        var meta = o.object("metadata") ?? [:]
        if r.namespaced {
            guard let namespace else { throw APIError.badRequest("a namespace is required to create \(r.plural)") }
            if let given = meta.string("namespace"), !given.isEmpty, given != namespace {
                throw APIError.badRequest("the namespace of the provided object does not match the namespace sent on the request")
            }
            meta["namespace"] = .string(namespace)
        } else {
            meta["namespace"] = nil
        }
        let generateName = meta.string("generateName") ?? ""
        if (meta.string("name") ?? "").isEmpty {
            guard !generateName.isEmpty else {
                throw APIError.invalid(GroupKind(group: r.group, kind: r.kind), name: "", errors: [.required("metadata.name")])
            }
        }
        // System fields are set by the server, never by the client.
        meta["uid"] = .string(ObjectUID.random())
        meta["creationTimestamp"] = .string(timestamp)
        meta["resourceVersion"] = nil
        meta["deletionTimestamp"] = nil
        meta["deletionGracePeriodSeconds"] = nil
        meta["selfLink"] = nil
        if r.hasSpec { meta["generation"] = .int(1) } else { meta["generation"] = nil }
        let generated = (meta.string("name") ?? "").isEmpty
        if generated { meta["name"] = .string(generateName + randomSuffix()) }
        o["metadata"] = .object(meta)

        let warnings = try prune(&o, r, options: options, duplicateFields: duplicateFields)
        r.strategy.applyDefaults(&o)
        if r.namespaced, let namespace { try await requireActiveNamespace(namespace) }
        try await r.strategy.prepareForCreate(&o, context: context(namespace: namespace))
        if !options.managedFieldsSet { trackManagedFields(old: nil, new: &o, r, subresource: .main, options: options) }
        do {
            // What prepareForCreate reserved (ClusterIPs, node ports) is released unless stored.
            let result = try await store(r, namespace: namespace, object: o, generated: generated,
                                         generateName: generateName, options: options, warnings: warnings)
            if options.dryRun { await r.strategy.afterDelete(o, context: context(namespace: namespace)) }
            return result
        } catch {
            await r.strategy.afterDelete(o, context: context(namespace: namespace))
            throw error
        }
    }

    private func store(_ r: RegisteredResource, namespace: String?, object: [String: JSONValue], generated: Bool,
                       generateName: String, options: WriteOptions, warnings: [String]) async throws(APIError) -> WriteResult {
        var candidate = object
        try validate(candidate, old: nil, r)
        for _ in 0..<8 {
            let name = candidate.object("metadata")?.string("name") ?? ""
            let bytes = StoredObject.encode(.object(candidate))
            if options.dryRun {
                let entry = r.cache.makeEntry(KeyValue(key: r.key.key(namespace: namespace, name: name), value: bytes,
                                                       createRevision: 0, modRevision: 0))
                return WriteResult(entry: entry.withoutResourceVersion(bytes), created: true, warnings: warnings)
            }
            do {
                let key = r.key.key(namespace: namespace, name: name)
                let expected = r.cache.expect(key: key, value: bytes, object: .object(candidate))
                let kv: KeyValue
                do { kv = try await storage.create(key, value: bytes, lease: 0) } catch {
                    r.cache.abandon(expected)
                    throw error
                }
                return WriteResult(entry: r.cache.written(kv, expected), created: true, warnings: warnings)
            } catch let s as StorageError where s.code == .keyExists && generated {
                // Another object took the generated name: draw again, as Kubernetes retries.
                candidate.edit("metadata") { $0["name"] = .string(generateName + randomSuffix()) }
                continue
            } catch {
                throw Self.map(error, r, name: name)
            }
        }
        throw APIError.generateNameConflict(r.groupResource, name: generateName)
    }

    // MARK: Update

    /// PUT: replaces the object (or its status). A resourceVersion in the body is a precondition.
    public func update(_ r: RegisteredResource, namespace: String?, name: String, body: [UInt8],
                       subresource: Subresource, options: WriteOptions) async throws(APIError) -> WriteResult {
        var (object, duplicates) = try decodeObject(body, r, options)
        try checkTypeMeta(&object, r)
        guard case .object(var o) = object else { throw APIError.badRequest("the body must be a JSON object") }
        let meta = o.object("metadata") ?? [:]
        if let given = meta.string("name"), given != name {
            throw APIError.badRequest("the name of the object (\(given)) does not match the name on the URL (\(name))")
        }
        if r.namespaced, let given = meta.string("namespace"), !given.isEmpty, given != namespace {
            throw APIError.badRequest("the namespace of the provided object does not match the namespace sent on the request")
        }
        let precondition = try parseRV(meta.string("resourceVersion") ?? "")
        o.edit("metadata") { m in m["name"] = .string(name) }
        let replacement = o
        return try await replace(r, namespace: namespace, name: name, subresource: subresource, options: options,
                                 precondition: precondition, duplicateFields: duplicates) {
            (_: [String: JSONValue]) throws(APIError) in replacement
        }
    }

    /// Reads the current object, computes the new one with `transform`, and writes it with the
    /// current revision as precondition, retrying on conflicts when the caller gave none.
    func replace(
        _ r: RegisteredResource, namespace: String?, name: String, subresource: Subresource, options: WriteOptions,
        precondition: Int64?, duplicateFields: [String] = [], pruneResult: Bool = true, pruneMembers: Set<String>? = nil,
        transform: ([String: JSONValue]) throws(APIError) -> [String: JSONValue]
    ) async throws(APIError) -> WriteResult {
        let key = r.key.key(namespace: namespace, name: name)
        for attempt in 0..<16 {
            // The first attempt starts from the watch cache's copy, as kube-apiserver's updates
            // do: a stale copy fails the write's revision check (or the transform), and the
            // attempts after it read storage.
            var cached: CacheEntry? = nil
            if attempt == 0, !options.dryRun, let entry = r.cache.get(namespace: namespace, name: name),
               precondition == nil || precondition == entry.revision {
                cached = entry
            }
            // Read from storage when not from the cache.
            let current: KeyValue?
            let revision: Int64
            let old: [String: JSONValue]
            var oldServed: [String: JSONValue]
            if let cached {
                // The cache holds the served bytes: the stored object with its resourceVersion.
                guard case .object(let served)? = try? JSONValue.parse(cached.bytes) else { continue }
                current = nil
                revision = cached.revision
                oldServed = served
                var stored = served
                stored.edit("metadata") { $0["resourceVersion"] = nil }
                old = stored
            } else {
                let kv = try await storedValue(r, key: key, name: name)
                if let precondition, precondition != kv.modRevision {
                    throw APIError.objectModified(GroupResource(group: r.group, resource: r.plural), name: name)
                }
                guard case .object(let stored)? = try? JSONValue.parse(kv.value) else {
                    throw APIError.internalError("stored object \(key) does not decode")
                }
                current = kv
                revision = kv.modRevision
                old = stored
                oldServed = stored
                oldServed.edit("metadata") { $0["resourceVersion"] = .string(String(kv.modRevision)) }
            }
            var new: [String: JSONValue]
            let warnings: [String]
            do {
                new = try transform(oldServed)
                try checkTypeMetaObject(&new, r)
                // A transform that only sets server-made values on the stored (already pruned) object
                // has nothing to prune.
                warnings = pruneResult ? try prune(&new, r, options: options, duplicateFields: duplicateFields,
                                                   members: pruneMembers) : []
                try merge(&new, old: old, r, subresource: subresource)
                r.strategy.applyDefaults(&new)
                r.strategy.prepareForUpdate(&new, old: old, context: context(namespace: namespace))
                if !options.managedFieldsSet { trackManagedFields(old: old, new: &new, r, subresource: subresource, options: options) }
                try validate(new, old: old, r)
            } catch {
                // What a cached copy fails may pass on the current object.
                if cached != nil { continue }
                throw error
            }

            // Removing the last finalizer of an object being deleted deletes it (a namespace also
            // waits for its spec.finalizers, which the namespace controller clears via finalize).
            let newMeta = new.object("metadata") ?? [:]
            let namespaceFinalizing = r.kind == "Namespace" && r.group.isEmpty && !(new.object("spec")?.array("finalizers") ?? []).isEmpty
            if newMeta["deletionTimestamp"] != nil, (newMeta.array("finalizers") ?? []).isEmpty, !namespaceFinalizing,
               !(r.kind == "Pod" && (newMeta.int("deletionGracePeriodSeconds") ?? 0) > 0 && old.object("spec")?.string("nodeName") != nil) {
                // The delete needs the stored create revision: from storage.
                guard let current else { continue }
                if options.dryRun {
                    return WriteResult(entry: r.cache.makeEntry(current), created: false, warnings: warnings)
                }
                do {
                    let deleted = try await storage.delete(key, expectedModRevision: current.modRevision)
                    let last = KeyValue(key: key, value: StoredObject.encode(.object(new)), createRevision: current.createRevision,
                                        modRevision: deleted.revision)
                    await r.strategy.afterDelete(new, context: context(namespace: namespace))
                    return WriteResult(entry: r.cache.makeEntry(last), created: false, warnings: warnings)
                } catch let s as StorageError where s.code == .conflict && precondition == nil {
                    continue
                } catch {
                    throw Self.map(error, r, name: name)
                }
            }

            let bytes = StoredObject.encode(.object(new))
            if let cached, StoredObject.serve(bytes, revision: cached.revision) == cached.bytes {
                // No change to the cached copy: whether it is the current object decides, so ask storage.
                continue
            }
            if let current, bytes == current.value || options.dryRun {
                // No change: Kubernetes skips the write and keeps the resourceVersion.
                let kv = options.dryRun ? KeyValue(key: key, value: bytes, createRevision: current.createRevision,
                                                   modRevision: current.modRevision) : current
                return WriteResult(entry: r.cache.makeEntry(kv), created: false, warnings: warnings)
            }
            do {
                let expected = r.cache.expect(key: key, value: bytes, object: .object(new))
                let kv: KeyValue
                do { kv = try await storage.update(key, value: bytes, expectedModRevision: revision, lease: 0) } catch {
                    r.cache.abandon(expected)
                    throw error
                }
                return WriteResult(entry: r.cache.written(kv, expected), created: false, warnings: warnings)
            } catch let s as StorageError where s.code == .conflict && precondition == nil {
                continue
            } catch {
                throw Self.map(error, r, name: name)
            }
        }
        throw APIError.objectModified(GroupResource(group: r.group, resource: r.plural), name: name)
    }

    /// Keeps what an update must not change: system metadata, and status or spec depending on
    /// the subresource; bumps generation when the spec changed.
    func merge(_ new: inout [String: JSONValue], old: [String: JSONValue], _ r: RegisteredResource,
               subresource: Subresource) throws(APIError) {
        let oldMeta = old.object("metadata") ?? [:]
        if subresource == .status {
            // A status write changes status only.
            var merged = old
            merged["status"] = new["status"]
            new = merged
        } else if subresource == .binding {
            var merged = old
            merged["status"] = new["status"]
            merged.edit("spec") { $0["nodeName"] = new.object("spec")?["nodeName"] }
            new = merged
        } else if r.hasStatus {
            new["status"] = old["status"]
        }
        new.edit("metadata") { m in
            for field in ["uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation"] {
                m[field] = oldMeta[field]
            }
            m["namespace"] = oldMeta["namespace"]
            m["resourceVersion"] = nil
            m["selfLink"] = nil
            // Finalizers cannot be added once deletion started.
            if oldMeta["deletionTimestamp"] != nil {
                let before = Set(oldMeta.array("finalizers") ?? [])
                let after = m.array("finalizers") ?? []
                m["finalizers"] = after.isEmpty ? nil : .array(after.filter(before.contains))
            }
        }
        if r.hasSpec, subresource == .main, Self.specChanged(new, old) {
            let generation = (oldMeta.int("generation") ?? 0) + 1
            new.edit("metadata") { $0["generation"] = .int(generation) }
        }
    }

    /// Everything but metadata and status counts as the spec for generation purposes.
    static func specChanged(_ a: [String: JSONValue], _ b: [String: JSONValue]) -> Bool {
        var x = a
        var y = b
        for k in ["metadata", "status", "apiVersion", "kind"] {
            x[k] = nil
            y[k] = nil
        }
        return x != y
    }

    // MARK: Shared steps

    func decodeObject(_ body: [UInt8], _ r: RegisteredResource) throws(APIError) -> JSONValue {
        do {
            return try JSONValue.parse(body)
        } catch {
            throw APIError.badRequest("the body of the request was in an unknown format: \(error.description)")
        }
    }

    /// The body and, unless field validation is off, the paths of its duplicate fields, in one parse.
    func decodeObject(_ body: [UInt8], _ r: RegisteredResource, _ options: WriteOptions) throws(APIError) -> (JSONValue, [String]) {
        guard options.fieldValidation != .ignore else { return (try decodeObject(body, r), []) }
        var duplicates: [String] = []
        do {
            let value = try withUnsafeMutablePointer(to: &duplicates) { (p) throws(JSONParseError) -> JSONValue in
                try JSONValue.parse(body, duplicateKeys: p)
            }
            return (value, duplicates)
        } catch {
            throw APIError.badRequest("the body of the request was in an unknown format: \(error.description)")
        }
    }

    /// The stored key-value of an object, or 404.
    func storedValue(_ r: RegisteredResource, key: String, name: String) async throws(APIError) -> KeyValue {
        do {
            guard let kv = try await storage.get(key).kv else {
                throw APIError.notFound(GroupResource(group: r.group, resource: r.plural), name: name)
            }
            return kv
        } catch {
            throw Self.map(error, r, name: name)
        }
    }

    func checkTypeMeta(_ object: inout JSONValue, _ r: RegisteredResource) throws(APIError) {
        guard case .object(var o) = object else {
            throw APIError.badRequest("the body of the request must be a JSON object, not \(object.description.prefix(40))")
        }
        try checkTypeMetaObject(&o, r)
        object = .object(o)
    }

    func checkTypeMetaObject(_ o: inout [String: JSONValue], _ r: RegisteredResource) throws(APIError) {
        if let kind = o["kind"], kind != .string(r.kind), kind != .string("") {
            throw APIError.badRequest("the kind in the data (\(kind.stringValue ?? kind.description)) does not match the expected kind (\(r.kind))")
        }
        if let v = o["apiVersion"], v != .string(r.apiVersion), v != .string("") {
            throw APIError.badRequest("the API version in the data (\(v.stringValue ?? v.description)) does not match the expected API version (\(r.apiVersion))")
        }
        o["kind"] = .string(r.kind)
        o["apiVersion"] = .string(r.apiVersion)
        if o["metadata"] == nil || o["metadata"] == .null { o["metadata"] = .object([:]) }
        guard o["metadata"]?.objectValue != nil else { throw APIError.badRequest("metadata must be an object") }
    }

    /// Prunes unknown fields per the schema. Type errors are 400 BadRequest; schema violations
    /// 422 Invalid; unknown and duplicate fields fail strict validation and are warnings otherwise.
    ///
    /// With `members`, only those top-level members are walked: the rest of the object is the
    /// stored one, pruned when it was written (a merge patch changes only the members it names).
    func prune(_ o: inout [String: JSONValue], _ r: RegisteredResource, options: WriteOptions,
               duplicateFields: [String], members: Set<String>? = nil) throws(APIError) -> [String] {
        var result = SchemaWalker.Result()
        if let members {
            for name in members {
                let part = walker.walk(member: name, of: &o, definition: r.info.definition)
                result.typeErrors += part.typeErrors
                result.issues += part.issues
                result.unknownFields += part.unknownFields
            }
        } else {
            var value = JSONValue.object(o)
            o = [:]
            result = walker.walk(&value, definition: r.info.definition)
            o = value.objectValue ?? [:]
        }
        if let typeError = result.typeErrors.first {
            throw APIError.badRequest("\(r.kind) in version \"\(r.version)\" cannot be handled as a \(r.kind): \(typeError)")
        }
        let problems = duplicateFields.map { "duplicate field \"\($0)\"" }
            + result.unknownFields.map { "unknown field \"\($0)\"" }
        if options.fieldValidation == .strict, !problems.isEmpty {
            throw APIError.badRequest(
                "\(r.kind) in version \"\(r.version)\" cannot be handled as a \(r.kind): strict decoding error: "
                    + problems.joined(separator: ", "))
        }
        if !result.issues.isEmpty { throw invalid(r, o, result.issues) }
        return options.fieldValidation == .warn ? problems : []
    }

    func validate(_ o: [String: JSONValue], old: [String: JSONValue]?, _ r: RegisteredResource) throws(APIError) {
        var issues = MetadataValidation.validateObjectMeta(o["metadata"], namespaced: r.namespaced,
                                                           nameValidator: MetadataRules.nameValidator(for: r.info))
        issues += r.strategy.validate(o, old: old)
        if !issues.isEmpty { throw invalid(r, o, issues) }
    }

    func validateName(_ o: [String: JSONValue], _ r: RegisteredResource) throws(APIError) {
        let name = o.object("metadata")?.string("name") ?? ""
        let issues = MetadataRules.nameValidator(for: r.info).validate(name, prefix: false)
            .map { FieldError.invalid("metadata.name", value: name, $0) }
        if !issues.isEmpty { throw invalid(r, o, issues) }
    }

    func invalid(_ r: RegisteredResource, _ o: [String: JSONValue], _ issues: [FieldError]) -> APIError {
        APIError.invalid(GroupKind(group: r.group, kind: r.kind), name: o.object("metadata")?.string("name") ?? "", errors: issues)
    }

    func parseRV(_ rv: String) throws(APIError) -> Int64? {
        if rv.isEmpty { return nil }
        guard let n = Int64(rv), n > 0 else {
            throw APIError.badRequest("invalid resourceVersion \"\(rv)\"")
        }
        return n
    }

    func requireActiveNamespace(_ namespace: String) async throws(APIError) {
        guard let ns = resource(group: "", version: "v1", plural: "namespaces") else { return }
        var entry = ns.cache.get(namespace: nil, name: namespace)
        if entry == nil {
            // A namespace created a moment ago may not have reached the cache yet.
            try await sync(ns)
            entry = ns.cache.get(namespace: nil, name: namespace)
        }
        guard let entry else { throw APIError.notFound(GroupResource(group: "", resource: "namespaces"), name: namespace) }
        if entry.fields["status.phase"] == "Terminating" {
            throw APIError.forbidden(GroupResource(group: "", resource: "namespaces"), name: namespace, reason: "unable to create new content in namespace \(namespace) because it is being terminated")
        }
    }
}

extension CacheEntry {
    /// A dry-run result: the object as it would be stored, without a resourceVersion.
    func withoutResourceVersion(_ stored: [UInt8]) -> CacheEntry {
        CacheEntry(key: key, namespace: namespace, name: name, revision: 0, bytes: stored, labels: labels, fields: fields)
    }
}
