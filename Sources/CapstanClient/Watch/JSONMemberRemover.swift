/// Removes one member of a JSON document by scanning its bytes, without parsing the rest: an
/// informer that has no use for `metadata.managedFields` (often the largest part of an object)
/// drops it before decoding, as client-go's `TransformStripManagedFields` drops it after.
///
/// Only the objects on the path are walked; other values are skipped by bracket matching. A
/// document that is not well formed where the scan goes comes back unchanged (the decoder then
/// reports it).
struct JSONMemberRemover: Sendable {
    /// Keys from the root object to the member (`["object", "metadata", "managedFields"]`).
    let path: [[UInt8]]

    init(path: [String]) {
        precondition(!path.isEmpty, "a member path needs at least one key")
        self.path = path.map { Array($0.utf8) }
    }

    /// `json` without the member, or unchanged when it has none.
    func removing(from json: [UInt8]) -> [UInt8] {
        guard let range = memberRange(in: json) else { return json }
        var out: [UInt8] = []
        out.reserveCapacity(json.count - range.count)
        out.append(contentsOf: json[..<range.lowerBound])
        out.append(contentsOf: json[range.upperBound...])
        return out
    }

    /// The bytes to cut: the member with one adjacent comma, so what remains is valid JSON.
    func memberRange(in json: [UInt8]) -> Range<Int>? {
        var s = Scanner(bytes: json)
        for (level, name) in path.enumerated() {
            s.skipWhitespace()
            guard s.consume(UInt8(ascii: "{")) else { return nil }
            var previousComma: Int?
            while true {
                s.skipWhitespace()
                let keyStart = s.index
                guard let key = s.string() else { return nil }
                s.skipWhitespace()
                guard s.consume(UInt8(ascii: ":")) else { return nil }
                s.skipWhitespace()
                if json[key].elementsEqual(name) {
                    if level < path.count - 1 { break }  // descend into this member's value
                    guard s.skipValue() else { return nil }
                    let valueEnd = s.index
                    if let previousComma { return previousComma..<valueEnd }
                    s.skipWhitespace()
                    if s.consume(UInt8(ascii: ",")) { return keyStart..<s.index }
                    return keyStart..<valueEnd
                }
                guard s.skipValue() else { return nil }
                s.skipWhitespace()
                guard s.peek == UInt8(ascii: ",") else { return nil }  // `}`: not there
                previousComma = s.index
                s.index += 1
            }
        }
        return nil
    }

    private struct Scanner {
        let bytes: [UInt8]
        var index = 0

        var peek: UInt8? { index < bytes.count ? bytes[index] : nil }

        mutating func skipWhitespace() {
            while let b = peek, b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 { index += 1 }
        }

        mutating func consume(_ byte: UInt8) -> Bool {
            guard peek == byte else { return false }
            index += 1
            return true
        }

        /// A string at the cursor; returns the range of its content (escapes left as they are).
        mutating func string() -> Range<Int>? {
            guard consume(UInt8(ascii: "\"")) else { return nil }
            let start = index
            while index < bytes.count {
                switch bytes[index] {
                case UInt8(ascii: "\\"): index += 2
                case UInt8(ascii: "\""):
                    index += 1
                    return start..<(index - 1)
                default: index += 1
                }
            }
            return nil
        }

        /// Skips one value (object and array by bracket matching); false when the input ends first.
        mutating func skipValue() -> Bool {
            guard let first = peek else { return false }
            switch first {
            case UInt8(ascii: "\""):
                return string() != nil
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                var depth = 0
                while index < bytes.count {
                    switch bytes[index] {
                    case UInt8(ascii: "\""):
                        guard string() != nil else { return false }
                        continue
                    case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
                    case UInt8(ascii: "}"), UInt8(ascii: "]"):
                        depth -= 1
                        if depth == 0 {
                            index += 1
                            return true
                        }
                    default: break
                    }
                    index += 1
                }
                return false
            default:
                // A number, true, false or null: up to the next delimiter.
                while let b = peek, b != UInt8(ascii: ","), b != UInt8(ascii: "}"), b != UInt8(ascii: "]"),
                      b != 0x20, b != 0x0A, b != 0x0D, b != 0x09 {
                    index += 1
                }
                return true
            }
        }
    }
}
