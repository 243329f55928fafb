extension ConnectionPool {
    /// The pool's bookkeeping without IO: which connections are idle, how many are leased or being
    /// opened, and who waits. Each event returns what the shell must do.
    ///
    /// Idle connections are reused last-in first-out (warm ones first). A new connection opens only
    /// while the pool is below `maxConnections` and a waiter is not already covered by one being
    /// opened; a connection that opens goes to the longest waiter. At most `maxIdle` connections are
    /// kept idle: a burst may open up to `maxConnections`, and those it no longer needs are closed as
    /// they come back instead of holding their buffers and TLS state on both ends.
    ///
    /// When the server negotiates HTTP/2, one `Multiplexed` connection carries every request at
    /// once (a stream each) and no HTTP/1.1 connection is kept. While the server is known (or, with
    /// `probeOneAtATime`, may turn out) to speak h2, only one connection is opened at a time;
    /// waiters queue for it and all get it. If it turns out HTTP/1.1, the waiters it cannot serve
    /// get connections of their own.
    struct StateMachine<Connection: Hashable, Multiplexed: Hashable> {
        typealias WaiterID = Int

        /// What the server spoke on the last connection opened.
        enum ServerProtocol: Equatable { case unknown, http1, http2 }

        enum LeaseAction: Equatable {
            /// Use this connection now.
            case use(Connection)
            /// Open a stream on this connection now.
            case useMultiplexed(Multiplexed)
            /// The waiter was queued and a new connection must be opened.
            case queueAndConnect
            /// The waiter was queued; a connection will come back or open.
            case queue
            case failShutdown
        }

        enum ConnectedAction: Equatable {
            case deliver(Connection, to: WaiterID)
            /// Deliver, and open this many more connections for the waiters left.
            case deliverAndConnect(Connection, to: WaiterID, connect: Int)
            case park
            case close(Connection)
        }

        enum ConnectedMultiplexedAction: Equatable {
            /// Give every waiter a stream on this connection.
            case serve(Multiplexed, waiters: [WaiterID])
            /// Not needed (shutdown, or another h2 connection opened first): close it, and serve
            /// the waiters, if any, on `instead`.
            case close(Multiplexed, serve: [WaiterID], on: Multiplexed?)
        }

        enum ConnectFailedAction: Equatable {
            /// Fail these waiters with the connection error (they would have used the connection).
            case fail([WaiterID])
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
        /// The open h2 connection new requests go to.
        private(set) var multiplexed: Multiplexed?
        private(set) var serverProtocol = ServerProtocol.unknown

        /// Open one connection at a time until the server's protocol is known (h2 is offered).
        let probeOneAtATime: Bool

        init(maxConnections: Int, maxIdle: Int? = nil, probeOneAtATime: Bool = false) {
            self.maxConnections = max(1, maxConnections)
            self.maxIdle = max(1, min(maxIdle ?? maxConnections, self.maxConnections))
            self.probeOneAtATime = probeOneAtATime
        }

        /// Connections open, leased or being opened.
        var total: Int { idle.count + leased + connecting + (multiplexed == nil ? 0 : 1) }
        var waiting: Int { waiters.count - waitersHead }

        /// Takes an idle connection if there is one, without queueing.
        mutating func leaseIdle() -> Connection? {
            guard !isShutdown, let connection = idle.popLast() else { return nil }
            leased += 1
            return connection
        }

        mutating func lease(_ waiter: WaiterID) -> LeaseAction {
            if isShutdown { return .failShutdown }
            if let multiplexed { return .useMultiplexed(multiplexed) }
            if let connection = leaseIdle() { return .use(connection) }
            enqueue(waiter)
            if serverProtocol == .http2 || (serverProtocol == .unknown && probeOneAtATime) {
                // One connection will serve every waiter (if it turns out h2).
                if connecting > 0 { return .queue }
                connecting += 1
                return .queueAndConnect
            }
            if total < maxConnections, waiting > connecting {
                connecting += 1
                return .queueAndConnect
            }
            return .queue
        }

        mutating func connected(_ connection: Connection) -> ConnectedAction {
            connecting -= 1
            serverProtocol = .http1
            if isShutdown { return .close(connection) }
            if let waiter = dequeue() {
                leased += 1
                // Waiters that queued for a connection hoped to be h2 need their own now.
                let more = min(waiting - connecting, maxConnections - total)
                guard more > 0 else { return .deliver(connection, to: waiter) }
                connecting += more
                return .deliverAndConnect(connection, to: waiter, connect: more)
            }
            return park(connection)
        }

        /// An h2 connection opened.
        mutating func connectedMultiplexed(_ connection: Multiplexed) -> ConnectedMultiplexedAction {
            connecting -= 1
            serverProtocol = .http2
            if isShutdown { return .close(connection, serve: [], on: nil) }
            var waiters: [WaiterID] = []
            while let waiter = dequeue() { waiters.append(waiter) }
            if let multiplexed { return .close(connection, serve: waiters, on: multiplexed) }
            multiplexed = connection
            return .serve(connection, waiters: waiters)
        }

        /// An h2 connection opened outside the pool becomes the one new requests use.
        mutating func adopt(_ connection: Multiplexed) {
            serverProtocol = .http2
            if !isShutdown { multiplexed = connection }
        }

        /// The h2 connection closed or was told to go away: the next lease opens another.
        mutating func multiplexedUnusable(_ connection: Multiplexed) {
            if multiplexed == connection { multiplexed = nil }
        }

        mutating func connectFailed() -> ConnectFailedAction {
            connecting -= 1
            // Waiters not covered by another connection being opened get the error; retrying is
            // the request layer's decision. Waiting for an h2 connection, all were covered by it.
            if serverProtocol == .http2, connecting == 0 {
                var waiters: [WaiterID] = []
                while let waiter = dequeue() { waiters.append(waiter) }
                return waiters.isEmpty ? .none : .fail(waiters)
            }
            if waiting > connecting, let waiter = dequeue() { return .fail([waiter]) }
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

        /// Refuses new leases; returns the idle connections and the h2 connection to close and the
        /// waiters to fail.
        mutating func shutdown() -> (close: [Connection], closeMultiplexed: Multiplexed?, fail: [WaiterID]) {
            isShutdown = true
            let close = idle
            idle = []
            let closeMultiplexed = multiplexed
            multiplexed = nil
            let fail = Array(waiters[waitersHead...])
            waiters = []
            waitersHead = 0
            return (close, closeMultiplexed, fail)
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
