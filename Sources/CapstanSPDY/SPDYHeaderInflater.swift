import CZlib

/// The decompressing side of one direction of a session: one zlib stream for every header
/// block the peer sends, given the SPDY/3 dictionary when the stream asks for it.
final class SPDYHeaderInflater {
    private let stream: UnsafeMutablePointer<z_stream>
    private var failed = false

    init() {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let status = capstan_inflate_init(stream)
        precondition(status == Z_OK, "zlib inflateInit failed (\(status))")
    }

    deinit {
        inflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    /// Inflates one block. Output beyond `limit` bytes is an error (a header bomb), and so is
    /// any zlib error; after an error the stream is unusable (the session must end).
    func decompress(_ input: [UInt8], limit: Int) throws(SPDYError) -> [UInt8] {
        guard !failed else { throw .compression("the header decompressor failed earlier") }
        guard !input.isEmpty else { throw .compression("empty compressed header block") }
        var input = input
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        var failure: SPDYError?
        input.withUnsafeMutableBufferPointer { inBuffer in
            stream.pointee.next_in = inBuffer.baseAddress
            stream.pointee.avail_in = uInt(inBuffer.count)
            defer { stream.pointee.next_in = nil }
            while true {
                var status: Int32 = Z_OK
                let produced = chunk.withUnsafeMutableBufferPointer { outBuffer in
                    stream.pointee.next_out = outBuffer.baseAddress
                    stream.pointee.avail_out = uInt(outBuffer.count)
                    status = inflate(stream, Z_SYNC_FLUSH)
                    return outBuffer.count - Int(stream.pointee.avail_out)
                }
                output += chunk[0..<produced]
                if output.count > limit {
                    failure = .compression("a header block inflates past \(limit) bytes")
                    return
                }
                switch status {
                case Z_NEED_DICT:
                    let set = SPDYDictionary.bytes.withUnsafeBufferPointer {
                        inflateSetDictionary(stream, $0.baseAddress, uInt($0.count))
                    }
                    if set != Z_OK {
                        failure = .compression("the peer's header stream does not use the SPDY/3 dictionary")
                        return
                    }
                case Z_OK:
                    if stream.pointee.avail_in == 0 && stream.pointee.avail_out > 0 { return }
                case Z_BUF_ERROR:
                    // No progress possible: all input used and all output flushed.
                    if stream.pointee.avail_in == 0 { return }
                    failure = .compression("the header block is truncated")
                    return
                case Z_STREAM_END:
                    failure = .compression("the peer ended its header compression stream")
                    return
                default:
                    let reason = stream.pointee.msg.map { String(cString: $0) } ?? "status \(status)"
                    failure = .compression("header block decompression failed: \(reason)")
                    return
                }
            }
        }
        if let failure {
            failed = true
            throw failure
        }
        return output
    }
}
