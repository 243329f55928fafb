#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The keys of a cache in byte order, kept lazily: inserts and removals are noted in O(1) and
/// folded into the sorted array by one merge when an ordered read needs it, so a list page is
/// a binary search and a slice, not a sort of every object.
///
/// Callers report only real changes: `insert` for a key that was absent, `remove` for one
/// that was present.
public struct KeyOrder: Sendable {
    private var sorted: [String] = []
    private var added: Set<String> = []
    /// Keys still in `sorted` that are gone.
    private var removed: Set<String> = []

    public init() {}

    public var count: Int { sorted.count + added.count - removed.count }

    public mutating func insert(_ key: String) {
        if removed.remove(key) == nil { added.insert(key) }
    }

    public mutating func remove(_ key: String) {
        if added.remove(key) == nil { removed.insert(key) }
    }

    /// Every key in byte order, after folding in the pending changes.
    public mutating func keys() -> [String] {
        settle()
        return sorted
    }

    /// Positions in `keys()` of the keys that start with `prefix`.
    public mutating func range(prefix: String) -> Range<Int> {
        settle()
        let lower = lowerBound(prefix)
        guard let end = Self.successor(ofPrefix: prefix) else { return lower..<sorted.count }
        return lower..<max(lower, lowerBound(end))
    }

    /// The sorted key at `index` of `keys()` (after `range(prefix:)` or `keys()` settled it).
    public subscript(index: Int) -> String { sorted[index] }

    /// The first position within `bounds` whose key is not before `key`.
    public mutating func position(of key: String, in bounds: Range<Int>) -> Int {
        settle()
        var lo = bounds.lowerBound, hi = bounds.upperBound
        while lo < hi {
            let mid = (lo + hi) / 2
            if Self.precedes(sorted[mid], key) { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    private func lowerBound(_ key: String) -> Int {
        var lo = 0, hi = sorted.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if Self.precedes(sorted[mid], key) { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    private mutating func settle() {
        guard !added.isEmpty || !removed.isEmpty else { return }
        var base = sorted
        if !removed.isEmpty {
            base.removeAll { removed.contains($0) }
            removed = []
        }
        if added.isEmpty {
            sorted = base
            return
        }
        let new = added.sorted(by: Self.precedes)
        added = []
        if base.isEmpty || Self.precedes(base[base.count - 1], new[0]) {
            sorted = base + new
            return
        }
        var merged: [String] = []
        merged.reserveCapacity(base.count + new.count)
        var i = 0, j = 0
        while i < base.count && j < new.count {
            if Self.precedes(new[j], base[i]) { merged.append(new[j]); j += 1 } else { merged.append(base[i]); i += 1 }
        }
        merged.append(contentsOf: base[i...])
        merged.append(contentsOf: new[j...])
        sorted = merged
    }

    /// Byte-wise order of the UTF-8 encodings (storage's key order).
    public static func precedes(_ a: String, _ b: String) -> Bool {
        var a = a, b = b
        return a.withUTF8 { pa in
            b.withUTF8 { pb in
                let n = min(pa.count, pb.count)
                let c = n == 0 ? 0 : memcmp(pa.baseAddress!, pb.baseAddress!, n)
                return c != 0 ? c < 0 : pa.count < pb.count
            }
        }
    }

    /// The smallest key after every key that starts with `prefix`, if one exists.
    static func successor(ofPrefix prefix: String) -> String? {
        var bytes = Array(prefix.utf8)
        while let last = bytes.last {
            if last < 0x7F { bytes[bytes.count - 1] = last + 1; return String(decoding: bytes, as: UTF8.self) }
            bytes.removeLast()
        }
        return nil
    }
}
