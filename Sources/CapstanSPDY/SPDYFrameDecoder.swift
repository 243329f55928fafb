import NIOCore

/// Reads SPDY/3.1 frames from a byte buffer that may hold partial frames. Header blocks are
/// inflated through this decoder's own zlib stream (one per direction of a session).
public final class SPDYFrameDecoder {
    /// A decoded frame, or a frame whose header block could not be parsed (a stream error:
    /// the block was inflated, so the session can go on, but the frame is refused).
    public enum Result: Hashable, Sendable {
        case frame(SPDYFrame)
        case invalidHeaderBlock(streamID: UInt32, reason: String)
    }

    private let inflater = SPDYHeaderInflater()
    /// The largest frame payload accepted (the 24-bit length allows 16 MiB).
    public let maximumFrameLength: Int
    /// The largest inflated header block accepted.
    public let maximumHeaderBlockLength: Int

    public init(maximumFrameLength: Int = SPDYFrame.maximumLength, maximumHeaderBlockLength: Int = 256 * 1024) {
        self.maximumFrameLength = maximumFrameLength
        self.maximumHeaderBlockLength = maximumHeaderBlockLength
    }

    /// The next whole frame in `buffer` (consumed), or nil when more bytes are needed.
    /// Throws session errors: bad lengths, wrong version, broken compression.
    public func next(from buffer: inout ByteBuffer) throws(SPDYError) -> Result? {
        guard buffer.readableBytes >= 8,
              let first = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self),
              let second = buffer.getInteger(at: buffer.readerIndex + 4, as: UInt32.self) else { return nil }
        let flags = UInt8(second >> 24)
        let length = Int(second & 0xFF_FFFF)
        guard length <= maximumFrameLength else {
            throw .protocolError("a frame of \(length) bytes exceeds the limit of \(maximumFrameLength)")
        }
        guard buffer.readableBytes >= 8 + length else { return nil }
        buffer.moveReaderIndex(forwardBy: 8)
        var payload = buffer.readSlice(length: length)!

        guard first & 0x8000_0000 != 0 else {
            let streamID = first & 0x7FFF_FFFF
            guard streamID != 0 else { throw .protocolError("DATA frame on stream 0") }
            return .frame(.data(streamID: streamID, data: payload, finished: flags & 0x01 != 0))
        }
        let version = UInt16((first >> 16) & 0x7FFF)
        let type = UInt16(first & 0xFFFF)
        guard version == SPDYFrame.version else { throw .unsupportedVersion(version) }

        func fixedLength(_ expected: Int, _ name: String) throws(SPDYError) {
            guard length == expected else { throw .protocolError("\(name) frame has length \(length), not \(expected)") }
        }
        func read32() -> UInt32 { payload.readInteger(as: UInt32.self)! }

        switch type {
        case 1:
            guard length >= 10 else { throw .protocolError("SYN_STREAM frame too short (\(length) bytes)") }
            let streamID = read32() & 0x7FFF_FFFF
            let associated = read32() & 0x7FFF_FFFF
            let priority = payload.readInteger(as: UInt8.self)! >> 5
            let slot = payload.readInteger(as: UInt8.self)!
            guard streamID != 0 else { throw .protocolError("SYN_STREAM for stream 0") }
            switch try headerBlock(&payload, streamID: streamID) {
            case .success(let headers):
                return .frame(.synStream(SPDYSynStream(streamID: streamID, associatedStreamID: associated, priority: priority,
                                                       slot: slot, headers: headers, finished: flags & 0x01 != 0,
                                                       unidirectional: flags & 0x02 != 0)))
            case .failure(let error):
                return .invalidHeaderBlock(streamID: streamID, reason: error.message)
            }
        case 2, 8:
            let name = type == 2 ? "SYN_REPLY" : "HEADERS"
            guard length >= 4 else { throw .protocolError("\(name) frame too short (\(length) bytes)") }
            let streamID = read32() & 0x7FFF_FFFF
            guard streamID != 0 else { throw .protocolError("\(name) for stream 0") }
            switch try headerBlock(&payload, streamID: streamID) {
            case .success(let headers):
                let finished = flags & 0x01 != 0
                return .frame(type == 2 ? .synReply(streamID: streamID, headers: headers, finished: finished)
                                        : .headers(streamID: streamID, headers: headers, finished: finished))
            case .failure(let error):
                return .invalidHeaderBlock(streamID: streamID, reason: error.message)
            }
        case 3:
            try fixedLength(8, "RST_STREAM")
            let streamID = read32() & 0x7FFF_FFFF
            let status = read32()
            guard streamID != 0 else { throw .protocolError("RST_STREAM for stream 0") }
            guard status != 0 else { throw .protocolError("RST_STREAM with status 0") }
            return .frame(.rstStream(streamID: streamID, status: SPDYResetStatus(rawValue: status)))
        case 4:
            guard length >= 4 else { throw .protocolError("SETTINGS frame too short") }
            let count = Int(read32())
            guard length == 4 + 8 * count else { throw .protocolError("SETTINGS frame claims \(count) entries in \(length) bytes") }
            var settings: [SPDYSetting] = []
            for _ in 0..<count {
                let idWord = read32()
                settings.append(SPDYSetting(id: idWord & 0xFF_FFFF, value: read32(), flags: UInt8(idWord >> 24)))
            }
            return .frame(.settings(clearPersisted: flags & 0x01 != 0, settings))
        case 6:
            try fixedLength(4, "PING")
            return .frame(.ping(id: read32()))
        case 7:
            try fixedLength(8, "GOAWAY")
            let last = read32() & 0x7FFF_FFFF
            return .frame(.goAway(lastGoodStreamID: last, status: SPDYGoAwayStatus(rawValue: read32())))
        case 9:
            try fixedLength(8, "WINDOW_UPDATE")
            let streamID = read32() & 0x7FFF_FFFF
            return .frame(.windowUpdate(streamID: streamID, delta: read32() & 0x7FFF_FFFF))
        default:
            return .frame(.unknownControl(type: type))
        }
    }

    private func headerBlock(_ payload: inout ByteBuffer, streamID: UInt32) throws(SPDYError) -> Swift.Result<SPDYHeaders, SPDYHeaderBlockError> {
        let compressed = payload.readBytes(length: payload.readableBytes) ?? []
        let raw = try inflater.decompress(compressed, limit: maximumHeaderBlockLength)
        do {
            return .success(try SPDYHeaders.decode(raw))
        } catch {
            return .failure(error)
        }
    }
}
