import NIOCore

/// Writes frames in SPDY/3.1 wire form. Header blocks go through this encoder's own zlib
/// stream, so one encoder serves one direction of one session, frames in order.
public final class SPDYFrameEncoder {
    private let deflater = SPDYHeaderDeflater()

    public init() {}

    public func encode(_ frame: SPDYFrame, into buffer: inout ByteBuffer) {
        switch frame {
        case .data(let streamID, let data, let finished):
            precondition(data.readableBytes <= SPDYFrame.maximumLength, "DATA frame too large")
            buffer.writeInteger(streamID & 0x7FFF_FFFF)
            buffer.writeInteger(UInt32(finished ? 1 : 0) << 24 | UInt32(data.readableBytes))
            buffer.writeImmutableBuffer(data)
        case .synStream(let syn):
            let block = deflater.compress(syn.headers.encoded())
            var flags: UInt8 = syn.finished ? 0x01 : 0
            if syn.unidirectional { flags |= 0x02 }
            writeControlHeader(type: 1, flags: flags, length: 10 + block.count, into: &buffer)
            buffer.writeInteger(syn.streamID & 0x7FFF_FFFF)
            buffer.writeInteger(syn.associatedStreamID & 0x7FFF_FFFF)
            buffer.writeInteger(UInt8((syn.priority & 0x07) << 5))
            buffer.writeInteger(syn.slot)
            buffer.writeBytes(block)
        case .synReply(let streamID, let headers, let finished):
            writeHeaderFrame(type: 2, streamID: streamID, headers: headers, finished: finished, into: &buffer)
        case .rstStream(let streamID, let status):
            writeControlHeader(type: 3, flags: 0, length: 8, into: &buffer)
            buffer.writeInteger(streamID & 0x7FFF_FFFF)
            buffer.writeInteger(status.rawValue)
        case .settings(let clearPersisted, let settings):
            writeControlHeader(type: 4, flags: clearPersisted ? 0x01 : 0, length: 4 + 8 * settings.count, into: &buffer)
            buffer.writeInteger(UInt32(settings.count))
            for setting in settings {
                buffer.writeInteger(UInt32(setting.flags) << 24 | (setting.id & 0xFF_FFFF))
                buffer.writeInteger(setting.value)
            }
        case .ping(let id):
            writeControlHeader(type: 6, flags: 0, length: 4, into: &buffer)
            buffer.writeInteger(id)
        case .goAway(let lastGoodStreamID, let status):
            writeControlHeader(type: 7, flags: 0, length: 8, into: &buffer)
            buffer.writeInteger(lastGoodStreamID & 0x7FFF_FFFF)
            buffer.writeInteger(status.rawValue)
        case .headers(let streamID, let headers, let finished):
            writeHeaderFrame(type: 8, streamID: streamID, headers: headers, finished: finished, into: &buffer)
        case .windowUpdate(let streamID, let delta):
            writeControlHeader(type: 9, flags: 0, length: 8, into: &buffer)
            buffer.writeInteger(streamID & 0x7FFF_FFFF)
            buffer.writeInteger(delta & 0x7FFF_FFFF)
        case .unknownControl(let type):
            writeControlHeader(type: type, flags: 0, length: 0, into: &buffer)
        }
    }

    private func writeHeaderFrame(type: UInt16, streamID: UInt32, headers: SPDYHeaders, finished: Bool,
                                  into buffer: inout ByteBuffer) {
        let block = deflater.compress(headers.encoded())
        writeControlHeader(type: type, flags: finished ? 0x01 : 0, length: 4 + block.count, into: &buffer)
        buffer.writeInteger(streamID & 0x7FFF_FFFF)
        buffer.writeBytes(block)
    }

    private func writeControlHeader(type: UInt16, flags: UInt8, length: Int, into buffer: inout ByteBuffer) {
        buffer.writeInteger(0x8000 | SPDYFrame.version)
        buffer.writeInteger(type)
        buffer.writeInteger(UInt32(flags) << 24 | UInt32(length))
    }
}
