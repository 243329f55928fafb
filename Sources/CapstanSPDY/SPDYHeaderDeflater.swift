import CZlib

/// The compressing side of one direction of a session: a single zlib stream, primed with
/// the SPDY/3 dictionary, that every outgoing header block goes through (each block ends
/// with a sync flush so the peer can decode it at once).
final class SPDYHeaderDeflater {
    private let stream: UnsafeMutablePointer<z_stream>

    init() {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        // Both calls fail only when zlib cannot allocate memory.
        let status = capstan_deflate_init(stream, Z_DEFAULT_COMPRESSION)
        precondition(status == Z_OK, "zlib deflateInit failed (\(status))")
        let primed = SPDYDictionary.bytes.withUnsafeBufferPointer {
            deflateSetDictionary(stream, $0.baseAddress, uInt($0.count))
        }
        precondition(primed == Z_OK, "zlib deflateSetDictionary failed (\(primed))")
    }

    deinit {
        deflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    func compress(_ input: [UInt8]) -> [UInt8] {
        var input = input
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: input.count + 64)
        input.withUnsafeMutableBufferPointer { inBuffer in
            stream.pointee.next_in = inBuffer.baseAddress
            stream.pointee.avail_in = uInt(inBuffer.count)
            repeat {
                let produced = chunk.withUnsafeMutableBufferPointer { outBuffer in
                    stream.pointee.next_out = outBuffer.baseAddress
                    stream.pointee.avail_out = uInt(outBuffer.count)
                    _ = deflate(stream, Z_SYNC_FLUSH)
                    return outBuffer.count - Int(stream.pointee.avail_out)
                }
                output += chunk[0..<produced]
            } while stream.pointee.avail_out == 0
            stream.pointee.next_in = nil
        }
        return output
    }
}
