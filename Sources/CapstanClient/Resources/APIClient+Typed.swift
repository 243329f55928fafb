import CapstanAPI

/// Resource requests on the generated types (`CoreV1.Pod`, `AppsV1.Deployment`, ...): the
/// resource path comes from the type, objects are encoded and decoded with ``KubeJSON``.
///
/// Namespaces follow the raw helpers: nil means the object's own namespace (writes), the client's
/// default namespace (get, patch, delete), or all namespaces (lists and watches).
extension APIClient {
    public func get<T: APIObject>(_ type: T.Type, name: String, namespace: String? = nil) async throws -> T {
        let resource = T.resource
        let response = try await request(method: .get, path: resource.path(namespace: defaultNamespace(resource, namespace), name: name))
        return try KubeJSON.decode(T.self, from: response.body)
    }

    /// One page of objects (all of them unless ``ListOptions/limit`` is set).
    public func list<T: APIObject>(_ type: T.Type, namespace: String? = nil, options: ListOptions = .init()) async throws -> ObjectList<T> {
        let response = try await request(method: .get, path: T.resource.path(namespace: namespace), query: options.query)
        return try KubeJSON.decode(ObjectList<T>.self, from: response.body)
    }

    /// Every object, fetched in pages of `pageSize` following continue tokens; the result has the
    /// first page's resourceVersion (a consistent snapshot, as the server serves pages).
    public func listAll<T: APIObject>(_ type: T.Type, namespace: String? = nil, options: ListOptions = .init(),
                                      pageSize: Int = 500) async throws -> ObjectList<T> {
        try await Self.collectPages(options: options, pageSize: pageSize) { options in
            try await self.list(T.self, namespace: namespace, options: options)
        }
    }

    public func create<T: APIObject>(_ object: T, namespace: String? = nil, options: WriteOptions = .init()) async throws -> T {
        let resource = T.resource
        let ns = defaultNamespace(resource, namespace ?? object.objectMeta.namespace)
        let response = try await request(method: .post, path: resource.path(namespace: ns), query: options.query,
                                         body: try Self.encode(object))
        return try KubeJSON.decode(T.self, from: response.body)
    }

    /// Replaces the object named by its `metadata.name`; its `metadata.resourceVersion`, if set,
    /// makes the update conditional (409 Conflict when the object changed since).
    public func update<T: APIObject>(_ object: T, options: WriteOptions = .init()) async throws -> T {
        try await replace(object, subresource: nil, options: options)
    }

    /// Replaces the object's `status` (the `/status` subresource).
    public func updateStatus<T: APIObject>(_ object: T, options: WriteOptions = .init()) async throws -> T {
        try await replace(object, subresource: "status", options: options)
    }

    public func patch<T: APIObject>(_ type: T.Type, name: String, namespace: String? = nil, _ patch: Patch,
                                    subresource: String? = nil, options: WriteOptions = .init()) async throws -> T {
        let response = try await sendPatch(T.resource, name: name, namespace: namespace, patch, subresource: subresource, options: options)
        return try KubeJSON.decode(T.self, from: response.body)
    }

    /// Deletes the object. Returns it when the server answers with the object (kept with a
    /// `deletionTimestamp` by finalizers or a grace period, or pods as last seen), nil when it
    /// answers with a `Status`.
    @discardableResult
    public func delete<T: APIObject>(_ type: T.Type, name: String, namespace: String? = nil,
                                     options: DeleteOptions = .init()) async throws -> T? {
        let resource = T.resource
        let response = try await request(method: .delete, path: resource.path(namespace: defaultNamespace(resource, namespace), name: name),
                                         body: options.body)
        if case .object(let o) = try Self.parse(response.body), o["kind"]?.stringValue == "Status" { return nil }
        return try KubeJSON.decode(T.self, from: response.body)
    }

    /// Binds a pod to a node (`pods/binding`), as the scheduler does.
    public func bind(pod: String, namespace: String, node: String, options: WriteOptions = .init()) async throws {
        let binding = CoreV1.Binding(metadata: MetaV1.ObjectMeta(name: pod, namespace: namespace),
                                     target: CoreV1.ObjectReference(apiVersion: "v1", kind: "Node", name: node))
        try await bind(binding, options: options)
    }

    /// Posts a `Binding` for the pod its metadata names.
    public func bind(_ binding: CoreV1.Binding, options: WriteOptions = .init()) async throws {
        guard let pod = binding.metadata?.name, !pod.isEmpty else {
            throw APIClientError(.invalidRequest, "a binding needs metadata.name (the pod)")
        }
        let pods = CoreV1.Pod.resource
        let namespace = defaultNamespace(pods, binding.metadata?.namespace)
        _ = try await request(method: .post, path: pods.path(namespace: namespace, name: pod, subresource: "binding"),
                              query: options.query, body: try Self.encode(binding))
    }

    /// Watches objects of the type (one namespace, or all when nil). See ``WatchStream``.
    public func watch<T: APIObject>(_ type: T.Type, namespace: String? = nil, options: WatchOptions = .init()) -> WatchStream<T> {
        WatchStream(client: self, path: T.resource.path(namespace: namespace), query: options.query, decoder: .typed)
    }

    // MARK: Shared

    private func replace<T: APIObject>(_ object: T, subresource: String?, options: WriteOptions) async throws -> T {
        guard let name = object.objectMeta.name, !name.isEmpty else {
            throw APIClientError(.invalidRequest, "an update needs the object's metadata.name")
        }
        let resource = T.resource
        let path = resource.path(namespace: defaultNamespace(resource, object.objectMeta.namespace), name: name, subresource: subresource)
        let response = try await request(method: .put, path: path, query: options.query, body: try Self.encode(object))
        return try KubeJSON.decode(T.self, from: response.body)
    }

    static func encode<T: Encodable>(_ object: T) throws -> [UInt8] {
        [UInt8](try KubeJSON.encode(object))
    }

    /// Follows continue tokens; one page when `options.limit` is set by the caller.
    static func collectPages<Object: Sendable>(
        options: ListOptions, pageSize: Int,
        fetch: @Sendable (ListOptions) async throws -> ObjectList<Object>
    ) async throws -> ObjectList<Object> {
        var options = options
        if options.limit == nil { options.limit = pageSize }
        var first = try await fetch(options)
        var token = first.continueToken
        while let next = token {
            options.continueToken = next
            // A continue token carries the snapshot's resourceVersion; the server refuses both.
            options.resourceVersion = nil
            options.resourceVersionMatch = nil
            let page = try await fetch(options)
            first.items += page.items
            token = page.continueToken
        }
        first.continueToken = nil
        first.remainingItemCount = nil
        return first
    }
}

extension APIClient {
    /// Every object of a raw resource, in pages (see ``listAll(_:namespace:options:pageSize:)``).
    public func listAll(_ resource: APIResource, namespace: String? = nil, options: ListOptions = .init(),
                        pageSize: Int = 500) async throws -> ObjectList<JSONValue> {
        try await Self.collectPages(options: options, pageSize: pageSize) { options in
            try await self.list(resource, namespace: namespace, options: options)
        }
    }
}
