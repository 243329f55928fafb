import CapstanContainerRuntime
import Foundation

typealias CRILogStream = CRILog.Stream

/// The reference for the shim's C log writer (ShimLogFormatTests): splits a byte stream into CRI log records: one `F` record per line, `P` records for
/// pieces of lines longer than `CRILog.maxRecordContent`; the unterminated tail at EOF is
/// written as an `F` record.
struct CRILogWriter {
    let stream: CRILog.Stream
    let emit: ([UInt8]) -> Void
    private var pending: [UInt8] = []

    init(stream: CRILog.Stream, emit: @escaping ([UInt8]) -> Void) {
        self.stream = stream
        self.emit = emit
    }

    mutating func append(_ bytes: ArraySlice<UInt8>, now: Date) {
        var start = bytes.startIndex
        var timestamp: String?
        func stamp() -> String {
            if let timestamp { return timestamp }
            let value = CRILog.timestamp(now)
            timestamp = value
            return value
        }
        while let newline = bytes[start...].firstIndex(of: 0x0A) {
            pending += bytes[start ..< newline]
            flush(partial: false, timestamp: stamp())
            start = newline + 1
        }
        pending += bytes[start...]
        while pending.count >= CRILog.maxRecordContent {
            let piece = pending.prefix(CRILog.maxRecordContent)
            emit(CRILog.format(timestamp: stamp(), stream: stream, partial: true, content: piece))
            pending.removeFirst(CRILog.maxRecordContent)
        }
    }

    mutating func finish(now: Date) {
        if !pending.isEmpty { flush(partial: false, timestamp: CRILog.timestamp(now)) }
    }

    private mutating func flush(partial: Bool, timestamp: String) {
        emit(CRILog.format(timestamp: timestamp, stream: stream, partial: partial, content: pending))
        pending.removeAll(keepingCapacity: true)
    }
}
