import CapstanSPDY
import NIOCore

/// Runs one ``SPDYSession`` over a byte transport (an upgraded HTTP connection, or the bytes
/// tunnelled in WebSocket messages): bytes read feed the session, the frames it queues are
/// written in order by one writer task, and each stream is a ``SPDYStream`` its owner reads
/// and writes. Streams the peer opens arrive on ``incomingStreams``.
///
/// Back-pressure: a stream holds at most `inboxLimit` unread bytes before the connection
/// stops reading the transport (as the kubelet's SPDY library does); a writer waits while the
/// transport has more than `outboxLimit` bytes queued or its stream's window is closed.
actor SPDYConnection {
    nonisolated let incomingStreams: AsyncStream<SPDYStream>
    private let incoming: AsyncStream<SPDYStream>.Continuation
    private let session: SPDYSession
    private let outboundStream: AsyncStream<ByteBuffer>
    private let outbound: AsyncStream<ByteBuffer>.Continuation
    private let inboxLimit: Int
    private let outboxLimit: Int

    private struct Inbox {
        var chunks: [ByteBuffer] = []
        var buffered = 0
        var finished = false
        var failure: SPDYStreamError?
        var reader: CheckedContinuation<ByteBuffer?, any Error>?
        var writers: [CheckedContinuation<Void, any Error>] = []
        var reply: CheckedContinuation<SPDYHeaders, any Error>?
    }

    private var inboxes: [UInt32: Inbox] = [:]
    private var queuedOutbound = 0
    private var drainWaiters: [CheckedContinuation<Void, Never>] = []
    private var roomWaiter: CheckedContinuation<Void, Never>?
    private var ended: SPDYStreamError?

    init(role: SPDYSession.Role, configuration: SPDYSession.Configuration = .init(),
         inboxLimit: Int = 1 << 20, outboxLimit: Int = 1 << 20) {
        session = SPDYSession(role: role, configuration: configuration)
        (incomingStreams, incoming) = AsyncStream.makeStream()
        (outboundStream, outbound) = AsyncStream.makeStream()
        self.inboxLimit = inboxLimit
        self.outboxLimit = outboxLimit
    }

    /// Reads `inbound` into the session and writes its frames with `write` until the peer
    /// closes the transport, a session error, or ``close()``. Throws only session errors.
    func run<Inbound: AsyncSequence & Sendable>(inbound: Inbound,
                                                write: @escaping @Sendable (ByteBuffer) async throws -> Void) async throws
    where Inbound.Element == ByteBuffer {
        flush()
        let outboundStream = self.outboundStream
        let result: Result<Void, any Error> = await withTaskGroup(of: RunPart.self) { group in
            group.addTask {
                // The writer: ends when the outbound stream is finished (close, or end of input).
                do {
                    for await buffer in outboundStream {
                        try await write(buffer)
                        await self.wrote(buffer.readableBytes)
                    }
                } catch {
                    await self.end(SPDYStreamError("the connection failed: \(error)"))
                }
                return .writer
            }
            group.addTask {
                do {
                    for try await bytes in inbound {
                        try await self.ingest(bytes)
                    }
                    await self.end(SPDYStreamError("the peer closed the connection"))
                    return .reader(.success(()))
                } catch let error as SPDYError {
                    await self.end(SPDYStreamError("\(error)"))
                    return .reader(.failure(error))
                } catch {
                    await self.end(SPDYStreamError("the connection failed: \(error)"))
                    return .reader(.success(()))
                }
            }
            // The end of input finishes the outbound queue, and the writer ends once it has
            // written what was queued. A closed output (close()) means nothing more to read.
            var outcome: Result<Void, any Error> = .success(())
            for await finished in group {
                switch finished {
                case .writer: group.cancelAll()
                case .reader(let result): outcome = result
                }
            }
            return outcome
        }
        try result.get()
    }

    private enum RunPart: Sendable {
        case writer
        case reader(Result<Void, any Error>)
    }

    /// Sends GOAWAY and ends the connection once queued frames are written.
    func close() {
        session.goAway()
        flush()
        end(SPDYStreamError("the connection was closed"))
    }

    // MARK: Streams

    /// Opens a stream and waits for the peer's SYN_REPLY (client side).
    func openStream(headers: SPDYHeaders, finished: Bool = false) async throws -> SPDYStream {
        if let ended { throw ended }
        let id = try session.openStream(headers: headers, finished: finished)
        inboxes[id] = Inbox()
        flush()
        let replyHeaders = try await withCheckedThrowingContinuation { continuation in
            inboxes[id]?.reply = continuation
        }
        return SPDYStream(connection: self, id: id, headers: replyHeaders)
    }

    func reply(_ id: UInt32, headers: SPDYHeaders) throws {
        try session.reply(to: id, headers: headers)
        flush()
    }

    /// The next bytes of the stream, or nil once the peer half-closed it.
    func read(_ id: UInt32) async throws -> ByteBuffer? {
        guard var inbox = inboxes[id] else { return nil }
        if !inbox.chunks.isEmpty {
            let chunk = inbox.chunks.removeFirst()
            inbox.buffered -= chunk.readableBytes
            inboxes[id] = inbox
            consumed(chunk.readableBytes, on: id)
            return chunk
        }
        if let failure = inbox.failure { throw failure }
        if inbox.finished { return nil }
        return try await withCheckedThrowingContinuation { continuation in
            inboxes[id]?.reader = continuation
        }
    }

    func write(_ id: UInt32, _ data: ByteBuffer, finished: Bool) async throws {
        if let failure = inboxes[id]?.failure ?? ended { throw failure }
        try session.send(data, on: id, finished: finished)
        flush()
        if session.pendingBytes(on: id) > 0 {
            try await withCheckedThrowingContinuation { continuation in
                inboxes[id, default: Inbox()].writers.append(continuation)
            }
        }
        while queuedOutbound > outboxLimit && ended == nil {
            await withCheckedContinuation { drainWaiters.append($0) }
        }
    }

    func reset(_ id: UInt32, status: SPDYResetStatus) {
        session.reset(id, status: status)
        flush()
        fail(id, SPDYStreamError("stream \(id) was reset (\(status))"))
    }

    /// Forgets a stream its owner is done with. Its side is half-closed if it was not yet (not
    /// reset: the peer may still be sending its last bytes, which are then dropped).
    func release(_ id: UInt32) {
        if session.isOpen(id) {
            try? session.finish(id)
            flush()
        }
        inboxes[id] = nil
        wakeReaderLoopIfRoom()
    }

    // MARK: Internals

    private func ingest(_ bytes: ByteBuffer) async throws {
        let events: [SPDYSession.Event]
        do {
            events = try session.receive(bytes)
        } catch {
            flush()
            throw error
        }
        for event in events { apply(event) }
        flush()
        // Stop reading while some stream's reader lags too far behind.
        while ended == nil && inboxes.values.contains(where: { $0.buffered > inboxLimit }) {
            await withCheckedContinuation { roomWaiter = $0 }
        }
    }

    private func apply(_ event: SPDYSession.Event) {
        switch event {
        case .streamOpened(let id, let headers, let finished):
            inboxes[id] = Inbox(finished: finished)
            incoming.yield(SPDYStream(connection: self, id: id, headers: headers))
        case .streamReplied(let id, let headers, let finished):
            if finished { inboxes[id]?.finished = true }
            inboxes[id]?.reply?.resume(returning: headers)
            inboxes[id]?.reply = nil
        case .headers(let id, _, let finished):
            if finished { deliver(ByteBuffer(), finished: true, to: id) }
        case .data(let id, let data, let finished):
            deliver(data, finished: finished, to: id)
        case .streamReset(let id, let status, let byPeer):
            fail(id, SPDYStreamError("stream \(id) was reset \(byPeer ? "by the peer" : "locally") (\(status))"))
        case .streamWritable(let id):
            let writers = inboxes[id]?.writers ?? []
            inboxes[id]?.writers = []
            for writer in writers { writer.resume() }
        case .pingAnswered, .settings, .goAway:
            break
        }
    }

    private func deliver(_ data: ByteBuffer, finished: Bool, to id: UInt32) {
        guard var inbox = inboxes[id] else {
            session.consumed(data.readableBytes, on: id)
            return
        }
        if finished { inbox.finished = true }
        if let reader = inbox.reader, data.readableBytes > 0 {
            inbox.reader = nil
            inboxes[id] = inbox
            consumed(data.readableBytes, on: id)
            reader.resume(returning: data)
            return
        }
        if data.readableBytes > 0 {
            inbox.chunks.append(data)
            inbox.buffered += data.readableBytes
        }
        if inbox.finished, inbox.chunks.isEmpty, let reader = inbox.reader {
            inbox.reader = nil
            reader.resume(returning: nil)
        }
        inboxes[id] = inbox
    }

    private func consumed(_ count: Int, on id: UInt32) {
        session.consumed(count, on: id)
        flush()
        wakeReaderLoopIfRoom()
    }

    private func wakeReaderLoopIfRoom() {
        guard let waiter = roomWaiter, !inboxes.values.contains(where: { $0.buffered > inboxLimit }) else { return }
        roomWaiter = nil
        waiter.resume()
    }

    private func fail(_ id: UInt32, _ error: SPDYStreamError) {
        guard var inbox = inboxes[id] else { return }
        if inbox.failure == nil && !inbox.finished { inbox.failure = error }
        inbox.reader?.resume(throwing: error)
        inbox.reader = nil
        inbox.reply?.resume(throwing: error)
        inbox.reply = nil
        for writer in inbox.writers { writer.resume(throwing: error) }
        inbox.writers = []
        inboxes[id] = inbox
    }

    private func flush() {
        guard ended == nil, let bytes = session.takeOutbound() else { return }
        queuedOutbound += bytes.readableBytes
        outbound.yield(bytes)
    }

    private func wrote(_ count: Int) {
        queuedOutbound -= count
        guard queuedOutbound <= outboxLimit else { return }
        let waiters = drainWaiters
        drainWaiters = []
        for waiter in waiters { waiter.resume() }
    }

    /// Ends the connection: every stream fails (or ends, if the peer had finished it),
    /// writers are released and the outbound queue is closed after what is already in it.
    private func end(_ error: SPDYStreamError) {
        guard ended == nil else { return }
        flush()
        ended = error
        for id in inboxes.keys { fail(id, error) }
        incoming.finish()
        outbound.finish()
        let waiters = drainWaiters
        drainWaiters = []
        for waiter in waiters { waiter.resume() }
        roomWaiter?.resume()
        roomWaiter = nil
    }
}

/// One stream of a ``SPDYConnection``.
struct SPDYStream: Sendable {
    let connection: SPDYConnection
    let id: UInt32
    /// The headers the peer opened the stream with (or replied with, for streams this side opened).
    let headers: SPDYHeaders

    func reply(headers: SPDYHeaders = SPDYHeaders()) async throws { try await connection.reply(id, headers: headers) }
    /// The next bytes, or nil once the peer half-closed the stream. Throws if it was reset.
    func read() async throws -> ByteBuffer? { try await connection.read(id) }
    func write(_ data: ByteBuffer) async throws { try await connection.write(id, data, finished: false) }
    func write(_ text: String) async throws { try await write(ByteBuffer(string: text)) }
    /// Half-closes the stream (nothing more will be written).
    func finish() async throws { try await connection.write(id, ByteBuffer(), finished: true) }
    func reset(_ status: SPDYResetStatus = .cancel) async { await connection.reset(id, status: status) }
    func release() async { await connection.release(id) }

    /// Everything the peer sends until it half-closes the stream.
    func readAll(limit: Int = 1 << 20) async throws -> ByteBuffer {
        var all = ByteBuffer()
        while var chunk = try await read() {
            all.writeBuffer(&chunk)
            if all.readableBytes > limit { break }
        }
        return all
    }
}

/// A stream or connection that ended abnormally.
struct SPDYStreamError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
