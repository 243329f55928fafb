/// A set of completion indexes in the compressed text form Jobs use (`1,3-5,7`).
public struct CompletionIndexSet: Sendable, Hashable, CustomStringConvertible {
    public private(set) var indexes: Set<Int>

    public init(_ indexes: some Sequence<Int> = []) { self.indexes = Set(indexes) }

    /// Parses `1,3-5,7`; malformed parts and indexes at or above `limit` (default 100,000) are ignored,
    /// as Kubernetes ignores them.
    public init(parsing text: String?, limit: Int? = nil) {
        var set = Set<Int>()
        for part in (text ?? "").split(separator: ",") {
            let bounds = part.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false).map { Int($0.trimmingCharacters(in: " ")) }
            guard let lower = bounds.first ?? nil, lower >= 0 else { continue }
            var upper = lower
            if bounds.count == 2 {
                guard let u = bounds[1], u >= lower else { continue }
                upper = u
            }
            // Indexed Jobs have at most 100,000 completions; larger ranges are bad input.
            upper = min(upper, (limit ?? 100_000) - 1)
            if lower <= upper { set.formUnion(lower...upper) }
        }
        indexes = set
    }

    public var count: Int { indexes.count }
    public func contains(_ i: Int) -> Bool { indexes.contains(i) }
    public mutating func insert(_ i: Int) { indexes.insert(i) }

    /// Sorted, with runs of consecutive indexes as `a-b`; empty when there are none.
    public var description: String {
        var parts: [String] = []
        let sorted = indexes.sorted()
        var i = 0
        while i < sorted.count {
            var j = i
            while j + 1 < sorted.count && sorted[j + 1] == sorted[j] + 1 { j += 1 }
            parts.append(i == j ? "\(sorted[i])" : "\(sorted[i])-\(sorted[j])")
            i = j + 1
        }
        return parts.joined(separator: ",")
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in set: Character) -> Substring {
        var s = self
        while s.first == set { s.removeFirst() }
        while s.last == set { s.removeLast() }
        return s
    }
}
