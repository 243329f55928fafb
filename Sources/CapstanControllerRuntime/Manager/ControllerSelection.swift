/// A failure to understand `--controllers`.
public struct ControllerSelectionError: Error, Sendable, Hashable, CustomStringConvertible {
    public let description: String
}

/// Which controllers run, from `--controllers` as kube-controller-manager reads it: a list of
/// `*` (every controller enabled by default), `name` (enable) and `-name` (disable); an
/// explicit name wins over `*`, and the default list is `["*"]`.
public struct ControllerSelection: Sendable, Hashable {
    public var items: [String]

    /// `items` may hold comma-separated lists (`["*,-job", "cronjob"]`).
    public init(_ items: [String] = ["*"]) {
        self.items = items.flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: " ") }.filter { !$0.isEmpty }
    }

    /// Whether `name` runs.
    public func isEnabled(_ name: String, enabledByDefault: Bool = true) -> Bool {
        if items.contains("-" + name) { return false }
        if items.contains(name) { return true }
        if items.contains("*") { return enabledByDefault }
        return false
    }

    /// Throws when an item names no known controller.
    public func validate(known: Set<String>) throws(ControllerSelectionError) {
        for item in items where item != "*" {
            let name = item.hasPrefix("-") ? String(item.dropFirst()) : item
            guard known.contains(name) else {
                throw ControllerSelectionError(description: "\"\(item)\" is not a known controller (known: \(known.sorted().joined(separator: ", ")))")
            }
        }
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in set: Character) -> String {
        var s = self
        while s.first == set { s.removeFirst() }
        while s.last == set { s.removeLast() }
        return String(s)
    }
}
