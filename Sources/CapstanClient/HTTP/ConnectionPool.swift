import Logging
import NIOCore
import Synchronization

/// Keep-alive connections to one server, leased for one request at a time. The bookkeeping is
/// ``StateMachine``; this shell opens and closes connections and resumes waiting tasks.
final class ConnectionPool: Sendable {
    fileprivate enum Waiter {
        /// Allocated; the task has not registered its continuation yet.
        case pending
        /// Cancelled before it registered.
        case cancelled
        case registered(CheckedContinuation<HTTPConnection, any Error>)
    }

    fileprivate struct State {
        var machine: StateMachine<HTTPConnection>
        var waiters: [Int: Waiter] = [:]
        var nextWaiter = 0
        var nextConnection = 0
    }

    private let state: Mutex<State>
    private let factory: ConnectionFactory
    private let logger: Logger

    init(factory: ConnectionFactory, maxConnections: Int, maxIdle: Int? = nil, logger: Logger) {
        self.factory = factory
        self.logger = logger
        self.state = Mutex(State(machine: StateMachine(maxConnections: maxConnections, maxIdle: maxIdle)))
    }

    /// A connection for one request; give it back with ``release(_:reusable:)``.
    func lease() async throws -> HTTPConnection {
        // Fast path: an idle connection, no waiting.
        if let connection = state.withLock({ $0.machine.leaseIdle() }) {
            if connection.channel.isActive { return connection }
            release(connection, reusable: false)
        }
        let id = state.withLock { s in
            let id = s.nextWaiter
            s.nextWaiter += 1
            s.waiters[id] = .pending
            return id
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<HTTPConnection, any Error>) in
                enum Next { case resume(HTTPConnection), fail(any Error), wait, connect }
                let next: Next = state.withLock { s in
                    if case .cancelled? = s.waiters[id] {
                        s.waiters[id] = nil
                        return .fail(CancellationError())
                    }
                    switch s.machine.lease(id) {
                    case .use(let connection):
                        s.waiters[id] = nil
                        return .resume(connection)
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
                case .resume(let connection): continuation.resume(returning: connection)
                case .fail(let error): continuation.resume(throwing: error)
                case .wait: break
                case .connect: openConnection()
                }
            }
        } onCancel: {
            let continuation: CheckedContinuation<HTTPConnection, any Error>? = state.withLock { s in
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
        let reusable = reusable && connection.channel.isActive
        let (action, waiter) = state.withLock { s in
            let action = s.machine.release(connection, reusable: reusable)
            if case .deliver(_, let id) = action { return (action, s.takeContinuation(id)) }
            return (action, nil)
        }
        switch action {
        case .deliver(let connection, _):
            if let waiter {
                waiter.resume(returning: connection)
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
        let (close, fail) = state.withLock { s in
            let (close, fail) = s.machine.shutdown()
            return (close, fail.compactMap { s.takeContinuation($0) })
        }
        for waiter in fail { waiter.resume(throwing: APIClientError(.shutdown, "the client was shut down")) }
        return close.map { $0.channel.close() }
    }

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
            case .success(let channel):
                let connection = HTTPConnection(id: id, channel: channel, closeReason: closeReason)
                holder.set(connection)
                self.logger.trace("connection \(id) open", metadata: ["server": "\(self.factory.address.hostHeader)"])
                self.connected(connection)
                if !channel.isActive { self.closed(connection) }
            case .failure(let error):
                self.logger.debug("connection failed: \(error)")
                self.connectFailed(error)
            }
        }
    }

    private func connected(_ connection: HTTPConnection) {
        let (action, waiter) = state.withLock { s in
            let action = s.machine.connected(connection)
            if case .deliver(_, let id) = action { return (action, s.takeContinuation(id)) }
            return (action, nil)
        }
        switch action {
        case .deliver(let connection, _):
            if let waiter { waiter.resume(returning: connection) } else { release(connection, reusable: true) }
        case .park:
            break
        case .close(let connection):
            connection.close()
        }
    }

    private func connectFailed(_ error: any Error) {
        let waiter = state.withLock { s -> CheckedContinuation<HTTPConnection, any Error>? in
            switch s.machine.connectFailed() {
            case .fail(let id): return s.takeContinuation(id)
            case .none: return nil
            }
        }
        waiter?.resume(throwing: error)
    }

    private func closed(_ connection: HTTPConnection) {
        state.withLock { $0.machine.idleClosed(connection) }
    }
}

extension ConnectionPool.State {
    fileprivate mutating func takeContinuation(_ id: Int) -> CheckedContinuation<HTTPConnection, any Error>? {
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
