import CapstanStorage
import Foundation
import GRPCCore
import Synchronization

/// Every watch of one `EtcdStorage`, multiplexed on ONE etcd Watch stream.
///
/// Each watcher has a client-chosen etcd watch id and remembers the last revision it
/// delivered. When the stream breaks (a member restarts, the connection drops), the hub opens
/// a new one, on another member if needed, and re-creates every watcher from its last
/// delivered revision: events at or below it are dropped, so there is no gap and no
/// duplicate. A watcher whose revision was compacted meanwhile ends with `.compacted`.
///
/// Before a watcher is (re)created from revision R, a Range at R tells whether R was compacted;
/// if so it is created AT R (etcd then cancels it with the compaction revision), else after R.
///
/// etcd before 3.4.25 / 3.5.8 answers a requested progress notification at once, even to a
/// watcher still catching up on past events (etcd-io/etcd#15220), so it could claim a revision
/// whose events are still to come. Such a watcher's notification is held back and progress
/// asked again a little later, until the watcher has seen etcd's revision at its creation or
/// it was held back `maxProgressDeferrals` times (then it has had ~0.5 s, five passes of
/// etcd's catch-up loop, and has no event left to deliver in practice).
final class EtcdWatchHub: Sendable {
    private struct Watcher {
        let key: Data
        let rangeEnd: Data
        /// Events with revisions up to this one were delivered (or are before the watch).
        var delivered: Int64
        let channel: WatchChannel
        var acked = false
        var ackWaiter: CheckedContinuation<Void, any Error>?
        var fragments: [Mvccpb_Event] = []
        /// Start AT `delivered` rather than after it: its history may be compacted, and etcd
        /// then reports the exact compaction revision.
        var startAtDelivered = false
        /// etcd's revision when it accepted the watcher on the current stream.
        var createdRevision: Int64 = 0
        /// Requested progress notifications held back while the watcher may be catching up.
        var progressDeferrals = 0

        var startRevision: Int64 { startAtDelivered ? max(delivered, 1) : delivered + 1 }

        /// Whether etcd may still be sending this watcher past events (it started at or below
        /// the revision etcd had when it accepted it, and nothing up to that was seen yet).
        var catchingUp: Bool { startRevision <= createdRevision && delivered < createdRevision }
    }

    private struct State {
        var watchers: [Int64: Watcher] = [:]
        var nextID: Int64 = 1
        var outbound: AsyncStream<Etcdserverpb_WatchRequest>.Continuation?
        var generation = 0
        var task: Task<Void, Never>?
        var progressPending = false
        /// Whether the current stream delivered anything (it reached a working member).
        var streamAnswered = false
        var closed: StorageError?
        var progressRetry: Task<Void, Never>?
    }

    /// Requested progress notifications held back for a watcher still catching up, before it
    /// is given one anyway (see `handle`).
    static let maxProgressDeferrals = 5

    private let connection: EtcdConnection
    private let state = Mutex(State())

    init(connection: EtcdConnection) {
        self.connection = connection
    }

    /// Registers a watch of `[key, rangeEnd)` for changes after `after`, and waits until etcd
    /// accepted it (so later writes are seen as live). Throws `.compacted` if `after` is below
    /// etcd's compaction revision.
    func watch(
        key: Data, rangeEnd: Data, after: Int64, bufferLimit: Int, startAtDelivered: Bool = false
    ) async throws -> WatchChannel {
        let id = state.withLock { state in
            defer { state.nextID += 1 }
            return state.nextID
        }
        let channel = WatchChannel(limit: bufferLimit, onCancel: { [weak self] in self?.cancel(id) })
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let refusal: (any Error)? = state.withLock { state in
                    if let closed = state.closed { return closed }
                    if Task.isCancelled { return CancellationError() }
                    let watcher = Watcher(
                        key: key, rangeEnd: rangeEnd, delivered: after,
                        channel: channel, ackWaiter: continuation, startAtDelivered: startAtDelivered)
                    state.watchers[id] = watcher
                    state.outbound?.yield(Self.createRequest(id: id, watcher))
                    if state.task == nil {
                        state.task = Task { await self.runStreams() }
                    }
                    return nil
                }
                if let refusal { continuation.resume(throwing: refusal) }
            }
        } onCancel: {
            self.cancel(id)
        }
        return channel
    }

    /// Asks etcd for a progress notification on the stream (answered with the member's
    /// current revision to every watcher). While the stream is down, it is asked on reconnect.
    func requestProgress() {
        state.withLock { state in
            guard !state.watchers.isEmpty else { return }
            if let outbound = state.outbound, state.streamAnswered {
                outbound.yield(Self.progressRequest())
            } else {
                state.progressPending = true
            }
        }
    }

    /// Ends every watch with `error` and stops the stream.
    func close(_ error: StorageError) async {
        let (watchers, task): ([Watcher], Task<Void, Never>?) = state.withLock { state in
            state.closed = error
            let watchers = Array(state.watchers.values)
            state.watchers = [:]
            state.outbound?.finish()
            state.outbound = nil
            let task = state.task
            state.task = nil
            state.progressRetry?.cancel()
            state.progressRetry = nil
            return (watchers, task)
        }
        for watcher in watchers {
            watcher.ackWaiter?.resume(throwing: error)
            watcher.channel.finish(throwing: error)
        }
        task?.cancel()
        await task?.value
    }

    private func cancel(_ id: Int64) {
        let waiter: CheckedContinuation<Void, any Error>? = state.withLock { state in
            guard let watcher = state.watchers.removeValue(forKey: id) else { return nil }
            state.outbound?.yield(Self.cancelRequest(id: id))
            return watcher.ackWaiter
        }
        waiter?.resume(throwing: CancellationError())
    }

    // MARK: The stream

    private func runStreams() async {
        let clock = ContinuousClock()
        var failingSince: ContinuousClock.Instant?
        var attempt = 0
        while !Task.isCancelled {
            let handle: EtcdConnection.Handle
            do {
                handle = try connection.handle(stream: true)
            } catch {
                failAll(error)
                return
            }
            await checkCompactions()
            let (requests, continuation) = AsyncStream.makeStream(of: Etcdserverpb_WatchRequest.self)
            let generation: Int? = state.withLock { state in
                if state.watchers.isEmpty || state.closed != nil {
                    state.task = nil
                    return nil
                }
                state.generation += 1
                state.outbound = continuation
                state.streamAnswered = false
                for id in state.watchers.keys.sorted() {
                    state.watchers[id]!.acked = false
                    state.watchers[id]!.fragments = []
                    continuation.yield(Self.createRequest(id: id, state.watchers[id]!))
                }
                return state.generation
            }
            guard let generation else {
                continuation.finish()
                return
            }

            var failure: any Error = StorageError(.unavailable, "etcd ended the watch stream")
            do {
                let client = Etcdserverpb_Watch.Client(wrapping: handle.client)
                try await client.watch(
                    metadata: ["hasleader": "true"],
                    options: connection.streamOptions,
                    requestProducer: { writer in
                        for await request in requests { try await writer.write(request) }
                    },
                    onResponse: { response in
                        defer { continuation.finish() }
                        for try await message in response.messages {
                            self.handle(message, generation: generation)
                        }
                    })
            } catch {
                failure = error
            }
            continuation.finish()
            let answered = state.withLock { state in
                if state.generation == generation { state.outbound = nil }
                return state.streamAnswered
            }
            if Task.isCancelled { return }
            connection.failed(handle, failure)

            if answered {
                failingSince = nil
                attempt = 0
            }
            let now = clock.now
            let since = failingSince ?? now
            failingSince = since
            attempt += 1
            do {
                try await connection.pause(attempt: attempt, since: since, clock: clock)
            } catch is CancellationError {
                return
            } catch {
                // Unreachable for too long: end the watches that are waiting.
                failAll(error)
                failingSince = nil
                attempt = 0
            }
        }
    }

    /// Marks the watchers whose last delivered revision was compacted, so they are re-created
    /// at it and etcd reports the compaction (rather than silently resuming after it).
    private func checkCompactions() async {
        let revisions = state.withLock { state in
            Set(state.watchers.values.filter { !$0.startAtDelivered && $0.delivered > 0 }.map(\.delivered)).sorted()
        }
        let kv = KVCalls(connection: connection)
        for revision in revisions {
            guard let compacted = try? await kv.isCompacted(revision), compacted else { return }
            state.withLock { state in
                for (id, watcher) in state.watchers where watcher.delivered == revision {
                    state.watchers[id]!.startAtDelivered = true
                }
            }
        }
    }

    private func failAll(_ error: any Error) {
        let storageError = error as? StorageError ?? StorageError(.unavailable, "etcd watch failed: \(error)")
        let watchers: [Watcher] = state.withLock { state in
            let watchers = Array(state.watchers.values)
            state.watchers = [:]
            return watchers
        }
        for watcher in watchers {
            if let waiter = watcher.ackWaiter {
                waiter.resume(throwing: storageError)
            } else {
                watcher.channel.finish(throwing: storageError)
            }
        }
    }

    private func handle(_ response: Etcdserverpb_WatchResponse, generation: Int) {
        var resume: [(CheckedContinuation<Void, any Error>, (any Error)?)] = []
        state.withLock { state in
            guard state.generation == generation else { return }
            if !state.streamAnswered {
                state.streamAnswered = true
                if state.progressPending {
                    state.progressPending = false
                    state.outbound?.yield(Self.progressRequest())
                }
            }
            let revision = response.header.revision

            if response.watchID == -1 {
                // A requested progress notification, for every watcher on the stream.
                guard response.events.isEmpty, !response.created, !response.canceled else { return }
                var deferred = false
                for (id, watcher) in state.watchers where watcher.acked && revision >= watcher.delivered {
                    if watcher.catchingUp && watcher.progressDeferrals < Self.maxProgressDeferrals {
                        state.watchers[id]!.progressDeferrals += 1
                        deferred = true
                        continue
                    }
                    if !watcher.channel.send(.progress(revision: revision)) { drop(id, &state) }
                }
                if deferred && state.progressRetry == nil {
                    state.progressRetry = Task {
                        try? await Task.sleep(for: .milliseconds(100))
                        self.state.withLock { $0.progressRetry = nil }
                        self.requestProgress()
                    }
                }
                return
            }

            let id = response.watchID
            guard var watcher = state.watchers[id] else { return }
            if response.created {
                watcher.acked = true
                watcher.createdRevision = revision
                watcher.progressDeferrals = 0
                if let waiter = watcher.ackWaiter {
                    watcher.ackWaiter = nil
                    resume.append((waiter, nil))
                }
            }
            if response.canceled {
                state.watchers[id] = nil
                let error: StorageError
                if response.compactRevision != 0 {
                    error = .compacted(requested: watcher.delivered, compactRevision: response.compactRevision)
                } else {
                    let reason = response.cancelReason.isEmpty ? "no reason given" : response.cancelReason
                    error = StorageError(.unavailable, "etcd cancelled the watch: \(reason)")
                }
                if let waiter = watcher.ackWaiter {
                    resume.append((waiter, error))
                } else {
                    watcher.channel.finish(throwing: error)
                }
                return
            }
            if response.fragment {
                watcher.fragments += response.events
                state.watchers[id] = watcher
                return
            }
            var events = response.events
            if !watcher.fragments.isEmpty {
                events = watcher.fragments + events
                watcher.fragments = []
            }
            if events.isEmpty {
                if !response.created, revision > watcher.delivered {
                    // A periodic progress notification: ordered with this watcher's events.
                    watcher.delivered = revision
                    if !watcher.channel.send(.progress(revision: revision)) {
                        state.watchers[id] = watcher
                        drop(id, &state)
                        return
                    }
                }
                state.watchers[id] = watcher
                return
            }
            let floor = watcher.delivered
            for event in events where event.kv.modRevision > floor {
                if !watcher.channel.send(.event(EtcdKeys.watchEvent(event))) {
                    state.watchers[id] = watcher
                    drop(id, &state)
                    return
                }
                watcher.delivered = max(watcher.delivered, event.kv.modRevision)
            }
            state.watchers[id] = watcher
        }
        for (waiter, error) in resume {
            if let error { waiter.resume(throwing: error) } else { waiter.resume() }
        }
    }

    /// Forgets a watcher whose channel refused a message (ended or over its limit).
    private func drop(_ id: Int64, _ state: inout State) {
        state.watchers[id] = nil
        state.outbound?.yield(Self.cancelRequest(id: id))
    }

    // MARK: Requests

    private static func createRequest(id: Int64, _ watcher: Watcher) -> Etcdserverpb_WatchRequest {
        var create = Etcdserverpb_WatchCreateRequest()
        create.key = watcher.key
        create.rangeEnd = watcher.rangeEnd
        create.startRevision = watcher.startRevision
        create.prevKv = true
        create.progressNotify = true
        create.fragment = true
        create.watchID = id
        var request = Etcdserverpb_WatchRequest()
        request.requestUnion = .createRequest(create)
        return request
    }

    private static func cancelRequest(id: Int64) -> Etcdserverpb_WatchRequest {
        var cancel = Etcdserverpb_WatchCancelRequest()
        cancel.watchID = id
        var request = Etcdserverpb_WatchRequest()
        request.requestUnion = .cancelRequest(cancel)
        return request
    }

    private static func progressRequest() -> Etcdserverpb_WatchRequest {
        var request = Etcdserverpb_WatchRequest()
        request.requestUnion = .progressRequest(Etcdserverpb_WatchProgressRequest())
        return request
    }
}
