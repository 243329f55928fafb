@testable import CapstanSPDY
import NIOCore
import Testing

@Suite struct SPDYFrameCodecTests {
    /// Encodes frames with one encoder and decodes them with one decoder, as the two ends of
    /// one direction of a session do.
    func roundTrip(_ frames: [SPDYFrame]) throws -> [SPDYFrame] {
        let encoder = SPDYFrameEncoder()
        let decoder = SPDYFrameDecoder()
        var buffer = ByteBuffer()
        for frame in frames { encoder.encode(frame, into: &buffer) }
        var decoded: [SPDYFrame] = []
        while let result = try decoder.next(from: &buffer) {
            guard case .frame(let frame) = result else { Issue.record("unexpected \(result)"); break }
            decoded.append(frame)
        }
        #expect(buffer.readableBytes == 0)
        return decoded
    }

    @Test func dictionaryIsTheSPDY3One() {
        let bytes = SPDYDictionary.bytes
        #expect(bytes.count == 1423)
        #expect(Array(bytes.prefix(11)) == [0, 0, 0, 7] + Array("options".utf8))
        #expect(Array(bytes.suffix(6)) == Array(",enq=0.".utf8).suffix(6))
        // Adler-32, the id a zlib stream primed with this dictionary names in its header.
        var a: UInt32 = 1, b: UInt32 = 0
        for byte in bytes {
            a = (a + UInt32(byte)) % 65521
            b = (b + a) % 65521
        }
        #expect(b << 16 | a == 0xE3C6_A7C2)
    }

    @Test func everyFrameTypeRoundTrips() throws {
        let headers: SPDYHeaders = ["streamtype": "data", "port": "8080", "requestid": "0"]
        let frames: [SPDYFrame] = [
            .synStream(SPDYSynStream(streamID: 1, associatedStreamID: 0, priority: 3, slot: 0, headers: headers, finished: true)),
            .synStream(SPDYSynStream(streamID: 3, headers: ["a": "b"], unidirectional: true)),
            .synReply(streamID: 1, headers: SPDYHeaders(), finished: false),
            .headers(streamID: 3, headers: ["x-extra": "1"], finished: true),
            .data(streamID: 3, data: ByteBuffer(string: "hello"), finished: false),
            .data(streamID: 3, data: ByteBuffer(), finished: true),
            .rstStream(streamID: 5, status: .cancel),
            .settings(clearPersisted: true, [SPDYSetting(id: SPDYSetting.initialWindowSizeID, value: 1 << 20, flags: 1)]),
            .ping(id: 7),
            .goAway(lastGoodStreamID: 9, status: .internalError),
            .windowUpdate(streamID: 0, delta: 40_000),
            .windowUpdate(streamID: 3, delta: 0x7FFF_FFFF),
        ]
        #expect(try roundTrip(frames) == frames)
    }

    @Test func fixedFramesHaveTheSpecLayout() {
        let encoder = SPDYFrameEncoder()
        var buffer = ByteBuffer()
        encoder.encode(.ping(id: 1), into: &buffer)
        encoder.encode(.rstStream(streamID: 3, status: .refusedStream), into: &buffer)
        encoder.encode(.data(streamID: 5, data: ByteBuffer(bytes: [0xAA]), finished: true), into: &buffer)
        encoder.encode(.windowUpdate(streamID: 5, delta: 256), into: &buffer)
        encoder.encode(.goAway(lastGoodStreamID: 5, status: .ok), into: &buffer)
        #expect(Array(buffer.readableBytesView) == [
            0x80, 0x03, 0x00, 0x06, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x01,  // PING 1
            0x80, 0x03, 0x00, 0x03, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x03,  // RST 3 REFUSED
            0x00, 0x00, 0x00, 0x05, 0x01, 0x00, 0x00, 0x01, 0xAA,  // DATA 5 FIN
            0x80, 0x03, 0x00, 0x09, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x01, 0x00,  // WINDOW_UPDATE
            0x80, 0x03, 0x00, 0x07, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00,  // GOAWAY
        ])
    }

    @Test func headerBlocksShareOneCompressionStream() throws {
        let encoder = SPDYFrameEncoder()
        let headers: SPDYHeaders = ["streamtype": "stdout", "x-stream-protocol-version": "v4.channel.k8s.io"]
        var first = ByteBuffer(), second = ByteBuffer()
        encoder.encode(.synStream(SPDYSynStream(streamID: 1, headers: headers)), into: &first)
        encoder.encode(.synStream(SPDYSynStream(streamID: 3, headers: headers)), into: &second)
        // The second block refers back to the first through the shared window.
        #expect(second.readableBytes < first.readableBytes)
        let decoder = SPDYFrameDecoder()
        #expect(try decoder.next(from: &first) == .frame(.synStream(SPDYSynStream(streamID: 1, headers: headers))))
        #expect(try decoder.next(from: &second) == .frame(.synStream(SPDYSynStream(streamID: 3, headers: headers))))
        // A fresh decoder cannot read the second block alone: it needs the stream's history.
        var lone = ByteBuffer()
        let twice = SPDYFrameEncoder()
        twice.encode(.synStream(SPDYSynStream(streamID: 1, headers: headers)), into: &lone)
        lone.clear()
        twice.encode(.synStream(SPDYSynStream(streamID: 3, headers: headers)), into: &lone)
        #expect(throws: SPDYError.self) { try SPDYFrameDecoder().next(from: &lone) }
    }

    @Test func partialInputWaitsForTheRest() throws {
        let encoder = SPDYFrameEncoder()
        var whole = ByteBuffer()
        encoder.encode(.synStream(SPDYSynStream(streamID: 1, headers: ["streamtype": "error"])), into: &whole)
        encoder.encode(.data(streamID: 1, data: ByteBuffer(string: "abc"), finished: true), into: &whole)
        let decoder = SPDYFrameDecoder()
        var buffer = ByteBuffer()
        var decoded: [SPDYFrameDecoder.Result] = []
        for byte in whole.readableBytesView {
            buffer.writeInteger(byte)
            while let result = try decoder.next(from: &buffer) { decoded.append(result) }
        }
        #expect(decoded == [
            .frame(.synStream(SPDYSynStream(streamID: 1, headers: ["streamtype": "error"]))),
            .frame(.data(streamID: 1, data: ByteBuffer(string: "abc"), finished: true)),
        ])
    }

    @Test func multipleValuesTravelNULSeparated() throws {
        var headers = SPDYHeaders()
        headers.add(name: "X-Stream-Protocol-Version", value: "v4.channel.k8s.io")
        headers.add(name: "x-stream-protocol-version", value: "v3.channel.k8s.io")
        #expect(headers.entries.count == 1)
        #expect(headers["X-STREAM-PROTOCOL-VERSION"] == "v4.channel.k8s.io")
        let frames = try roundTrip([.headers(streamID: 1, headers: headers, finished: false)])
        guard case .headers(_, let decoded, _) = frames.first else { Issue.record("no headers"); return }
        #expect(decoded.entries.first?.values == ["v4.channel.k8s.io", "v3.channel.k8s.io"])
    }

    @Test func malformedBlocksAreStreamErrors() throws {
        // Upper-case names, repeated names and truncated blocks are refused, not crashes.
        for raw: [UInt8] in [
            [0, 0, 0, 1, 0, 0, 0, 1, 0x41, 0, 0, 0, 0],  // name "A"
            [0, 0, 0, 2, 0, 0, 0, 1, 0x61, 0, 0, 0, 0, 0, 0, 0, 1, 0x61, 0, 0, 0, 0],  // "a" twice
            [0, 0, 0, 1, 0, 0, 0, 9, 0x61],  // name runs past the end
            [0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0],  // empty name
            [0xFF, 0xFF, 0xFF, 0xFF],  // absurd count
        ] {
            var buffer = headersFrame(compressing: raw).buffer
            let result = try SPDYFrameDecoder().next(from: &buffer)
            guard case .invalidHeaderBlock(let streamID, _) = result else { Issue.record("accepted \(raw)"); continue }
            #expect(streamID == 1)
        }
    }

    /// A HEADERS frame for stream 1 whose header block is `raw` compressed, and the block's length.
    private func headersFrame(compressing raw: [UInt8]) -> (buffer: ByteBuffer, blockLength: Int) {
        let block = SPDYHeaderDeflater().compress(raw)
        var buffer = ByteBuffer()
        buffer.writeBytes([0x80, 0x03, 0x00, 0x08])
        buffer.writeInteger(UInt32(4 + block.count))
        buffer.writeInteger(UInt32(1))
        buffer.writeBytes(block)
        return (buffer, block.count)
    }

    @Test func brokenFramingIsASessionError() throws {
        func decode(_ bytes: [UInt8]) throws(SPDYError) -> SPDYFrameDecoder.Result? {
            var buffer = ByteBuffer(bytes: bytes)
            return try SPDYFrameDecoder().next(from: &buffer)
        }
        // Version 2.
        #expect(throws: SPDYError.unsupportedVersion(2)) { try decode([0x80, 0x02, 0x00, 0x06, 0, 0, 0, 4, 0, 0, 0, 1]) }
        // PING with a wrong length.
        #expect(throws: SPDYError.self) { try decode([0x80, 0x03, 0x00, 0x06, 0, 0, 0, 2, 0, 1]) }
        // DATA on stream 0.
        #expect(throws: SPDYError.self) { try decode([0, 0, 0, 0, 0, 0, 0, 0]) }
        // A header block that is not zlib at all.
        #expect(throws: SPDYError.self) { try decode([0x80, 0x03, 0x00, 0x02, 0, 0, 0, 8, 0, 0, 0, 1, 1, 2, 3, 4]) }
        // A frame larger than the decoder accepts.
        var big = ByteBuffer(bytes: [0, 0, 0, 1, 0, 0x10, 0, 0])
        #expect(throws: SPDYError.self) { _ = try SPDYFrameDecoder(maximumFrameLength: 1024).next(from: &big) }
        // Unknown control frames are skipped.
        #expect(try decode([0x80, 0x03, 0x00, 0x0A, 0, 0, 0, 0]) == .frame(.unknownControl(type: 10)))
    }

    @Test func headerBombIsRefused() throws {
        var raw: [UInt8] = [0, 0, 0, 1, 0, 0, 0, 1, 0x61]
        let value = [UInt8](repeating: 0x62, count: 300_000)
        raw += [0x00, 0x04, 0x93, 0xE0] + value
        let frame = headersFrame(compressing: raw)
        var buffer = frame.buffer
        #expect(frame.blockLength < 2_000)
        #expect(throws: SPDYError.self) { try SPDYFrameDecoder(maximumHeaderBlockLength: 64 * 1024).next(from: &buffer) }
    }
}
