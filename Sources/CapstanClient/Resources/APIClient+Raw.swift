import CapstanAPI

/// Resource requests on raw JSON, for generic code (custom resources, tools, the bench): objects
/// go in and come out as ``JSONValue``, parsed and serialized with the byte-level JSON code.
///
/// Namespaces: for a namespaced resource, `namespace: nil` means the object's own namespace
/// (writes) or the client's default namespace (get, patch, delete); for lists and watches it
/// means all namespaces. Cluster-scoped resources ignore it.
extension APIClient {
    public func get(_ resource: APIResource, name: String, namespace: String? = nil,
                    resourceVersion: String? = nil) async throws -> JSONValue {
        var query = APIClient.Query()
        if let resourceVersion { query.append("resourceVersion", resourceVersion) }
        let response = try await request(method: .get, path: resource.path(namespace: defaultNamespace(resource, namespace), name: name),
                                         query: query)
        return try Self.parse(response.body)
    }

    public func list(_ resource: APIResource, namespace: String? = nil, options: ListOptions = .init()) async throws -> ObjectList<JSONValue> {
        let response = try await request(method: .get, path: resource.path(namespace: namespace), query: options.query)
        return try ObjectList(json: try Self.parse(response.body))
    }

    public func create(_ resource: APIResource, _ object: JSONValue, namespace: String? = nil,
                       options: WriteOptions = .init()) async throws -> JSONValue {
        let ns = defaultNamespace(resource, namespace ?? object["metadata"]?["namespace"]?.stringValue)
        let response = try await request(method: .post, path: resource.path(namespace: ns), query: options.query,
                                         body: object.serialized())
        return try Self.parse(response.body)
    }

    /// Replaces the object named by its `metadata.name`; its `metadata.resourceVersion`, if set,
    /// makes the update conditional (409 Conflict when the object changed since).
    public func update(_ resource: APIResource, _ object: JSONValue, namespace: String? = nil,
                       options: WriteOptions = .init()) async throws -> JSONValue {
        try await replace(resource, object, namespace: namespace, subresource: nil, options: options)
    }

    /// Replaces the object's `status` (the `/status` subresource).
    public func updateStatus(_ resource: APIResource, _ object: JSONValue, namespace: String? = nil,
                             options: WriteOptions = .init()) async throws -> JSONValue {
        try await replace(resource, object, namespace: namespace, subresource: "status", options: options)
    }

    public func patch(_ resource: APIResource, name: String, namespace: String? = nil, _ patch: Patch,
                      subresource: String? = nil, options: WriteOptions = .init()) async throws -> JSONValue {
        let response = try await sendPatch(resource, name: name, namespace: namespace, patch, subresource: subresource, options: options)
        return try Self.parse(response.body)
    }

    /// Deletes the object; returns what the server answered: the object (still present with a
    /// `deletionTimestamp` while finalizers or a grace period hold it, or as last seen for pods)
    /// or a `Status`.
    @discardableResult
    public func delete(_ resource: APIResource, name: String, namespace: String? = nil,
                       options: DeleteOptions = .init()) async throws -> JSONValue {
        let response = try await request(method: .delete, path: resource.path(namespace: defaultNamespace(resource, namespace), name: name),
                                         query: [:], body: options.body)
        return try Self.parse(response.body)
    }

    /// Deletes every object the list options select (in one namespace, or all when nil).
    public func deleteCollection(_ resource: APIResource, namespace: String? = nil, listOptions: ListOptions = .init(),
                                 options: DeleteOptions = .init()) async throws {
        _ = try await request(method: .delete, path: resource.path(namespace: namespace), query: listOptions.query,
                              body: options.body)
    }

    /// Watches the resource (one namespace, or all when nil). See ``WatchStream``.
    /// With `strippingManagedFields`, the objects arrive without `metadata.managedFields`.
    public func watch(_ resource: APIResource, namespace: String? = nil, options: WatchOptions = .init(),
                      strippingManagedFields: Bool = false) -> WatchStream<JSONValue> {
        WatchStream(client: self, path: resource.path(namespace: namespace), query: options.query,
                    decoder: .raw(strippingManagedFields: strippingManagedFields))
    }

    // MARK: Shared

    func defaultNamespace(_ resource: APIResource, _ namespace: String?) -> String? {
        guard resource.namespaced else { return nil }
        if let namespace, !namespace.isEmpty { return namespace }
        return configuration.namespace
    }

    private func replace(_ resource: APIResource, _ object: JSONValue, namespace: String?, subresource: String?,
                         options: WriteOptions) async throws -> JSONValue {
        guard let name = object["metadata"]?["name"]?.stringValue, !name.isEmpty else {
            throw APIClientError(.invalidRequest, "an update needs the object's metadata.name")
        }
        let ns = defaultNamespace(resource, namespace ?? object["metadata"]?["namespace"]?.stringValue)
        let response = try await request(method: .put, path: resource.path(namespace: ns, name: name, subresource: subresource),
                                         query: options.query, body: object.serialized())
        return try Self.parse(response.body)
    }

    func sendPatch(_ resource: APIResource, name: String, namespace: String?, _ patch: Patch, subresource: String?,
                   options: WriteOptions) async throws -> Response {
        var query = options.query
        if patch.force { query.append("force", "true") }
        return try await request(method: .patch,
                                 path: resource.path(namespace: defaultNamespace(resource, namespace), name: name, subresource: subresource),
                                 query: query, body: patch.body, contentType: patch.type.rawValue)
    }

    static func parse(_ body: [UInt8]) throws -> JSONValue {
        do {
            return try JSONValue.parse(body)
        } catch {
            throw APIClientError(.invalidResponse, "the response is not JSON: \(error)")
        }
    }
}
