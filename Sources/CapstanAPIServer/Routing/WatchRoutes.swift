import CapstanAPI
import CapstanAPIMachinery
import CapstanRegistry
import CapstanTables

/// One frame of a watch stream, produced by the event forwarder or the bookmark timer.
enum WatchFrame: Sendable {
    case event(CacheEvent)
    case bookmark(Int64, initialEventsEnd: Bool)
    case error(APIError)
}

extension APIRouter {
    /// A chunked stream of `{"type":...,"object":...}` lines, as Kubernetes serves watches:
    /// initial state or history from the cache, then live changes, bookmarks when allowed,
    /// ending after `timeoutSeconds`, on shutdown, or when the client goes away.
    func watch(_ request: APIRequest, _ r: RegisteredResource, namespace: String?) async throws(APIError) -> APIResponse {
        let q = request.query
        let format = try ResponseFormat.negotiate(request.accept)
        let list = try listRequest(request, r, namespace: namespace, forWatch: true)
        var watchRequest = WatchRequest(namespace: namespace)
        watchRequest.filter = list.filter
        let sendInitialEvents = q["sendInitialEvents"] == "true"
        if let rv = q["resourceVersion"], !rv.isEmpty {
            guard let n = Int64(rv), n >= 0 else { throw APIError.badRequest("invalid resourceVersion \"\(rv)\"") }
            watchRequest.resourceVersion = sendInitialEvents ? nil : n
        }
        if sendInitialEvents, q["resourceVersionMatch"] != "NotOlderThan" {
            throw APIError.badRequest("sendInitialEvents is forbidden for watch unless resourceVersionMatch is set to NotOlderThan")
        }
        let allowBookmarks = q.bool("allowWatchBookmarks")
        var timeout = Double(60 * 30)
        if let t = q["timeoutSeconds"], !t.isEmpty {
            guard let n = Int(t), n >= 0 else { throw APIError.badRequest("invalid timeoutSeconds \"\(t)\"") }
            if n > 0 { timeout = Double(n) }
        }
        // An RV older than the cache's history is reported in the stream as Kubernetes does.
        let started: Result<CacheWatch, APIError>
        do {
            started = .success(try await registry.watch(r, watchRequest))
        } catch {
            started = .failure(error)
        }
        let tableBuilder: TableBuilder?
        if case .table(let apiVersion) = format {
            tableBuilder = TableBuilder(printer: TablePrinter.forResource(group: r.group, resource: r.plural),
                                        includeObject: IncludeObjectPolicy(queryValue: q["includeObject"]) ?? .metadata,
                                        apiVersion: apiVersion)
        } else {
            tableBuilder = nil
        }
        let contentType = tableBuilder == nil ? "application/json" : "application/json;as=Table;v=v1;g=meta.k8s.io"
        let timeoutSeconds = timeout
        let kind = r.kind
        let apiVersion = r.apiVersion
        let now = self.now
        let metrics = self.metrics
        let streams = self.streams
        return APIResponse(status: .ok, contentType: contentType) { writer in
            metrics.watchStarted()
            defer { metrics.watchEnded() }
            guard case .success(let watch) = started else {
                if case .failure(let error) = started {
                    try await writer.write(Self.frame(type: "ERROR", object: error.statusJSON().serialized()))
                }
                return
            }
            let frames = WatchFrameQueue<WatchFrame>()
            guard let stopToken = streams.register({ watch.stop(); frames.finish() }) else {
                watch.stop()
                return  // shutting down
            }
            defer { streams.unregister(stopToken) }
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    var delivered = 0
                    if sendInitialEvents, watch.initialEvents == 0 {
                        frames.push(.bookmark(watch.startRevision, initialEventsEnd: true))
                    }
                    do {
                        for try await event in watch.events {
                            frames.push(.event(event))
                            delivered += 1
                            if sendInitialEvents, delivered == watch.initialEvents {
                                frames.push(.bookmark(watch.startRevision, initialEventsEnd: true))
                            }
                        }
                    } catch let e as WatchCacheError where e.code == .tooOld {
                        frames.push(.error(.expired(e.description)))
                    } catch {
                        frames.push(.error(.internalError("watch ended: \(error)")))
                    }
                    frames.finish()
                }
                group.addTask {
                    // Ends the watch at its timeout; sends bookmarks meanwhile when allowed.
                    // Bookmarks every minute and once shortly before the timeout, as Kubernetes sends them.
                    let deadline = ContinuousClock.now + .milliseconds(Int64(timeoutSeconds * 1000))
                    let lastBookmark = deadline - .seconds(min(2, timeoutSeconds / 2))
                    var sentLast = false
                    while ContinuousClock.now < deadline {
                        let now = ContinuousClock.now
                        var wake = min(deadline, now + .seconds(allowBookmarks ? 60 : 3600))
                        if allowBookmarks, !sentLast, lastBookmark > now { wake = min(wake, lastBookmark) }
                        do { try await Task.sleep(until: wake) } catch { return }
                        if allowBookmarks, ContinuousClock.now < deadline {
                            if ContinuousClock.now >= lastBookmark { sentLast = true }
                            frames.push(.bookmark(r.cache.bookmarkRevision(), initialEventsEnd: false))
                        }
                    }
                    watch.stop()
                    frames.finish()
                }
                var first = true
                // Everything queued goes out together, in writes of up to about a megabyte.
                var open = true
                while open, let batch = await frames.take() {
                    var bytes: [UInt8] = []
                    for (i, frame) in batch.enumerated() {
                        switch frame {
                        case .event(let e):
                            var object = e.entry.bytes
                            if let tableBuilder {
                                let parsed = (try? JSONValue.parse(e.entry.bytes)) ?? .object([:])
                                object = tableBuilder.single(parsed, now: now(), includeColumnDefinitions: first).serialized()
                                first = false
                            }
                            Self.appendFrame(to: &bytes, type: e.kind.rawValue, object: object)
                        case .bookmark(let rv, let end):
                            var meta: [String: JSONValue] = ["resourceVersion": .string(String(rv))]
                            if end { meta["annotations"] = .object(["k8s.io/initial-events-end": .string("true")]) }
                            let object = JSONValue.object(["kind": .string(kind), "apiVersion": .string(apiVersion),
                                                           "metadata": .object(meta)])
                            Self.appendFrame(to: &bytes, type: "BOOKMARK", object: object.serialized())
                        case .error(let error):
                            Self.appendFrame(to: &bytes, type: "ERROR", object: error.statusJSON().serialized())
                        }
                        guard bytes.count >= Self.watchWriteSize || i == batch.count - 1 else { continue }
                        do {
                            try await writer.write(bytes)
                        } catch {
                            open = false
                            break
                        }
                        bytes.removeAll(keepingCapacity: true)
                    }
                }
                watch.stop()
                frames.finish()
                group.cancelAll()
            }
        }
    }

    /// A watch writes what it has queued once this many bytes are ready.
    static let watchWriteSize = 1 << 20

    static func frame(type: String, object: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(object.count + 32)
        appendFrame(to: &out, type: type, object: object)
        return out
    }

    static func appendFrame(to out: inout [UInt8], type: String, object: [UInt8]) {
        out.append(contentsOf: #"{"type":""#.utf8)
        out.append(contentsOf: type.utf8)
        out.append(contentsOf: #"","object":"#.utf8)
        out.append(contentsOf: object)
        out.append(contentsOf: "}\n".utf8)
    }
}
