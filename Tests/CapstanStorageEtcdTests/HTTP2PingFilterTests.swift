import NIOCore
import Testing

@testable import CapstanStorageEtcd

@Suite("HTTP/2 PING requests taken out of a server's byte stream")
struct HTTP2PingFilterTests {
    static func frame(type: UInt8, flags: UInt8 = 0, stream: UInt32 = 0, payload: [UInt8]) -> [UInt8] {
        let length = payload.count
        return [
            UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF), type, flags,
            UInt8(stream >> 24 & 0x7F), UInt8(stream >> 16 & 0xFF), UInt8(stream >> 8 & 0xFF), UInt8(stream & 0xFF),
        ] + payload
    }

    static let firstPing: [UInt8] = [1, 2, 3, 4, 5, 6, 7, 8]
    static let secondPing: [UInt8] = [9, 9, 9, 9, 0, 0, 0, 1]

    /// What etcd sends around a call: SETTINGS, a window update, PING requests, the response's
    /// HEADERS and DATA, and frames that look like PINGs but must reach the HTTP/2 handler.
    static let kept: [[UInt8]] = [
        frame(type: 4, payload: [0, 5, 0, 0, 0x40, 0]),
        frame(type: 8, payload: [0, 0, 4, 0]),
        frame(type: 1, flags: 4, stream: 1, payload: Array(repeating: 0x88, count: 14)),
        frame(type: 0, stream: 1, payload: Array(0..<33)),
        frame(type: 6, flags: 1, payload: [7, 7, 7, 7, 7, 7, 7, 7]),  // an ACK of the client's PING
        frame(type: 6, stream: 3, payload: [1, 1, 1, 1, 1, 1, 1, 1]),  // on a stream: malformed
        frame(type: 6, payload: [1, 2, 3]),  // wrong length: malformed
        frame(type: 1, flags: 5, stream: 1, payload: Array(repeating: 0x77, count: 24)),
        frame(type: 4, flags: 1, payload: []),
    ]

    static var input: [UInt8] {
        kept[0] + kept[1] + frame(type: 6, payload: firstPing) + kept[2] + kept[3] + kept[4] + kept[5]
            + frame(type: 6, payload: secondPing) + frame(type: 6, payload: firstPing) + kept[6] + kept[7] + kept[8]
    }

    static var expectedForward: [UInt8] { kept.flatMap { $0 } }
    static let expectedPings = [firstPing, secondPing, firstPing]

    /// Feeds `input` in chunks of the given sizes (the last one takes the rest).
    static func run(_ input: [UInt8], chunks sizes: [Int]) -> (forward: [UInt8], pings: [[UInt8]]) {
        var filter = HTTP2PingFilter()
        var forward: [UInt8] = []
        var pings: [[UInt8]] = []
        var offset = 0
        var sizes = sizes[...]
        while offset < input.count {
            let size = min(sizes.popFirst() ?? input.count, input.count - offset)
            var buffer = ByteBuffer()
            // A reader index past zero, as in a buffer partly read already.
            buffer.writeBytes([0xEE, 0xEE])
            buffer.moveReaderIndex(forwardBy: 2)
            buffer.writeBytes(input[offset..<(offset + size)])
            let output = filter.process(buffer)
            for piece in output.forward { forward += piece.readableBytesView }
            pings += output.pings
            offset += size
        }
        return (forward, pings)
    }

    @Test func wholeStreamInOneChunk() {
        let result = Self.run(Self.input, chunks: [])
        #expect(result.forward == Self.expectedForward)
        #expect(result.pings == Self.expectedPings)
    }

    @Test func everySplitPoint() {
        let input = Self.input
        for split in 1..<input.count {
            let result = Self.run(input, chunks: [split])
            #expect(result.forward == Self.expectedForward, "split at \(split)")
            #expect(result.pings == Self.expectedPings, "split at \(split)")
        }
    }

    @Test func everyChunkSize() {
        let input = Self.input
        for size in 1...20 {
            let result = Self.run(input, chunks: Array(repeating: size, count: input.count))
            #expect(result.forward == Self.expectedForward, "chunks of \(size)")
            #expect(result.pings == Self.expectedPings, "chunks of \(size)")
        }
    }

    @Test func noPingPassesTheInputThroughAsOneSlice() {
        var filter = HTTP2PingFilter()
        let bytes = Self.kept[0] + Self.kept[3]
        let output = filter.process(ByteBuffer(bytes: bytes))
        #expect(output.pings.isEmpty)
        #expect(output.forward == [ByteBuffer(bytes: bytes)])
    }

    @Test func ackEchoesThePayload() {
        let ack = HTTP2PingFilter.ack(Self.firstPing)
        #expect(Array(ack.readableBytesView) == Self.frame(type: 6, flags: 1, payload: Self.firstPing))
    }
}
