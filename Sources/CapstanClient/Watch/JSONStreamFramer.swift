/// Splits a byte stream of concatenated JSON objects (`{...}\n{...}\n`, as watch responses are)
/// into one frame per object, whatever the chunk boundaries and whether or not newlines separate
/// them. Scanning resumes where it stopped, so each byte is looked at once.
struct JSONStreamFramer {
    /// Frames larger than this fail the stream instead of growing memory without bound.
    let maximumFrameSize: Int

    private var buffer: [UInt8] = []
    /// Start of the frame being scanned.
    private var start = 0
    /// Where scanning resumes.
    private var cursor = 0
    private var depth = 0
    private var inString = false
    private var escaped = false

    init(maximumFrameSize: Int = 64 << 20) {
        self.maximumFrameSize = maximumFrameSize
    }

    mutating func append<Bytes: Sequence<UInt8>>(_ bytes: Bytes) {
        if start > 0, start == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            start = 0
            cursor = 0
        } else if start > 4096, start * 2 > buffer.count {
            buffer.removeFirst(start)
            cursor -= start
            start = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// True when nothing but whitespace waits.
    var isEmpty: Bool {
        buffer[start...].allSatisfy(Self.isWhitespace)
    }

    /// The next complete object, or nil until more bytes arrive.
    mutating func next() throws(APIClientError) -> [UInt8]? {
        if depth == 0 {
            // Skip whitespace between frames.
            while start < buffer.count, Self.isWhitespace(buffer[start]) { start += 1 }
            cursor = max(cursor, start)
            guard start < buffer.count else { return nil }
            guard buffer[start] == UInt8(ascii: "{") || buffer[start] == UInt8(ascii: "[") else {
                throw APIClientError(.invalidResponse, "the stream holds \"\(String(decoding: buffer[start...].prefix(40), as: UTF8.self))\" where a JSON object should start")
            }
        }
        var i = cursor
        let end = buffer.count
        while i < end {
            let b = buffer[i]
            i += 1
            if inString {
                if escaped {
                    escaped = false
                } else if b == UInt8(ascii: "\\") {
                    escaped = true
                } else if b == UInt8(ascii: "\"") {
                    inString = false
                }
                continue
            }
            switch b {
            case UInt8(ascii: "\""):
                inString = true
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
                if depth == 0 {
                    let frame = Array(buffer[start..<i])
                    start = i
                    cursor = i
                    return frame
                }
            default:
                break
            }
        }
        cursor = i
        if cursor - start > maximumFrameSize {
            throw APIClientError(.invalidResponse, "a stream frame is larger than \(maximumFrameSize) bytes")
        }
        return nil
    }

    private static func isWhitespace(_ b: UInt8) -> Bool {
        b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09
    }
}
