import NIOCore

/// One SPDY/3.1 session as a pure state machine: bytes from the peer go in through
/// ``receive(_:)`` and come out as ``Event``s; every frame the session wants to send
/// (replies, data, window updates, ping answers, resets, GOAWAY) accumulates in an outbound
/// buffer the caller drains with ``takeOutbound()`` and writes to the transport.
///
/// The server side accepts client-initiated (odd) streams; the client side opens them, which
/// is how tests and tools talk to a server. Stream errors are answered with RST_STREAM and
/// the session goes on; session errors queue a GOAWAY(PROTOCOL_ERROR) and throw.
///
/// Flow control: each stream, and the session as a whole (3.1), starts with a 64 KiB window
/// in each direction. Received data counts against the receive windows, and
/// ``consumed(_:on:)`` gives the bytes back with WINDOW_UPDATE once half a window has been
/// used. Data to send waits in a per-stream queue while the peer's windows are closed.
/// Kubernetes' SPDY library (spdystream, used by kubectl and the kubelet) neither sends
/// WINDOW_UPDATE nor honours it, so by default (`strictFlowControl == false`) the session
/// only holds data back once the peer has shown it does flow control (it sent a
/// WINDOW_UPDATE or an initial window size), and tolerates a peer that overruns our windows.
/// With `strictFlowControl` both rules are enforced as the spec words them.
///
/// Not thread-safe; one owner drives it.
public final class SPDYSession {
    public enum Role: Sendable, Hashable {
        case server
        case client
    }

    public struct Configuration: Sendable, Hashable {
        public var initialWindowSize: Int = 65_536
        public var strictFlowControl = false
        /// The largest DATA frame this side sends.
        public var maximumDataFrameLength = 32 * 1024
        public var maximumHeaderBlockLength = 256 * 1024
        /// Streams the peer may have open at once; more are refused (REFUSED_STREAM).
        public var maximumConcurrentStreams = 1_000

        public init() {}
    }

    public enum Event: Hashable, Sendable {
        /// The peer opened a stream (SYN_STREAM). `finished`: it will send nothing on it.
        case streamOpened(streamID: UInt32, headers: SPDYHeaders, finished: Bool)
        /// The peer answered a stream this side opened (SYN_REPLY).
        case streamReplied(streamID: UInt32, headers: SPDYHeaders, finished: Bool)
        case headers(streamID: UInt32, headers: SPDYHeaders, finished: Bool)
        /// Data (possibly empty) and whether the peer half-closed the stream with it.
        case data(streamID: UInt32, data: ByteBuffer, finished: Bool)
        /// The stream ended abnormally: the peer reset it, or this session reset it because the
        /// peer broke a stream rule (the status tells which).
        case streamReset(streamID: UInt32, status: SPDYResetStatus, byPeer: Bool)
        /// Data queued on the stream has all been sent (its window had been closed).
        case streamWritable(streamID: UInt32)
        case pingAnswered(id: UInt32)
        case settings([SPDYSetting])
        case goAway(lastGoodStreamID: UInt32, status: SPDYGoAwayStatus)
    }

    struct StreamState {
        let locallyInitiated: Bool
        var replied: Bool
        var localFinished = false
        var remoteFinished: Bool
        var sendWindow: Int
        var receiveWindow: Int
        var unacknowledged = 0
        var pending = ByteBuffer()
        var pendingFinish = false
    }

    public let role: Role
    public let configuration: Configuration
    private let decoder: SPDYFrameDecoder
    private let encoder = SPDYFrameEncoder()
    private var inbound = ByteBuffer()
    private var outbound = ByteBuffer()
    private var streams: [UInt32: StreamState] = [:]
    private var lastRemoteStreamID: UInt32 = 0
    private var nextLocalStreamID: UInt32
    private var nextPingID: UInt32
    private var outstandingPings: Set<UInt32> = []
    private var peerInitialWindow = 65_536
    private var peerDoesFlowControl = false
    private var sessionSendWindow = 65_536
    private var sessionReceiveWindow: Int
    private var sessionUnacknowledged = 0
    public private(set) var goAwaySent = false
    public private(set) var goAwayReceived = false
    private var failed = false

    public init(role: Role, configuration: Configuration = Configuration()) {
        self.role = role
        self.configuration = configuration
        self.decoder = SPDYFrameDecoder(maximumHeaderBlockLength: configuration.maximumHeaderBlockLength)
        nextLocalStreamID = role == .client ? 1 : 2
        nextPingID = role == .client ? 1 : 2
        // The session window always starts at 64 KiB; a larger configured window is granted
        // to the peer with a session WINDOW_UPDATE right away.
        sessionReceiveWindow = max(65_536, configuration.initialWindowSize)
        if configuration.initialWindowSize != 65_536 {
            emit(.settings(clearPersisted: false, [SPDYSetting(id: SPDYSetting.initialWindowSizeID,
                                                               value: UInt32(configuration.initialWindowSize))]))
        }
        if configuration.initialWindowSize > 65_536 {
            emit(.windowUpdate(streamID: 0, delta: UInt32(configuration.initialWindowSize - 65_536)))
        }
    }

    // MARK: Queries

    /// Streams not yet closed in both directions (and not reset).
    public var openStreamCount: Int { streams.count }
    public func isOpen(_ streamID: UInt32) -> Bool { streams[streamID] != nil }
    /// Bytes queued on the stream, waiting for the peer's window.
    public func pendingBytes(on streamID: UInt32) -> Int { streams[streamID]?.pending.readableBytes ?? 0 }
    /// How much more the peer may send on the stream before it must wait for a WINDOW_UPDATE.
    public func receiveWindow(of streamID: UInt32) -> Int? { streams[streamID]?.receiveWindow }
    public func sendWindow(of streamID: UInt32) -> Int? { streams[streamID]?.sendWindow }

    /// The frames queued for the peer, or nil when there are none.
    public func takeOutbound() -> ByteBuffer? {
        guard outbound.readableBytes > 0 else { return nil }
        defer { outbound = ByteBuffer() }
        return outbound
    }

    // MARK: Input

    /// Feeds bytes from the peer; returns what happened. Partial frames wait for more bytes.
    public func receive(_ bytes: ByteBuffer) throws(SPDYError) -> [Event] {
        guard !failed else { throw .sessionClosed("the session ended after an error") }
        var bytes = bytes
        inbound.writeBuffer(&bytes)
        var events: [Event] = []
        do {
            while let result = try decoder.next(from: &inbound) {
                switch result {
                case .frame(let frame):
                    try handle(frame, into: &events)
                case .invalidHeaderBlock(let streamID, _):
                    // The frame is refused; if it would have opened a stream, that stream id is used up.
                    if isRemoteInitiated(streamID), streamID > lastRemoteStreamID, streams[streamID] == nil {
                        lastRemoteStreamID = streamID
                    }
                    resetStream(streamID, .protocolError, into: &events)
                }
            }
        } catch {
            failed = true
            if !goAwaySent {
                goAwaySent = true
                emit(.goAway(lastGoodStreamID: lastRemoteStreamID, status: .protocolError))
            }
            throw error
        }
        inbound.discardReadBytes()
        return events
    }

    private func handle(_ frame: SPDYFrame, into events: inout [Event]) throws(SPDYError) {
        switch frame {
        case .synStream(let syn):
            try handleSynStream(syn, into: &events)
        case .synReply(let streamID, let headers, let finished):
            guard var stream = streams[streamID], stream.locallyInitiated else {
                return resetStream(streamID, .invalidStream, into: &events)
            }
            guard !stream.replied else { return resetStream(streamID, .streamInUse, into: &events) }
            stream.replied = true
            if finished { stream.remoteFinished = true }
            streams[streamID] = stream
            events.append(.streamReplied(streamID: streamID, headers: headers, finished: finished))
            closeIfDone(streamID)
        case .headers(let streamID, let headers, let finished):
            guard var stream = streams[streamID] else { return resetStream(streamID, .invalidStream, into: &events) }
            guard !stream.remoteFinished else { return resetStream(streamID, .streamAlreadyClosed, into: &events) }
            if finished { stream.remoteFinished = true }
            streams[streamID] = stream
            events.append(.headers(streamID: streamID, headers: headers, finished: finished))
            closeIfDone(streamID)
        case .data(let streamID, let data, let finished):
            try handleData(streamID, data, finished: finished, into: &events)
        case .rstStream(let streamID, let status):
            if streams.removeValue(forKey: streamID) != nil {
                events.append(.streamReset(streamID: streamID, status: status, byPeer: true))
            }
        case .settings(_, let settings):
            for setting in settings where setting.id == SPDYSetting.initialWindowSizeID {
                let value = Int(setting.value)
                guard value <= Int(Int32.max) else { throw .protocolError("initial window size \(value) is too large") }
                let delta = value - peerInitialWindow
                peerInitialWindow = value
                peerDoesFlowControl = true
                for id in streams.keys { streams[id]!.sendWindow += delta }
            }
            events.append(.settings(settings))
            flushAll(into: &events)
        case .ping(let id):
            if id % 2 == (role == .client ? 1 : 0) {
                if outstandingPings.remove(id) != nil { events.append(.pingAnswered(id: id)) }
            } else {
                emit(.ping(id: id))
            }
        case .goAway(let lastGoodStreamID, let status):
            goAwayReceived = true
            // Streams this side opened after the peer's last good one were never processed.
            for id in streams.keys.sorted() where streams[id]!.locallyInitiated && id > lastGoodStreamID {
                streams[id] = nil
                events.append(.streamReset(streamID: id, status: .refusedStream, byPeer: true))
            }
            events.append(.goAway(lastGoodStreamID: lastGoodStreamID, status: status))
        case .windowUpdate(let streamID, let delta):
            guard delta > 0 else {
                if streamID == 0 { throw .protocolError("session WINDOW_UPDATE with delta 0") }
                return resetStream(streamID, .protocolError, into: &events)
            }
            peerDoesFlowControl = true
            if streamID == 0 {
                sessionSendWindow += Int(delta)
                guard sessionSendWindow <= Int(Int32.max) else { throw .protocolError("session window overflow") }
                flushAll(into: &events)
            } else if var stream = streams[streamID] {
                stream.sendWindow += Int(delta)
                guard stream.sendWindow <= Int(Int32.max) else { return resetStream(streamID, .flowControlError, into: &events) }
                streams[streamID] = stream
                flush(streamID, into: &events)
            }
        case .unknownControl:
            break
        }
    }

    private func handleSynStream(_ syn: SPDYSynStream, into events: inout [Event]) throws(SPDYError) {
        let id = syn.streamID
        guard isRemoteInitiated(id) else {
            throw .protocolError("the peer opened stream \(id), whose parity belongs to this side")
        }
        guard id >= lastRemoteStreamID else {
            throw .protocolError("stream \(id) opened after stream \(lastRemoteStreamID)")
        }
        guard id > lastRemoteStreamID else { return resetStream(id, .streamInUse, into: &events) }
        lastRemoteStreamID = id
        if goAwaySent || streams.count >= configuration.maximumConcurrentStreams {
            return resetStream(id, .refusedStream, into: &events)
        }
        streams[id] = StreamState(locallyInitiated: false, replied: false, localFinished: syn.unidirectional,
                                  remoteFinished: syn.finished, sendWindow: peerInitialWindow,
                                  receiveWindow: configuration.initialWindowSize)
        events.append(.streamOpened(streamID: id, headers: syn.headers, finished: syn.finished))
    }

    private func handleData(_ id: UInt32, _ data: ByteBuffer, finished: Bool, into events: inout [Event]) throws(SPDYError) {
        let count = data.readableBytes
        sessionReceiveWindow -= count
        if sessionReceiveWindow < 0 && configuration.strictFlowControl {
            throw .protocolError("the peer overran the session window by \(-sessionReceiveWindow) bytes")
        }
        guard var stream = streams[id] else {
            // Data for a stream that is gone still counts as consumed at the session level.
            consumedBySession(count)
            return resetStream(id, isKnownOrPast(id) ? .streamAlreadyClosed : .invalidStream, into: &events)
        }
        guard !stream.remoteFinished else {
            consumedBySession(count)
            return resetStream(id, .streamAlreadyClosed, into: &events)
        }
        guard stream.replied || !stream.locallyInitiated else {
            consumedBySession(count)
            return resetStream(id, .protocolError, into: &events)
        }
        stream.receiveWindow -= count
        if stream.receiveWindow < 0 && configuration.strictFlowControl {
            consumedBySession(count)
            return resetStream(id, .flowControlError, into: &events)
        }
        if finished { stream.remoteFinished = true }
        streams[id] = stream
        events.append(.data(streamID: id, data: data, finished: finished))
        closeIfDone(id)
    }

    // MARK: Commands

    /// Opens a stream (SYN_STREAM) and returns its id.
    public func openStream(headers: SPDYHeaders, finished: Bool = false, priority: UInt8 = 0) throws(SPDYError) -> UInt32 {
        try checkUsable()
        guard !goAwayReceived else { throw .sessionClosed("the peer sent GOAWAY; no new streams") }
        guard nextLocalStreamID <= 0x7FFF_FFFF else { throw .sessionClosed("stream ids are exhausted") }
        let id = nextLocalStreamID
        nextLocalStreamID += 2
        streams[id] = StreamState(locallyInitiated: true, replied: false, localFinished: finished, remoteFinished: false,
                                  sendWindow: peerInitialWindow, receiveWindow: configuration.initialWindowSize)
        emit(.synStream(SPDYSynStream(streamID: id, priority: priority, headers: headers, finished: finished)))
        return id
    }

    /// Answers a stream the peer opened (SYN_REPLY).
    public func reply(to streamID: UInt32, headers: SPDYHeaders = SPDYHeaders(), finished: Bool = false) throws(SPDYError) {
        try checkUsable()
        guard var stream = streams[streamID], !stream.locallyInitiated else {
            throw .invalidState("stream \(streamID) is not an open stream of the peer")
        }
        guard !stream.replied else { throw .invalidState("stream \(streamID) was already answered") }
        stream.replied = true
        if finished { stream.localFinished = true }
        streams[streamID] = stream
        emit(.synReply(streamID: streamID, headers: headers, finished: finished))
        closeIfDone(streamID)
    }

    /// Sends data, and with `finished` half-closes the stream after it. Data the peer's
    /// window does not allow yet waits in the stream's queue.
    public func send(_ data: ByteBuffer, on streamID: UInt32, finished: Bool = false) throws(SPDYError) {
        try checkUsable()
        guard var stream = streams[streamID] else { throw .invalidState("stream \(streamID) is not open") }
        guard !stream.localFinished, !stream.pendingFinish else { throw .invalidState("stream \(streamID) is already half-closed") }
        guard stream.replied || stream.locallyInitiated else {
            throw .invalidState("stream \(streamID) must be answered before data is sent on it")
        }
        var data = data
        stream.pending.writeBuffer(&data)
        if finished { stream.pendingFinish = true }
        streams[streamID] = stream
        var ignored: [Event] = []
        flush(streamID, into: &ignored)
    }

    /// Half-closes the stream (an empty DATA frame with FIN after anything queued).
    public func finish(_ streamID: UInt32) throws(SPDYError) {
        try send(ByteBuffer(), on: streamID, finished: true)
    }

    /// The application has taken `count` received bytes of the stream; once half a window
    /// has been taken, the peer gets it back with WINDOW_UPDATE (stream and session).
    public func consumed(_ count: Int, on streamID: UInt32) {
        guard count > 0, !failed else { return }
        consumedBySession(count)
        guard var stream = streams[streamID], !stream.remoteFinished else { return }
        stream.unacknowledged += count
        if stream.unacknowledged >= configuration.initialWindowSize / 2 {
            emit(.windowUpdate(streamID: streamID, delta: UInt32(stream.unacknowledged)))
            stream.receiveWindow += stream.unacknowledged
            stream.unacknowledged = 0
        }
        streams[streamID] = stream
    }

    /// Abandons a stream (RST_STREAM). Unknown streams are ignored.
    public func reset(_ streamID: UInt32, status: SPDYResetStatus = .cancel) {
        guard !failed, streams.removeValue(forKey: streamID) != nil else { return }
        emit(.rstStream(streamID: streamID, status: status))
    }

    /// Sends a PING; its answer arrives as ``Event/pingAnswered(id:)``.
    public func ping() throws(SPDYError) -> UInt32 {
        try checkUsable()
        let id = nextPingID
        nextPingID = nextPingID &+ 2
        if nextPingID == 0 || nextPingID > 0x7FFF_FFFF { nextPingID = role == .client ? 1 : 2 }
        outstandingPings.insert(id)
        emit(.ping(id: id))
        return id
    }

    /// Announces the end of the session: no new streams are accepted (streams already open go on).
    public func goAway(status: SPDYGoAwayStatus = .ok) {
        guard !goAwaySent, !failed else { return }
        goAwaySent = true
        emit(.goAway(lastGoodStreamID: lastRemoteStreamID, status: status))
    }

    // MARK: Internals

    private func checkUsable() throws(SPDYError) {
        guard !failed else { throw .sessionClosed("the session ended after an error") }
    }

    private func isRemoteInitiated(_ id: UInt32) -> Bool {
        id % 2 == (role == .server ? 1 : 0)
    }

    private func isKnownOrPast(_ id: UInt32) -> Bool {
        isRemoteInitiated(id) ? id <= lastRemoteStreamID : id < nextLocalStreamID
    }

    private func emit(_ frame: SPDYFrame) {
        encoder.encode(frame, into: &outbound)
    }

    private func resetStream(_ id: UInt32, _ status: SPDYResetStatus, into events: inout [Event]) {
        let wasOpen = streams.removeValue(forKey: id) != nil
        emit(.rstStream(streamID: id, status: status))
        if wasOpen { events.append(.streamReset(streamID: id, status: status, byPeer: false)) }
    }

    private func consumedBySession(_ count: Int) {
        sessionUnacknowledged += count
        if sessionUnacknowledged >= max(65_536, configuration.initialWindowSize) / 2 {
            emit(.windowUpdate(streamID: 0, delta: UInt32(sessionUnacknowledged)))
            sessionReceiveWindow += sessionUnacknowledged
            sessionUnacknowledged = 0
        }
    }

    private var enforcesSendWindow: Bool { configuration.strictFlowControl || peerDoesFlowControl }

    private func flushAll(into events: inout [Event]) {
        for id in streams.keys.sorted() where streams[id]!.pending.readableBytes > 0 || streams[id]!.pendingFinish {
            flush(id, into: &events)
        }
    }

    /// Sends what the windows allow of the stream's queue.
    private func flush(_ id: UInt32, into events: inout [Event]) {
        guard var stream = streams[id] else { return }
        let hadPending = stream.pending.readableBytes > 0
        while stream.pending.readableBytes > 0 {
            var allowed = min(stream.pending.readableBytes, configuration.maximumDataFrameLength)
            if enforcesSendWindow { allowed = min(allowed, stream.sendWindow, sessionSendWindow) }
            guard allowed > 0 else { break }
            let chunk = stream.pending.readSlice(length: allowed)!
            stream.sendWindow -= allowed
            sessionSendWindow -= allowed
            let last = stream.pending.readableBytes == 0 && stream.pendingFinish
            emit(.data(streamID: id, data: chunk, finished: last))
            if last {
                stream.pendingFinish = false
                stream.localFinished = true
            }
        }
        if stream.pending.readableBytes == 0 {
            stream.pending.clear()
            if stream.pendingFinish {
                // Nothing (left) to send: the FIN goes alone, windows do not apply.
                emit(.data(streamID: id, data: ByteBuffer(), finished: true))
                stream.pendingFinish = false
                stream.localFinished = true
            }
            if hadPending { events.append(.streamWritable(streamID: id)) }
        } else {
            stream.pending.discardReadBytes()
        }
        streams[id] = stream
        closeIfDone(id)
    }

    private func closeIfDone(_ id: UInt32) {
        guard let stream = streams[id], stream.localFinished, stream.remoteFinished,
              stream.pending.readableBytes == 0 else { return }
        streams[id] = nil
    }
}
