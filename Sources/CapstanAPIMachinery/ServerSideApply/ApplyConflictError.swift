import CapstanAPI

/// An apply that would change fields other managers own: answered 409 Conflict with one
/// `FieldManagerConflict` cause per field, as kube-apiserver words them.
public struct ApplyConflictError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Conflict: Sendable, Hashable {
        public var manager: ManagedFieldsEntry.Identity
        public var path: ManagedFieldPath
    }

    /// Sorted by manager, then path.
    public var conflicts: [Conflict]

    public init(conflicts: [Conflict]) {
        self.conflicts = conflicts.sorted { ($0.manager, $0.path) < ($1.manager, $1.path) }
    }

    public var message: String {
        let n = conflicts.count
        let head = "Apply failed with \(n) conflict\(n == 1 ? "" : "s"): "
        if n == 1, let c = conflicts.first {
            return head + "conflict with \(c.manager.conflictDescription): \(c.path)"
        }
        var lines: [String] = []
        var current: ManagedFieldsEntry.Identity? = nil
        for c in conflicts {
            if c.manager != current {
                lines.append("conflicts with \(c.manager.conflictDescription):")
                current = c.manager
            }
            lines.append("- \(c.path)")
        }
        return head + lines.joined(separator: "\n")
    }

    public var description: String { message }

    public var apiError: APIError {
        APIError(code: 409, reason: .conflict, message: message, details: APIError.Details(causes: conflicts.map {
            APIError.Cause(reason: "FieldManagerConflict", message: "conflict with \($0.manager.conflictDescription)",
                           field: $0.path.description)
        }))
    }
}
