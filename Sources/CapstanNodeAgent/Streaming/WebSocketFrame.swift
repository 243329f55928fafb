import Crypto
import Foundation

/// One WebSocket frame (RFC 6455), and the server side of the codec (pure): frames from a
/// client arrive masked and are unmasked here; frames to a client are written unmasked.
struct WebSocketFrame: Sendable, Hashable {
    struct Opcode: RawRepresentable, Sendable, Hashable {
        var rawValue: UInt8
        static let continuation = Opcode(rawValue: 0)
        static let text = Opcode(rawValue: 1)
        static let binary = Opcode(rawValue: 2)
        static let close = Opcode(rawValue: 8)
        static let ping = Opcode(rawValue: 9)
        static let pong = Opcode(rawValue: 10)

        var isControl: Bool { rawValue & 0x8 != 0 }
    }

    var fin: Bool
    var opcode: Opcode
    var payload: [UInt8]

    init(fin: Bool = true, opcode: Opcode, payload: [UInt8]) {
        self.fin = fin
        self.opcode = opcode
        self.payload = payload
    }

    /// A close frame with a status code (1000: normal closure).
    static func close(code: UInt16 = 1000) -> WebSocketFrame {
        WebSocketFrame(opcode: .close, payload: [UInt8(code >> 8), UInt8(code & 0xFF)])
    }

    /// The frame's bytes; `mask` (4 bytes) is for client frames (tests).
    func encoded(mask: [UInt8]? = nil) -> [UInt8] {
        var out: [UInt8] = [(fin ? 0x80 : 0) | opcode.rawValue]
        let maskBit: UInt8 = mask == nil ? 0 : 0x80
        switch payload.count {
        case ..<126: out.append(maskBit | UInt8(payload.count))
        case ..<65536: out += [maskBit | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
        default:
            out.append(maskBit | 127)
            let length = UInt64(payload.count)
            for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8((length >> UInt64(shift)) & 0xFF)) }
        }
        if let mask {
            out += mask
            out += payload.enumerated().map { $0.element ^ mask[$0.offset & 3] }
        } else {
            out += payload
        }
        return out
    }

    /// `Sec-WebSocket-Accept` for a client's `Sec-WebSocket-Key`.
    static func acceptKey(for key: String) -> String {
        let digest = Insecure.SHA1.hash(data: Array((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").utf8))
        return Data(digest).base64EncodedString()
    }
}

/// Incremental parser of a client's frames (or, with `fromServer`, a server's unmasked ones):
/// feed bytes, take whole messages. Fragmented messages are joined; control frames (ping,
/// pong, close) come out as they arrive.
struct WebSocketFrameParser: Sendable {
    struct ProtocolError: Error, Hashable, CustomStringConvertible {
        var description: String
    }

    /// Largest message accepted (Kubernetes' streams use small ones).
    var maxMessageSize = 16 << 20
    private var buffer: [UInt8] = []
    private var offset = 0
    private var fragments: (opcode: WebSocketFrame.Opcode, payload: [UInt8])?
    private let fromServer: Bool

    init(fromServer: Bool = false) {
        self.fromServer = fromServer
    }

    mutating func append(_ bytes: some Sequence<UInt8>) {
        if offset > 0, offset >= buffer.count / 2 {
            buffer.removeFirst(offset)
            offset = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// The next whole message or control frame, or nil when more bytes are needed.
    mutating func next() throws(ProtocolError) -> WebSocketFrame? {
        while let frame = try nextFrame() {
            if frame.opcode.isControl { return frame }
            if frame.opcode == .continuation {
                guard var pending = fragments else { throw ProtocolError(description: "continuation frame without a message") }
                pending.payload += frame.payload
                guard pending.payload.count <= maxMessageSize else { throw ProtocolError(description: "message too large") }
                if frame.fin {
                    fragments = nil
                    return WebSocketFrame(opcode: pending.opcode, payload: pending.payload)
                }
                fragments = pending
                continue
            }
            guard fragments == nil else { throw ProtocolError(description: "new message inside a fragmented one") }
            if frame.fin { return frame }
            fragments = (frame.opcode, frame.payload)
        }
        return nil
    }

    private mutating func nextFrame() throws(ProtocolError) -> WebSocketFrame? {
        let available = buffer.count - offset
        guard available >= 2 else { return nil }
        let first = buffer[offset], second = buffer[offset + 1]
        guard first & 0x70 == 0 else { throw ProtocolError(description: "reserved bits set") }
        let masked = second & 0x80 != 0
        guard masked != fromServer else {
            throw ProtocolError(description: fromServer ? "server frames must not be masked" : "client frames must be masked")
        }
        var header = 2
        var length = UInt64(second & 0x7F)
        if length == 126 {
            guard available >= 4 else { return nil }
            length = UInt64(buffer[offset + 2]) << 8 | UInt64(buffer[offset + 3])
            header = 4
        } else if length == 127 {
            guard available >= 10 else { return nil }
            length = (0 ..< 8).reduce(UInt64(0)) { $0 << 8 | UInt64(buffer[offset + 2 + $1]) }
            header = 10
        }
        guard length <= UInt64(maxMessageSize) else { throw ProtocolError(description: "frame too large") }
        let opcode = WebSocketFrame.Opcode(rawValue: first & 0x0F)
        if opcode.isControl, length > 125 || first & 0x80 == 0 { throw ProtocolError(description: "bad control frame") }
        let maskLength = masked ? 4 : 0
        guard available >= header + maskLength + Int(length) else { return nil }
        let start = offset + header + maskLength
        var payload = Array(buffer[start ..< start + Int(length)])
        if masked {
            let mask = Array(buffer[(offset + header) ..< start])
            for index in payload.indices { payload[index] ^= mask[index & 3] }
        }
        offset = start + Int(length)
        return WebSocketFrame(fin: first & 0x80 != 0, opcode: opcode, payload: payload)
    }
}
