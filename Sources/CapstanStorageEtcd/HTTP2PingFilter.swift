import NIOCore

/// Takes the PING requests out of the bytes an HTTP/2 server sends, so they can be answered
/// before they reach the HTTP/2 handler (see `EtcdPingResponder` for why).
///
/// The input is the server's side of a plaintext HTTP/2 connection from its first byte: a
/// sequence of frames (9-byte header: 24-bit length, type, flags, 31-bit stream id; then the
/// payload), split into chunks anywhere. A PING request is a frame of type 6 on stream 0 with an
/// 8-byte payload and no ACK flag. Every other byte is passed on unchanged and in order; a
/// malformed PING (another length or stream) is passed on too, for the HTTP/2 handler to reject.
struct HTTP2PingFilter {
    /// What one chunk of input becomes.
    struct Output: Equatable {
        /// The bytes to pass on, in order (slices of the input where possible).
        var forward: [ByteBuffer] = []
        /// The payloads of the PING requests completed in this chunk, in order.
        var pings: [[UInt8]] = []
    }

    static let headerLength = 9
    static let pingType: UInt8 = 6
    static let ackFlag: UInt8 = 0x1

    /// Bytes of a frame header not yet complete at the end of the previous chunk.
    private var header: [UInt8] = []
    /// Payload bytes still to come of the current frame.
    private var remaining = 0
    /// Whether the current frame is a PING request being taken out.
    private var inPing = false
    /// Its payload so far.
    private var ping: [UInt8] = []

    init() {}

    mutating func process(_ input: ByteBuffer) -> Output {
        var output = Output()
        let bytes = input.readableBytesView
        let end = bytes.endIndex
        var index = bytes.startIndex
        // Start of the run of bytes to pass on that `index` is in (if not taking a PING out).
        var runStart = index

        func flushRun(upTo stop: Int) {
            if stop > runStart {
                output.forward.append(input.getSlice(at: input.readerIndex + (runStart - bytes.startIndex), length: stop - runStart)!)
            }
        }

        while index < end {
            if remaining > 0 {
                let count = min(remaining, end - index)
                if inPing {
                    ping.append(contentsOf: bytes[index..<(index + count)])
                }
                index += count
                remaining -= count
                if inPing && remaining == 0 {
                    output.pings.append(ping)
                    ping = []
                    inPing = false
                    runStart = index
                }
                continue
            }
            // At a frame header (possibly the rest of one begun in an earlier chunk).
            if header.isEmpty && end - index >= Self.headerLength {
                let frame = FrameHeader(bytes[index..<(index + Self.headerLength)])
                if frame.isPingRequest {
                    flushRun(upTo: index)
                    index += Self.headerLength
                    inPing = true
                    remaining = frame.length
                } else {
                    index += Self.headerLength
                    remaining = frame.length
                }
                continue
            }
            if header.isEmpty { flushRun(upTo: index) }
            let count = min(Self.headerLength - header.count, end - index)
            header.append(contentsOf: bytes[index..<(index + count)])
            index += count
            runStart = index
            guard header.count == Self.headerLength else { break }
            let frame = FrameHeader(header[...])
            if frame.isPingRequest {
                inPing = true
            } else {
                output.forward.append(ByteBuffer(bytes: header))
            }
            remaining = frame.length
            header = []
        }
        if !inPing && header.isEmpty { flushRun(upTo: index) }
        return output
    }

    /// The 8-byte PING frame with the ACK flag that answers a request with `payload`.
    static func ack(_ payload: [UInt8]) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(headerLength + payload.count)
        buffer.writeBytes([0, 0, UInt8(payload.count), pingType, ackFlag, 0, 0, 0, 0])
        buffer.writeBytes(payload)
        return buffer
    }

    private struct FrameHeader {
        var length: Int
        var type: UInt8
        var flags: UInt8
        var streamID: UInt32

        init<Bytes: Collection<UInt8>>(_ bytes: Bytes) where Bytes.Index == Int {
            let start = bytes.startIndex
            length = Int(bytes[start]) << 16 | Int(bytes[start + 1]) << 8 | Int(bytes[start + 2])
            type = bytes[start + 3]
            flags = bytes[start + 4]
            streamID = (UInt32(bytes[start + 5]) << 24 | UInt32(bytes[start + 6]) << 16
                | UInt32(bytes[start + 7]) << 8 | UInt32(bytes[start + 8])) & 0x7FFF_FFFF
        }

        var isPingRequest: Bool {
            type == HTTP2PingFilter.pingType && flags & HTTP2PingFilter.ackFlag == 0 && length == 8 && streamID == 0
        }
    }
}
