import CapstanContainerRuntime
import Foundation

/// Splits SPDY's resize stream (JSON objects `{"Width":80,"Height":24}` back to back, in
/// arbitrary chunks) into sizes.
struct TerminalSizeDecoder {
    private var pending: [UInt8] = []

    private struct Size: Decodable {
        var Width: UInt16
        var Height: UInt16
    }

    /// Sizes completed by `bytes`; malformed objects are skipped.
    mutating func feed(_ bytes: some Sequence<UInt8>) -> [TerminalSize] {
        pending += bytes
        var sizes: [TerminalSize] = []
        var depth = 0, start: Int?, consumed = 0
        for (index, byte) in pending.enumerated() {
            if byte == UInt8(ascii: "{") {
                if depth == 0 { start = index }
                depth += 1
            } else if byte == UInt8(ascii: "}"), depth > 0 {
                depth -= 1
                if depth == 0, let from = start {
                    if let size = try? JSONDecoder().decode(Size.self, from: Data(pending[from...index])) {
                        sizes.append(TerminalSize(width: size.Width, height: size.Height))
                    }
                    consumed = index + 1
                    start = nil
                }
            }
        }
        pending.removeFirst(consumed)
        if pending.count > 4096 { pending.removeAll() }  // no object is that long: garbage
        return sizes
    }
}
