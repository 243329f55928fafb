extension String {
    /// nil for the empty string, for optional wire fields.
    var nonEmpty: String? { isEmpty ? nil : self }

    /// Replaces every occurrence of `target`, without Foundation.
    func replacingOccurrences(_ target: String, with replacement: String) -> String {
        let t = Array(target.utf8)
        guard !t.isEmpty, utf8.count >= t.count else { return self }
        let src = Array(utf8)
        var out: [UInt8] = []
        out.reserveCapacity(src.count)
        var i = 0
        while i < src.count {
            if src.hasBytes(t, at: i) {
                out.append(contentsOf: replacement.utf8)
                i += t.count
            } else {
                out.append(src[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

extension Array where Element == UInt8 {
    /// True when `needle` occurs at `offset`; no allocation.
    func hasBytes(_ needle: [UInt8], at offset: Int) -> Bool {
        guard offset >= 0, offset + needle.count <= count else { return false }
        for j in 0..<needle.count where self[offset + j] != needle[j] { return false }
        return true
    }
}
