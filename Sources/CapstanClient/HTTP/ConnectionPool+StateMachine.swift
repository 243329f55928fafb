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
    /// When the server negotiates HTTP/2, one `Multiplexed` connection (the primary) carries
    /// watches and light traffic, a stream each, and no HTTP/1.1 connection is kept. While the
    /// server is known (or, with `probeOneAtATime`, may turn out) to speak h2, only one connection
    /// is opened at a time; waiters queue for it and all get it. If it turns out HTTP/1.1, the
    /// waiters it cannot serve get connections of their own.
    ///
    /// One connection is one event loop on each side, so a busy client's requests would queue on
    /// one core. Each request goes to the h2 connection with the fewest requests in flight; when
    /// even that one has `streamsPerConnection` or more, one more h2 connection is opened (up to
    /// `maxConnections`) while the request uses the existing one. Watches stay on the primary.
    /// An extra connection left without requests is closed after the idle timeout (the shell
    /// schedules ``idleCheck(_:generation:)``) unless it was used again meanwhile.
    struct StateMachine<Connection: Hashable, Multiplexed: Hashable> {
        typealias WaiterID = Int

        /// What the server spoke on the last connection opened.
        enum ServerProtocol: Equatable { case unknown, http1, http2 }

        enum LeaseAction: Equatable {
            /// Use this connection now.
            case use(Connection)
            /// Open a stream on this connection now (and report its end with ``streamEnded(on:)``).
            case useMultiplexed(Multiplexed)
            /// As `useMultiplexed`, and open one more h2 connection: every one is busy.
            case useMultiplexedAndConnect(Multiplexed)
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
            /// Give every waiter a stream on this connection (their requests count as in flight on it).
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
        /// One open h2 connection: requests in flight on it, and a count bumped by every lease
        /// (an idle check scheduled before the last lease is stale).
        struct Shared: Equatable {
            var connection: Multiplexed
            var inFlight = 0
            var generation = 0
        }

        /// The open h2 connections, the primary (watches, light traffic) first; a handful at most.
        private(set) var shared: [Shared] = []
        /// Connections being opened because every h2 connection was busy.
        private(set) var growing = 0
        private(set) var serverProtocol = ServerProtocol.unknown

        /// Open one connection at a time until the server's protocol is known (h2 is offered).
        let probeOneAtATime: Bool
        /// Requests in flight on the least busy h2 connection that make the next lease open another.
        let streamsPerConnection: Int

        init(maxConnections: Int, maxIdle: Int? = nil, probeOneAtATime: Bool = false, streamsPerConnection: Int = 16) {
            self.maxConnections = max(1, maxConnections)
            // 0 keeps none: the watches' pool, whose HTTP/1.1 probe has nothing more to do.
            self.maxIdle = max(0, min(maxIdle ?? maxConnections, self.maxConnections))
            self.probeOneAtATime = probeOneAtATime
            self.streamsPerConnection = max(1, streamsPerConnection)
        }

        /// The h2 connection watches go to and whose presence means the server speaks h2.
        var multiplexed: Multiplexed? { shared.first?.connection }

        /// Connections open, leased or being opened.
        var total: Int { idle.count + leased + connecting + shared.count }
        var waiting: Int { waiters.count - waitersHead }

        /// Takes an idle connection if there is one, without queueing.
        mutating func leaseIdle() -> Connection? {
            guard !isShutdown, let connection = idle.popLast() else { return nil }
            leased += 1
            return connection
        }

        /// A stream on the least busy h2 connection, if there is one, without queueing.
        mutating func leaseMultiplexed() -> LeaseAction? {
            guard !isShutdown, !shared.isEmpty else { return nil }
            var best = 0
            for i in shared.indices.dropFirst() where shared[i].inFlight < shared[best].inFlight { best = i }
            shared[best].inFlight += 1
            shared[best].generation += 1
            let busy = shared[best].inFlight > streamsPerConnection
            if busy, growing == 0, connecting == 0, total < maxConnections {
                growing += 1
                connecting += 1
                return .useMultiplexedAndConnect(shared[best].connection)
            }
            return .useMultiplexed(shared[best].connection)
        }

        /// A request on an h2 connection ended. Returns the generation to pass to
        /// ``idleCheck(_:generation:)`` after the idle timeout when it left an extra connection idle.
        mutating func streamEnded(on connection: Multiplexed) -> Int? {
            guard let i = shared.firstIndex(where: { $0.connection == connection }) else { return nil }
            shared[i].inFlight = max(0, shared[i].inFlight - 1)
            return idleGeneration(connection)
        }

        /// The generation for ``idleCheck(_:generation:)`` if `connection` is an extra h2
        /// connection without requests (one that opened after the burst that wanted it ended).
        func idleGeneration(_ connection: Multiplexed) -> Int? {
            guard let i = shared.firstIndex(where: { $0.connection == connection }), i > 0, shared[i].inFlight == 0 else { return nil }
            return shared[i].generation
        }

        /// The idle timeout passed for an extra h2 connection: true if it is still idle and
        /// unused since (it is then forgotten; the shell closes it).
        mutating func idleCheck(_ connection: Multiplexed, generation: Int) -> Bool {
            guard let i = shared.firstIndex(where: { $0.connection == connection }), i > 0,
                  shared[i].inFlight == 0, shared[i].generation == generation else { return false }
            shared.remove(at: i)
            return true
        }

        mutating func lease(_ waiter: WaiterID) -> LeaseAction {
            if isShutdown { return .failShutdown }
            if let action = leaseMultiplexed() { return action }
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
            growing = 0
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
            let wanted = growing > 0
            if wanted { growing -= 1 }
            if isShutdown { return .close(connection, serve: [], on: nil) }
            var waiters: [WaiterID] = []
            while let waiter = dequeue() { waiters.append(waiter) }
            if let multiplexed, !wanted {
                // A surplus of the burst that learned the protocol: not needed.
                if let i = shared.firstIndex(where: { $0.connection == multiplexed }) { shared[i].inFlight += waiters.count }
                return .close(connection, serve: waiters, on: multiplexed)
            }
            shared.append(Shared(connection: connection, inFlight: waiters.count))
            return .serve(connection, waiters: waiters)
        }

        /// An h2 connection opened outside the pool becomes the primary (if there is none).
        mutating func adopt(_ connection: Multiplexed) {
            serverProtocol = .http2
            if !isShutdown, shared.isEmpty { shared.append(Shared(connection: connection)) }
        }

        /// The h2 connection closed or was told to go away: the next lease uses another, or
        /// opens one when none is left. Requests in flight on it end by themselves.
        mutating func multiplexedUnusable(_ connection: Multiplexed) {
            if let i = shared.firstIndex(where: { $0.connection == connection }) { shared.remove(at: i) }
        }

        mutating func connectFailed() -> ConnectFailedAction {
            connecting -= 1
            if growing > 0 {
                // Requests went to the connections open; the next busy lease tries again.
                growing -= 1
                return .none
            }
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

        /// Refuses new leases; returns the idle connections and the h2 connections to close and the
        /// waiters to fail.
        mutating func shutdown() -> (close: [Connection], closeMultiplexed: [Multiplexed], fail: [WaiterID]) {
            isShutdown = true
            let close = idle
            idle = []
            let closeMultiplexed = shared.map(\.connection)
            shared = []
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
