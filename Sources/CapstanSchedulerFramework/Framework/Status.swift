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

    private enum Reasons: Sendable, Hashable {
        case none
        case one(String)
        case many([String])
    }

    public let code: Code
    private let storage: Reasons
    /// The plugin that returned this status (set by the framework when a plugin rejects a pod).
    public var plugin: String

    public init(_ code: Code, _ reasons: [String] = [], plugin: String = "") {
        self.code = code
        switch reasons.count {
        case 0: storage = .none
        case 1: storage = .one(reasons[0])
        default: storage = .many(reasons)
        }
        self.plugin = plugin
    }

    public init(_ code: Code, reason: String, plugin: String = "") {
        self.code = code
        storage = .one(reason)
        self.plugin = plugin
    }

    public static let success = Status(.success)
    public static let skip = Status(.skip)

    public static func unschedulable(_ reason: String) -> Status { Status(.unschedulable, reason: reason) }
    public static func unresolvable(_ reason: String) -> Status { Status(.unschedulableAndUnresolvable, reason: reason) }
    public static func error(_ message: String) -> Status { Status(.error, reason: message) }

    public var reasons: [String] {
        switch storage {
        case .none: []
        case .one(let r): [r]
        case .many(let rs): rs
        }
    }

    /// The reasons joined with ", ", as Kubernetes' `Status.Message()`.
    public var message: String {
        switch storage {
        case .none: ""
        case .one(let r): r
        case .many(let rs): rs.joined(separator: ", ")
        }
    }

    @inline(__always) public var isSuccess: Bool { code == .success }
    @inline(__always) public var isSkip: Bool { code == .skip }
    /// Unschedulable or UnschedulableAndUnresolvable.
    @inline(__always) public var isRejected: Bool { code == .unschedulable || code == .unschedulableAndUnresolvable || code == .pending }

    public func withPlugin(_ name: String) -> Status {
        var s = self
        s.plugin = name
        return s
    }

    public var description: String {
        let m = message
        return m.isEmpty ? code.description : "\(code): \(m)"
    }
}
