import Logging
import NIOCore
import Synchronization

/// Connections to one server: HTTP/1.1 keep-alive connections leased for one request at a time,
/// or, when the server negotiates h2, one connection whose streams carry every request at once,
/// and a few more while requests pile up on it (see ``StateMachine``).
/// The bookkeeping is ``StateMachine``; this shell opens and closes connections and streams and
/// resumes waiting tasks.
final class ConnectionPool: Sendable {
    /// What a waiter gets: a connection of its own, or an h2 connection to open a stream on.
    fileprivate enum Slot: Sendable {
        case exclusive(HTTPConnection)
        case multiplexed(HTTP2Connection)
    }

    fileprivate enum Waiter {
        /// Allocated; the task has not registered its continuation yet.
        case pending
        /// Cancelled before it registered.
        case cancelled
        case registered(CheckedContinuation<Slot, any Error>)
    }

    fileprivate struct State {
        var machine: StateMachine<HTTPConnection, HTTP2Connection>
        var waiters: [Int: Waiter] = [:]
        var nextWaiter = 0
        var nextConnection = 0
    }

    private let state: Mutex<State>
    private let factory: ConnectionFactory
    private let logger: Logger
    /// How long an extra h2 connection stays open without requests.
    private let idleTimeout: TimeAmount

    init(factory: ConnectionFactory, maxConnections: Int, maxIdle: Int? = nil, streamsPerConnection: Int = 16,
         idleTimeout: TimeAmount = .seconds(90), logger: Logger) {
        self.factory = factory
        self.logger = logger
        self.idleTimeout = idleTimeout
        self.state = Mutex(State(machine: StateMachine(maxConnections: maxConnections, maxIdle: maxIdle,
                                                       probeOneAtATime: factory.offersHTTP2,
                                                       streamsPerConnection: streamsPerConnection)))
    }

    /// A connection for one request (an h2 stream, or an HTTP/1.1 connection of its own); give it
    /// back with ``release(_:reusable:)``.
    func lease() async throws -> HTTPConnection {
        var attempts = 0
        while true {
            switch try await leaseSlot() {
            case .exclusive(let connection):
                return connection
            case .multiplexed(let multiplexed):
                do {
                    guard multiplexed.isUsable else {
                        throw APIClientError(.connectionClosed, "the HTTP/2 connection is closing", retryHint: .always)
                    }
                    let closeReason = CloseReason()
                    let stream = try await multiplexed.openStream { stream in
                        try HTTPConnection.configure(stream, closeReason: closeReason, onClose: {})
                    }
                    let id = state.withLock { s in
                        s.nextConnection += 1
                        return s.nextConnection
                    }
                    return HTTPConnection(id: id, channel: stream, closeReason: closeReason, multiplexed: multiplexed)
                } catch let error as APIClientError where attempts < 2 {
                    // The connection went away between lease and stream: use or open another.
                    attempts += 1
                    logger.debug("HTTP/2 stream failed to open, reconnecting: \(error)")
                    streamEnded(on: multiplexed)
                    state.withLock { $0.machine.multiplexedUnusable(multiplexed) }
                } catch {
                    streamEnded(on: multiplexed)
                    throw error
                }
            }
        }
    }

    /// The h2 connection to open a long-running stream (a watch) on, or nil when the server speaks
    /// HTTP/1.1 (such streams then get connections of their own). Opens a connection to learn
    /// which when no connection was opened yet.
    func multiplexedConnection() async throws -> HTTP2Connection? {
        var attempts = 0
        while true {
            let known: HTTP2Connection?? = state.withLock { s in
                if let multiplexed = s.machine.multiplexed, multiplexed.isUsable { return .some(multiplexed) }
                if let multiplexed = s.machine.multiplexed { s.machine.multiplexedUnusable(multiplexed) }
                return s.machine.serverProtocol == .http1 ? .some(nil) : nil
            }
            if let known { return known }
            switch try await leaseSlot() {
            case .exclusive(let connection):
                release(connection, reusable: true)
                return nil
            case .multiplexed(let multiplexed):
                // Leased as for a request; a watch does not count as one.
                streamEnded(on: multiplexed)
                if multiplexed.isUsable || attempts >= 2 { return multiplexed }
                attempts += 1
                state.withLock { $0.machine.multiplexedUnusable(multiplexed) }
            }
        }
    }

    /// Where a long-running request (a watch) goes.
    enum MultiplexedStream {
        /// A stream of the pool's h2 connection, set up by `configure`.
        case opened(any Channel)
        /// The server speaks HTTP/1.1.
        case http1
        /// The h2 connection has as many streams open as the server allows.
        case full
    }

    /// An h2 stream for a long-running request (a watch), set up by `configure`, if the server
    /// speaks h2 and the connection has room for another stream.
    func openMultiplexedStream(configure: @escaping @Sendable (any Channel) throws -> Void) async throws -> MultiplexedStream {
        var attempts = 0
        while let multiplexed = try await multiplexedConnection() {
            guard multiplexed.hasStreamCapacity else { return .full }
            do {
                return .opened(try await multiplexed.openStream(configure: configure))
            } catch let error as APIClientError where attempts < 2 {
                attempts += 1
                logger.debug("HTTP/2 stream failed to open, reconnecting: \(error)")
                state.withLock { $0.machine.multiplexedUnusable(multiplexed) }
            }
        }
        return .http1
    }

    /// Takes an h2 connection opened outside the pool (a stream's own connection the server
    /// answered with h2); returns the one to use (the pool's, if it has one already).
    func adopt(_ connection: HTTP2Connection) -> HTTP2Connection {
        let existing: HTTP2Connection? = state.withLock { s in
            if let multiplexed = s.machine.multiplexed, multiplexed.isUsable { return multiplexed }
            s.machine.adopt(connection)
            return nil
        }
        guard let existing else {
            watchClose(connection)
            return connection
        }
        connection.close()
        return existing
    }

    private func leaseSlot() async throws -> Slot {
        // Fast path: an h2 connection or an idle connection, no waiting.
        enum Fast { case slot(Slot), grow(HTTP2Connection), broken(HTTPConnection) }
        let fast: Fast? = state.withLock { s in
            switch s.machine.leaseMultiplexed() {
            case .useMultiplexed(let multiplexed)?: return .slot(.multiplexed(multiplexed))
            case .useMultiplexedAndConnect(let multiplexed)?: return .grow(multiplexed)
            default: break
            }
            guard let connection = s.machine.leaseIdle() else { return nil }
            return connection.channel.isActive ? .slot(.exclusive(connection)) : .broken(connection)
        }
        switch fast {
        case .slot(let slot)?: return slot
        case .grow(let multiplexed)?:
            openConnection()
            return .multiplexed(multiplexed)
        case .broken(let connection)?: release(connection, reusable: false)
        case nil: break
        }
        let id = state.withLock { s in
            let id = s.nextWaiter
            s.nextWaiter += 1
            s.waiters[id] = .pending
            return id
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Slot, any Error>) in
                enum Next { case resume(Slot), resumeAndConnect(Slot), fail(any Error), wait, connect }
                let next: Next = state.withLock { s in
                    if case .cancelled? = s.waiters[id] {
                        s.waiters[id] = nil
                        return .fail(CancellationError())
                    }
                    switch s.machine.lease(id) {
                    case .use(let connection):
                        s.waiters[id] = nil
                        return .resume(.exclusive(connection))
                    case .useMultiplexed(let multiplexed):
                        s.waiters[id] = nil
                        return .resume(.multiplexed(multiplexed))
                    case .useMultiplexedAndConnect(let multiplexed):
                        s.waiters[id] = nil
                        return .resumeAndConnect(.multiplexed(multiplexed))
                    case .failShutdown:
                        s.waiters[id] = nil
                        return .fail(APIClientError(.shutdown, "the client was shut down"))
                    case .queue:
                        s.waiters[id] = .registered(continuation)
                        return .wait
                    case .queueAndConnect:
                        s.waiters[id] = .registered(continuation)
                        return .connect
                    }
                }
                switch next {
                case .resume(let slot): continuation.resume(returning: slot)
                case .resumeAndConnect(let slot):
                    openConnection()
                    continuation.resume(returning: slot)
                case .fail(let error): continuation.resume(throwing: error)
                case .wait: break
                case .connect: openConnection()
                }
            }
        } onCancel: {
            let continuation: CheckedContinuation<Slot, any Error>? = state.withLock { s in
                switch s.waiters[id] {
                case .pending?:
                    s.waiters[id] = .cancelled
                    return nil
                case .registered(let continuation)?:
                    s.waiters[id] = nil
                    _ = s.machine.cancel(id)
                    return continuation
                case .cancelled?, nil:
                    return nil
                }
            }
            continuation?.resume(throwing: CancellationError())
        }
    }

    /// Returns a leased connection: to a waiting request, to the idle set, or closed when it
    /// cannot serve another request.
    func release(_ connection: HTTPConnection, reusable: Bool) {
        if let multiplexed = connection.multiplexed {
            // A complete stream has closed by itself; an incomplete one is reset. The
            // connection stays either way.
            if !reusable { connection.close() }
            streamEnded(on: multiplexed)
            return
        }
        let reusable = reusable && connection.channel.isActive
        let (action, waiter) = state.withLock { s in
            let action = s.machine.release(connection, reusable: reusable)
            if case .deliver(_, let id) = action { return (action, s.takeContinuation(id)) }
            return (action, nil)
        }
        switch action {
        case .deliver(let connection, _):
            if let waiter {
                waiter.resume(returning: .exclusive(connection))
            } else {
                // The waiter vanished (cannot happen: cancelled waiters leave the queue); keep the connection.
                release(connection, reusable: true)
            }
        case .park:
            break
        case .close(let connection):
            connection.close()
        case .closeAndConnect(let connection):
            connection.close()
            openConnection()
        }
    }

    /// Closes idle connections, fails waiting requests, and refuses new ones. Leased connections
    /// close when they come back.
    func shutdown() async {
        for closed in close() {
            try? await closed.get()
        }
    }

    /// ``shutdown()`` without waiting for the connections to finish closing.
    @discardableResult
    func close() -> [EventLoopFuture<Void>] {
        let (close, multiplexed, fail) = state.withLock { s in
            let (close, multiplexed, fail) = s.machine.shutdown()
            return (close, multiplexed, fail.compactMap { s.takeContinuation($0) })
        }
        for waiter in fail { waiter.resume(throwing: APIClientError(.shutdown, "the client was shut down")) }
        return close.map { $0.channel.close() } + multiplexed.map { $0.channel.close() }
    }

    /// A request's stream on `multiplexed` ended; an extra h2 connection it left idle closes
    /// after the idle timeout unless used again.
    private func streamEnded(on multiplexed: HTTP2Connection) {
        guard let generation = state.withLock({ $0.machine.streamEnded(on: multiplexed) }) else { return }
        scheduleIdleCheck(multiplexed, generation: generation)
    }

    private func scheduleIdleCheck(_ multiplexed: HTTP2Connection, generation: Int) {
        multiplexed.channel.eventLoop.scheduleTask(in: idleTimeout) { [weak self] in
            guard let self, self.state.withLock({ $0.machine.idleCheck(multiplexed, generation: generation) }) else { return }
            self.logger.trace("closing an idle extra HTTP/2 connection", metadata: ["server": "\(self.factory.address.hostHeader)"])
            multiplexed.close()
        }
    }

    /// h2 connections open now (0 when the server speaks HTTP/1.1).
    var multiplexedCount: Int { state.withLock { $0.machine.shared.count } }

    var connectionCount: Int { state.withLock { $0.machine.total } }

    // MARK: Opening connections

    private func openConnection() {
        let id = state.withLock { s in
            s.nextConnection += 1
            return s.nextConnection
        }
        let holder = ConnectionHolder()
        let closeReason = CloseReason()
        let future = factory.connect { channel in
            try HTTPConnection.configure(channel, closeReason: closeReason) { [weak self] in
                if let self, let connection = holder.connection { self.closed(connection) }
            }
        }
        future.whenComplete { result in
            switch result {
            case .success(.http1(let channel)):
                let connection = HTTPConnection(id: id, channel: channel, closeReason: closeReason)
                holder.set(connection)
                self.logger.trace("connection \(id) open", metadata: ["server": "\(self.factory.address.hostHeader)"])
                self.connected(connection)
                if !channel.isActive { self.closed(connection) }
            case .success(.http2(let connection)):
                self.logger.trace("connection \(id) open (h2)", metadata: ["server": "\(self.factory.address.hostHeader)"])
                self.connected(connection)
            case .failure(let error):
                self.logger.debug("connection failed: \(error)")
                self.connectFailed(error)
            }
        }
    }

    private func connected(_ connection: HTTP2Connection) {
        let (action, waiters) = state.withLock { s in
            let action = s.machine.connectedMultiplexed(connection)
            switch action {
            case .serve(_, let ids), .close(_, let ids, _): return (action, ids.compactMap { s.takeContinuation($0) })
            }
        }
        switch action {
        case .serve(let connection, _):
            watchClose(connection)
            for waiter in waiters { waiter.resume(returning: .multiplexed(connection)) }
            // Opened for a burst that has ended meanwhile: it closes unless used soon.
            if let generation = state.withLock({ $0.machine.idleGeneration(connection) }) {
                scheduleIdleCheck(connection, generation: generation)
            }
        case .close(let connection, _, let instead):
            connection.close()
            for waiter in waiters {
                if let instead {
                    waiter.resume(returning: .multiplexed(instead))
                } else {
                    waiter.resume(throwing: APIClientError(.shutdown, "the client was shut down"))
                }
            }
        }
    }

    /// Forgets the h2 connection when it closes, so the next request opens another.
    private func watchClose(_ connection: HTTP2Connection) {
        connection.channel.closeFuture.whenComplete { [weak self] _ in
            self?.state.withLock { $0.machine.multiplexedUnusable(connection) }
        }
    }

    private func connected(_ connection: HTTPConnection) {
        let (action, waiter) = state.withLock { s in
            let action = s.machine.connected(connection)
            switch action {
            case .deliver(_, let id), .deliverAndConnect(_, let id, _): return (action, s.takeContinuation(id))
            case .park, .close: return (action, nil)
            }
        }
        switch action {
        case .deliver(let connection, _):
            if let waiter { waiter.resume(returning: .exclusive(connection)) } else { release(connection, reusable: true) }
        case .deliverAndConnect(let connection, _, let more):
            for _ in 0..<more { openConnection() }
            if let waiter { waiter.resume(returning: .exclusive(connection)) } else { release(connection, reusable: true) }
        case .park:
            break
        case .close(let connection):
            connection.close()
        }
    }

    private func connectFailed(_ error: any Error) {
        let waiters = state.withLock { s -> [CheckedContinuation<Slot, any Error>] in
            switch s.machine.connectFailed() {
            case .fail(let ids): return ids.compactMap { s.takeContinuation($0) }
            case .none: return []
            }
        }
        for waiter in waiters { waiter.resume(throwing: error) }
    }

    private func closed(_ connection: HTTPConnection) {
        state.withLock { $0.machine.idleClosed(connection) }
    }
}

extension ConnectionPool.State {
    fileprivate mutating func takeContinuation(_ id: Int) -> CheckedContinuation<ConnectionPool.Slot, any Error>? {
        guard case .registered(let continuation)? = waiters.removeValue(forKey: id) else { return nil }
        return continuation
    }
}

/// The connection a channel's close callback refers to, set once the connection exists.
private final class ConnectionHolder: Sendable {
    private let value = Mutex<HTTPConnection?>(nil)
    var connection: HTTPConnection? { value.withLock { $0 } }
    func set(_ connection: HTTPConnection) { value.withLock { $0 = connection } }
}
