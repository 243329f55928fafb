@testable import CapstanSPDY
import NIOCore
import Testing

/// A client and a server session wired back to back in memory.
struct SessionPair {
    let client: SPDYSession
    let server: SPDYSession

    init(client: SPDYSession.Configuration = .init(), server: SPDYSession.Configuration = .init()) {
        self.client = SPDYSession(role: .client, configuration: client)
        self.server = SPDYSession(role: .server, configuration: server)
    }

    /// Carries queued bytes both ways until neither side has anything to send.
    func pump() throws -> (client: [SPDYSession.Event], server: [SPDYSession.Event]) {
        var clientEvents: [SPDYSession.Event] = [], serverEvents: [SPDYSession.Event] = []
        while true {
            var moved = false
            if let bytes = client.takeOutbound() {
                serverEvents += try server.receive(bytes)
                moved = true
            }
            if let bytes = server.takeOutbound() {
                clientEvents += try client.receive(bytes)
                moved = true
            }
            if !moved { return (clientEvents, serverEvents) }
        }
    }
}

func bytes(_ count: Int, _ value: UInt8 = 0x61) -> ByteBuffer { ByteBuffer(repeating: value, count: count) }

func dataBytes(_ events: [SPDYSession.Event], on streamID: UInt32) -> Int {
    events.reduce(0) { sum, event in
        if case .data(let id, let data, _) = event, id == streamID { return sum + data.readableBytes }
        return sum
    }
}

@Suite struct SPDYSessionTests {
    /// What kubectl port-forward sends for one local connection: an error stream it closes at
    /// once, a data stream, bytes on it, and a ping; the server answers every stream.
    @Test func portForwardClientSequence() throws {
        let pair = SessionPair()
        let errorID = try pair.client.openStream(headers: ["streamtype": "error", "port": "80", "requestid": "0"])
        try pair.client.finish(errorID)
        let dataID = try pair.client.openStream(headers: ["streamtype": "data", "port": "80", "requestid": "0"])
        try pair.client.send(ByteBuffer(string: "GET / HTTP/1.0\r\n\r\n"), on: dataID)
        let pingID = try pair.client.ping()
        #expect((errorID, dataID, pingID) == (1, 3, 1))

        let first = try pair.pump()
        #expect(first.server == [
            .streamOpened(streamID: 1, headers: ["streamtype": "error", "port": "80", "requestid": "0"], finished: false),
            .data(streamID: 1, data: ByteBuffer(), finished: true),
            .streamOpened(streamID: 3, headers: ["streamtype": "data", "port": "80", "requestid": "0"], finished: false),
            .data(streamID: 3, data: ByteBuffer(string: "GET / HTTP/1.0\r\n\r\n"), finished: false),
        ])
        #expect(first.client == [.pingAnswered(id: 1)])

        try pair.server.reply(to: 1)
        try pair.server.reply(to: 3)
        try pair.server.send(ByteBuffer(string: "HTTP/1.0 200 OK\r\n\r\nhi"), on: 3, finished: true)
        try pair.server.finish(1)
        let second = try pair.pump()
        #expect(second.client == [
            .streamReplied(streamID: 1, headers: SPDYHeaders(), finished: false),
            .streamReplied(streamID: 3, headers: SPDYHeaders(), finished: false),
            .data(streamID: 3, data: ByteBuffer(string: "HTTP/1.0 200 OK\r\n\r\nhi"), finished: true),
            .data(streamID: 1, data: ByteBuffer(), finished: true),
        ])
        // The error stream is closed both ways; the data stream until the client half-closes.
        #expect(!pair.server.isOpen(1) && !pair.client.isOpen(1))
        #expect(pair.server.isOpen(3))
        try pair.client.finish(3)
        _ = try pair.pump()
        #expect(pair.server.openStreamCount == 0 && pair.client.openStreamCount == 0)
    }

    @Test func serverPingsAreAnsweredByTheClient() throws {
        let pair = SessionPair()
        let id = try pair.server.ping()
        #expect(id == 2)
        #expect(try pair.pump().server == [.pingAnswered(id: 2)])
        // An answer to a ping never sent is ignored.
        var stray = ByteBuffer()
        SPDYFrameEncoder().encode(.ping(id: 40), into: &stray)
        #expect(try pair.server.receive(stray) == [])
        #expect(pair.server.takeOutbound() == nil)
    }

    @Test func dataWaitsForTheWindowOfAPeerThatFlowControls() throws {
        // A peer that never sends WINDOW_UPDATE (kubectl's spdystream) gets everything at once.
        let pair = SessionPair()
        let id = try pair.client.openStream(headers: ["streamtype": "stdout"])
        _ = try pair.pump()
        try pair.server.reply(to: id)
        try pair.server.send(bytes(100_000), on: id)
        var events = try pair.pump().client
        #expect(dataBytes(events, on: id) == 100_000)

        // A peer that gives windows back is held to them from then on.
        let strict = SessionPair()
        let s = try strict.client.openStream(headers: ["streamtype": "stdout"])
        _ = try strict.pump()
        try strict.server.reply(to: s)
        strict.client.consumed(40_000, on: s)  // nothing received yet, but announces flow control
        _ = try strict.pump()
        #expect(strict.server.sendWindow(of: s) == 65_536 + 40_000)
        try strict.server.send(bytes(200_000), on: s, finished: true)
        events = try strict.pump().client
        #expect(dataBytes(events, on: s) == 105_536)
        #expect(strict.server.pendingBytes(on: s) == 200_000 - 105_536)
        var received = 105_536
        var rounds = 0
        while received < 200_000 && rounds < 20 {
            strict.client.consumed(32_768, on: s)
            let step = try strict.pump()
            received += dataBytes(step.client, on: s)
            rounds += 1
            if received == 200_000 {
                #expect(step.server.contains(.streamWritable(streamID: s)))
                #expect(step.client.contains { if case .data(_, _, true) = $0 { true } else { false } })
            }
        }
        #expect(received == 200_000)
    }

    @Test func strictFlowControlEnforcedBothWays() throws {
        var strict = SPDYSession.Configuration()
        strict.strictFlowControl = true
        let pair = SessionPair(client: strict, server: strict)
        let id = try pair.client.openStream(headers: ["streamtype": "stdin"])
        try pair.client.send(bytes(70_000), on: id)
        var (client, server) = try pair.pump()
        // A strict sender stops at 64 KiB.
        #expect(dataBytes(server, on: id) == 65_536)
        #expect(pair.client.pendingBytes(on: id) == 70_000 - 65_536)
        pair.server.consumed(65_536, on: id)
        (client, server) = try pair.pump()
        #expect(dataBytes(server, on: id) == 70_000 - 65_536)
        #expect(client.contains(.streamWritable(streamID: id)))

        // A peer overrunning a stream window is reset with FLOW_CONTROL_ERROR by a strict receiver.
        var small = strict
        small.initialWindowSize = 32_768
        let overrun = SessionPair(server: small)
        let s = try overrun.client.openStream(headers: ["streamtype": "stdin"])
        try overrun.client.send(bytes(40_000), on: s)
        (client, server) = try overrun.pump()
        #expect(server.contains(.streamReset(streamID: s, status: .flowControlError, byPeer: false)))
        #expect(client.contains(.streamReset(streamID: s, status: .flowControlError, byPeer: true)))

        // Overrunning the session window ends the session.
        let flood = SessionPair(server: strict)
        let f = try flood.client.openStream(headers: ["streamtype": "stdin"])
        try flood.client.send(bytes(70_000), on: f)
        #expect(throws: SPDYError.self) { try flood.pump() }
    }

    @Test func windowUpdatesFollowConsumption() throws {
        let pair = SessionPair()
        let id = try pair.client.openStream(headers: ["streamtype": "stdin"])
        try pair.client.send(bytes(50_000), on: id)
        _ = try pair.pump()
        #expect(pair.server.receiveWindow(of: id) == 65_536 - 50_000)
        pair.server.consumed(20_000, on: id)
        #expect(pair.server.takeOutbound() == nil)  // below half a window: nothing yet
        pair.server.consumed(20_000, on: id)
        var expected = ByteBuffer()
        let encoder = SPDYFrameEncoder()
        encoder.encode(.windowUpdate(streamID: 0, delta: 40_000), into: &expected)
        encoder.encode(.windowUpdate(streamID: id, delta: 40_000), into: &expected)
        #expect(pair.server.takeOutbound() == expected)
        #expect(pair.server.receiveWindow(of: id) == 65_536 - 50_000 + 40_000)
    }

    @Test func resetsEndStreamsAndLaterFramesAreRefused() throws {
        let pair = SessionPair()
        let id = try pair.client.openStream(headers: ["streamtype": "stdout"])
        _ = try pair.pump()
        try pair.server.reply(to: id)
        pair.client.reset(id, status: .cancel)
        let events = try pair.pump()
        #expect(events.server == [.streamReset(streamID: id, status: .cancel, byPeer: true)])
        #expect(!pair.server.isOpen(id))
        // The server's reply crossed the reset; the client drops it with INVALID_STREAM.
        #expect(throws: SPDYError.self) { try pair.server.send(bytes(1), on: id) }

        // Data on a stream that never existed gets INVALID_STREAM.
        var stray = ByteBuffer()
        SPDYFrameEncoder().encode(.data(streamID: 41, data: bytes(3), finished: false), into: &stray)
        #expect(try pair.server.receive(stray) == [])
        var expected = ByteBuffer()
        SPDYFrameEncoder().encode(.rstStream(streamID: 41, status: .invalidStream), into: &expected)
        #expect(pair.server.takeOutbound() == expected)
    }

    @Test func dataAfterFinIsStreamAlreadyClosed() throws {
        let pair = SessionPair()
        let id = try pair.client.openStream(headers: ["streamtype": "stdin"], finished: true)
        _ = try pair.pump()
        #expect(throws: SPDYError.self) { try pair.client.send(bytes(1), on: id) }
        // Forge what a broken client would send after its FIN.
        var forged = ByteBuffer()
        SPDYFrameEncoder().encode(.data(streamID: id, data: bytes(1), finished: false), into: &forged)
        #expect(try pair.server.receive(forged) == [.streamReset(streamID: id, status: .streamAlreadyClosed, byPeer: false)])
    }

    @Test func streamIDRulesAreEnforced() throws {
        // A client reusing a stream id: that stream is reset with STREAM_IN_USE.
        let server = SPDYSession(role: .server)
        let encoder = SPDYFrameEncoder()
        var bytes = ByteBuffer()
        encoder.encode(.synStream(SPDYSynStream(streamID: 5, headers: ["a": "1"])), into: &bytes)
        encoder.encode(.synStream(SPDYSynStream(streamID: 5, headers: ["a": "2"])), into: &bytes)
        let events = try server.receive(bytes)
        #expect(events == [
            .streamOpened(streamID: 5, headers: ["a": "1"], finished: false),
            .streamReset(streamID: 5, status: .streamInUse, byPeer: false),
        ])

        // Going back to a lower id is a session error: GOAWAY(PROTOCOL_ERROR), then nothing more.
        var lower = ByteBuffer()
        encoder.encode(.synStream(SPDYSynStream(streamID: 3, headers: ["a": "3"])), into: &lower)
        #expect(throws: SPDYError.self) { try server.receive(lower) }
        var out = server.takeOutbound()!
        let decoder = SPDYFrameDecoder()
        #expect(try decoder.next(from: &out) == .frame(.rstStream(streamID: 5, status: .streamInUse)))
        #expect(try decoder.next(from: &out) == .frame(.goAway(lastGoodStreamID: 5, status: .protocolError)))
        #expect(throws: SPDYError.self) { try server.receive(ByteBuffer()) }
        #expect(throws: SPDYError.self) { try server.reply(to: 5) }

        // An even (server-side) id from a client is a session error too.
        let other = SPDYSession(role: .server)
        var even = ByteBuffer()
        SPDYFrameEncoder().encode(.synStream(SPDYSynStream(streamID: 2, headers: ["a": "1"])), into: &even)
        #expect(throws: SPDYError.self) { try other.receive(even) }
    }

    @Test func goAwayRefusesNewStreams() throws {
        let pair = SessionPair()
        let first = try pair.client.openStream(headers: ["n": "1"])
        _ = try pair.pump()
        pair.server.goAway()
        let second = try pair.client.openStream(headers: ["n": "2"])
        let events = try pair.pump()
        // The GOAWAY (last good stream 1) reached the client after it opened stream 3: the
        // client learns stream 3 was not processed; the server refused it anyway.
        #expect(events.client == [
            .streamReset(streamID: second, status: .refusedStream, byPeer: true),
            .goAway(lastGoodStreamID: first, status: .ok),
        ])
        // The server refused it (RST_STREAM REFUSED_STREAM) without ever showing it to its owner.
        #expect(events.server == [])
        #expect(!pair.server.isOpen(second))
        #expect(pair.server.isOpen(first))
        #expect(throws: SPDYError.self) { try pair.client.openStream(headers: ["n": "3"]) }
    }

    @Test func invalidHeaderBlockResetsOnlyThatStream() throws {
        // Two SYN_STREAMs through one compression stream; the first block names a header in
        // upper case (spdystream would refuse it too).
        let deflater = SPDYHeaderDeflater()
        var wire = ByteBuffer()
        for (id, block) in [(UInt32(1), [UInt8]([0, 0, 0, 1, 0, 0, 0, 1, 0x58, 0, 0, 0, 1, 0x31])),
                            (UInt32(3), SPDYHeaders([("x", "1")]).encoded())] {
            let compressed = deflater.compress(block)
            wire.writeBytes([0x80, 0x03, 0x00, 0x01])
            wire.writeInteger(UInt32(10 + compressed.count))
            wire.writeInteger(id)
            wire.writeInteger(UInt32(0))
            wire.writeInteger(UInt16(0))
            wire.writeBytes(compressed)
        }
        let server = SPDYSession(role: .server)
        #expect(try server.receive(wire) == [.streamOpened(streamID: 3, headers: ["x": "1"], finished: false)])
        var out = server.takeOutbound()!
        #expect(try SPDYFrameDecoder().next(from: &out) == .frame(.rstStream(streamID: 1, status: .protocolError)))
        #expect(server.isOpen(3) && !server.isOpen(1))
    }

    @Test func serverMayNotSendBeforeReplying() throws {
        let pair = SessionPair()
        let id = try pair.client.openStream(headers: ["streamtype": "stdout"])
        _ = try pair.pump()
        #expect(throws: SPDYError.self) { try pair.server.send(bytes(1), on: id) }
        try pair.server.reply(to: id)
        #expect(throws: SPDYError.self) { try pair.server.reply(to: id) }
        try pair.server.send(bytes(1), on: id)
        #expect(dataBytes(try pair.pump().client, on: id) == 1)
    }

    @Test func initialWindowSettingResizesOpenStreams() throws {
        var big = SPDYSession.Configuration()
        big.initialWindowSize = 1 << 20
        let pair = SessionPair(client: big)
        // The client announced its window in SETTINGS at start.
        let id = try pair.client.openStream(headers: ["streamtype": "stdout"])
        let events = try pair.pump()
        #expect(events.server.first == .settings([SPDYSetting(id: SPDYSetting.initialWindowSizeID, value: 1 << 20)]))
        try pair.server.reply(to: id)
        try pair.server.send(bytes(1_100_000), on: id)
        // Stream and session windows are both 1 MiB now.
        #expect(dataBytes(try pair.pump().client, on: id) == 1 << 20)
        #expect(pair.server.pendingBytes(on: id) == 1_100_000 - (1 << 20))
    }
}
