extension ConnectionPool {
    /// The pool's bookkeeping without IO: which connections are idle, how many are leased or being
    /// opened, and who waits. Each event returns what the shell must do.
    ///
    /// Idle connections are reused last-in first-out (warm ones first). A new connection opens only
    /// while the pool is below `maxConnections` and a waiter is not already covered by one being
    /// opened; a connection that opens goes to the longest waiter. At most `maxIdle` connections are
    /// kept idle: a burst may open up to `maxConnections`, and those it no longer needs are closed as
    /// they come back instead of holding their buffers and TLS state on both ends.
    struct StateMachine<Connection: Hashable> {
        typealias WaiterID = Int

        enum LeaseAction: Equatable {
            /// Use this connection now.
            case use(Connection)
            /// The waiter was queued and a new connection must be opened.
            case queueAndConnect
            /// The waiter was queued; a connection will come back or open.
            case queue
            case failShutdown
        }

        enum ConnectedAction: Equatable {
            case deliver(Connection, to: WaiterID)
            case park
            case close(Connection)
        }

        enum ConnectFailedAction: Equatable {
            /// Fail this waiter with the connection error (it would have used the connection).
            case fail(WaiterID)
            case none
        }

        enum ReleaseAction: Equatable {
            case deliver(Connection, to: WaiterID)
            case park
            case close(Connection)
            /// Close the broken connection and open another for a waiting request.
            case closeAndConnect(Connection)
        }

        let maxConnections: Int
        let maxIdle: Int
        private(set) var idle: [Connection] = []
        private(set) var leased = 0
        private(set) var connecting = 0
        private var waiters: [WaiterID] = []
        private var waitersHead = 0
        private(set) var isShutdown = false

        init(maxConnections: Int, maxIdle: Int? = nil) {
            self.maxConnections = max(1, maxConnections)
            self.maxIdle = max(1, min(maxIdle ?? maxConnections, self.maxConnections))
        }

        /// Connections open, leased or being opened.
        var total: Int { idle.count + leased + connecting }
        var waiting: Int { waiters.count - waitersHead }

        /// Takes an idle connection if there is one, without queueing.
        mutating func leaseIdle() -> Connection? {
            guard !isShutdown, let connection = idle.popLast() else { return nil }
            leased += 1
            return connection
        }

        mutating func lease(_ waiter: WaiterID) -> LeaseAction {
            if isShutdown { return .failShutdown }
            if let connection = leaseIdle() { return .use(connection) }
            enqueue(waiter)
            if total < maxConnections, waiting > connecting {
                connecting += 1
                return .queueAndConnect
            }
            return .queue
        }

        mutating func connected(_ connection: Connection) -> ConnectedAction {
            connecting -= 1
            if isShutdown { return .close(connection) }
            if let waiter = dequeue() {
                leased += 1
                return .deliver(connection, to: waiter)
            }
            return park(connection)
        }

        mutating func connectFailed() -> ConnectFailedAction {
            connecting -= 1
            // Waiters not covered by another connection being opened get the error; retrying is
            // the request layer's decision.
            if waiting > connecting, let waiter = dequeue() { return .fail(waiter) }
            return .none
        }

        mutating func release(_ connection: Connection, reusable: Bool) -> ReleaseAction {
            leased -= 1
            if isShutdown { return .close(connection) }
            guard reusable else {
                if waiting > connecting, total < maxConnections {
                    connecting += 1
                    return .closeAndConnect(connection)
                }
                return .close(connection)
            }
            if let waiter = dequeue() {
                leased += 1
                return .deliver(connection, to: waiter)
            }
            return park(connection) == .park ? .park : .close(connection)
        }

        /// Keeps a connection nobody waits for, unless `maxIdle` are kept already.
        private mutating func park(_ connection: Connection) -> ConnectedAction {
            guard idle.count < maxIdle else { return .close(connection) }
            idle.append(connection)
            return .park
        }

        /// An idle connection closed (the server hung up). Leased ones come back through `release`.
        mutating func idleClosed(_ connection: Connection) {
            if let i = idle.firstIndex(of: connection) { idle.remove(at: i) }
        }

        /// A waiter gave up (its task was cancelled). Returns false if it was not waiting.
        mutating func cancel(_ waiter: WaiterID) -> Bool {
            guard let i = waiters[waitersHead...].firstIndex(of: waiter) else { return false }
            waiters.remove(at: i)
            return true
        }

        /// Refuses new leases; returns the idle connections to close and the waiters to fail.
        mutating func shutdown() -> (close: [Connection], fail: [WaiterID]) {
            isShutdown = true
            let close = idle
            idle = []
            let fail = Array(waiters[waitersHead...])
            waiters = []
            waitersHead = 0
            return (close, fail)
        }

        private mutating func enqueue(_ waiter: WaiterID) {
            waiters.append(waiter)
        }

        private mutating func dequeue() -> WaiterID? {
            guard waitersHead < waiters.count else { return nil }
            let waiter = waiters[waitersHead]
            waitersHead += 1
            if waitersHead == waiters.count {
                waiters.removeAll(keepingCapacity: true)
                waitersHead = 0
            } else if waitersHead > 64, waitersHead * 2 > waiters.count {
                waiters.removeFirst(waitersHead)
                waitersHead = 0
            }
            return waiter
        }
    }
}
