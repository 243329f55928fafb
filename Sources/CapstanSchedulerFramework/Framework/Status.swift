/// The result of running a plugin, as Kubernetes' `framework.Status`: a code, the reasons a
/// user reads in `kubectl describe` ("Insufficient cpu"), and the plugin that produced it.
///
/// Success carries nothing and allocates nothing; a single reason is stored inline.
public struct Status: Error, Sendable, Hashable, CustomStringConvertible {
    /// What a status means to the framework. A struct so codes can be added.
    public struct Code: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }

        /// The plugin ran and found nothing wrong.
        public static let success = Code(rawValue: 0)
        /// An internal error: the pod is retried after back-off, and preemption is not tried.
        public static let error = Code(rawValue: 1)
        /// The pod does not fit now; preemption may help.
        public static let unschedulable = Code(rawValue: 2)
        /// The pod does not fit and removing pods would not help (preemption skips the node).
        public static let unschedulableAndUnresolvable = Code(rawValue: 3)
        /// Permit: the pod waits for an allow or reject.
        public static let wait = Code(rawValue: 4)
        /// PreFilter/PreScore/Bind: the plugin has nothing to do for this pod and is skipped.
        public static let skip = Code(rawValue: 5)
        /// The pod waits for something outside the scheduler (PreEnqueue).
        public static let pending = Code(rawValue: 6)

        public var description: String {
            switch self {
            case .success: "Success"
            case .error: "Error"
            case .unschedulable: "Unschedulable"
            case .unschedulableAndUnresolvable: "UnschedulableAndUnresolvable"
            case .wait: "Wait"
            case .skip: "Skip"
            case .pending: "Pending"
            default: "Code(\(rawValue))"
            }
        }
    }

    @usableFromInline
    enum Reasons: Sendable, Hashable {
        case none
        case one(String)
        case many([String])
    }

    /// Reasons and plugin, boxed so a status is two words and success carries nothing.
    @usableFromInline
    final class Details: Sendable {
        let reasons: Reasons
        let plugin: String

        init(reasons: Reasons, plugin: String) {
            self.reasons = reasons
            self.plugin = plugin
        }
    }

    public let code: Code
    @usableFromInline let details: Details?

    @inlinable
    public init(_ code: Code) {
        self.code = code
        details = nil
    }

    public init(_ code: Code, _ reasons: [String], plugin: String = "") {
        self.code = code
        switch reasons.count {
        case 0: details = plugin.isEmpty ? nil : Details(reasons: .none, plugin: plugin)
        case 1: details = Details(reasons: .one(reasons[0]), plugin: plugin)
        default: details = Details(reasons: .many(reasons), plugin: plugin)
        }
    }

    public init(_ code: Code, reason: String, plugin: String = "") {
        self.code = code
        details = Details(reasons: .one(reason), plugin: plugin)
    }

    private init(code: Code, details: Details?) {
        self.code = code
        self.details = details
    }

    @inlinable public static var success: Status { Status(.success) }
    @inlinable public static var skip: Status { Status(.skip) }

    public static func unschedulable(_ reason: String) -> Status { Status(.unschedulable, reason: reason) }
    public static func unresolvable(_ reason: String) -> Status { Status(.unschedulableAndUnresolvable, reason: reason) }
    public static func error(_ message: String) -> Status { Status(.error, reason: message) }

    /// The plugin that returned this status (set by the framework when a plugin rejects a pod).
    public var plugin: String { details?.plugin ?? "" }

    public var reasons: [String] {
        switch details?.reasons ?? .none {
        case .none: []
        case .one(let r): [r]
        case .many(let rs): rs
        }
    }

    /// The reasons joined with ", ", as Kubernetes' `Status.Message()`.
    public var message: String {
        switch details?.reasons ?? .none {
        case .none: ""
        case .one(let r): r
        case .many(let rs): rs.joined(separator: ", ")
        }
    }

    @inline(__always) public var isSuccess: Bool { code == .success }
    @inline(__always) public var isSkip: Bool { code == .skip }
    /// Unschedulable or UnschedulableAndUnresolvable.
    @inline(__always) public var isRejected: Bool { code == .unschedulable || code == .unschedulableAndUnresolvable || code == .pending }

    /// The same status attributed to `name` (no copy when it already is).
    public func withPlugin(_ name: String) -> Status {
        if let d = details, d.plugin == name { return self }
        return Status(code: code, details: Details(reasons: details?.reasons ?? .none, plugin: name))
    }

    public static func == (a: Status, b: Status) -> Bool {
        a.code == b.code && a.plugin == b.plugin && a.reasons == b.reasons
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(code)
        hasher.combine(plugin)
        hasher.combine(reasons)
    }

    public var description: String {
        let m = message
        return m.isEmpty ? code.description : "\(code): \(m)"
    }
}
