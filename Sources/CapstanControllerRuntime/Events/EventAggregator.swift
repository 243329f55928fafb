import CapstanAPI
import Foundation

/// `Normal` or `Warning`; open for growth.
public struct EventType: RawRepresentable, Sendable, Hashable {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public static let normal = EventType(rawValue: "Normal")
    public static let warning = EventType(rawValue: "Warning")
}

/// What an ``EventRecorder`` was asked to record.
public struct EventRecord: Sendable, Hashable {
    public var involvedObject: CoreV1.ObjectReference
    public var type: EventType
    public var reason: String
    public var message: String

    public init(involvedObject: CoreV1.ObjectReference, type: EventType, reason: String, message: String) {
        self.involvedObject = involvedObject
        self.type = type
        self.reason = reason
        self.message = message
    }
}

/// The pure part of event recording: an event like one recorded less than ``window`` ago (same
/// involved object, type, reason and message) bumps that event's `count` and `lastTimestamp`
/// instead of creating a new one, as client-go's event correlator does.
public struct EventAggregator: Sendable {
    /// What to write.
    public enum Action: Sendable, Hashable {
        case create(CoreV1.Event)
        /// Patch `count` and `lastTimestamp` of the event `name` in `namespace`.
        case update(namespace: String, name: String, count: Int32, lastTimestamp: MetaV1.Time)
    }

    struct Key: Hashable {
        var kind: String?
        var namespace: String?
        var name: String?
        var uid: String?
        var type: String
        var reason: String
        var message: String
    }

    struct Entry {
        var namespace: String
        var name: String
        var count: Int32
        var lastSeen: Date
    }

    public let component: String
    public let host: String?
    public let window: TimeInterval
    public let capacity: Int
    private var entries: [Key: Entry] = [:]
    private var lastNanos: Int64 = 0

    public init(component: String, host: String? = nil, window: TimeInterval = 600, capacity: Int = 4096) {
        self.component = component
        self.host = host
        self.window = window
        self.capacity = capacity
    }

    public mutating func record(_ record: EventRecord, at now: Date) -> Action {
        let ref = record.involvedObject
        let key = Key(kind: ref.kind, namespace: ref.namespace, name: ref.name, uid: ref.uid, type: record.type.rawValue,
                      reason: record.reason, message: record.message)
        let timestamp = MetaV1.Time(now)
        if var entry = entries[key], now.timeIntervalSince(entry.lastSeen) < window {
            entry.count += 1
            entry.lastSeen = now
            entries[key] = entry
            return .update(namespace: entry.namespace, name: entry.name, count: entry.count, lastTimestamp: timestamp)
        }
        if entries.count >= capacity {
            entries = entries.filter { now.timeIntervalSince($0.value.lastSeen) < window }
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
        }
        // Event names are `<object>.<hex nanoseconds>`, kept strictly increasing so they never collide.
        var nanos = Int64(now.timeIntervalSince1970 * 1e9)
        if nanos <= lastNanos { nanos = lastNanos + 1 }
        lastNanos = nanos
        let namespace = (ref.namespace?.isEmpty == false ? ref.namespace : nil) ?? "default"
        let name = "\(ref.name ?? "unknown").\(String(nanos, radix: 16))"
        entries[key] = Entry(namespace: namespace, name: name, count: 1, lastSeen: now)
        let event = CoreV1.Event(
            metadata: MetaV1.ObjectMeta(name: name, namespace: namespace),
            count: 1, firstTimestamp: timestamp, involvedObject: ref, lastTimestamp: timestamp,
            message: record.message, reason: record.reason, reportingComponent: component, reportingInstance: host,
            source: CoreV1.EventSource(component: component, host: host), type: record.type.rawValue)
        return .create(event)
    }

    /// Forgets an event the server no longer has, so the next like it is created afresh.
    public mutating func forget(namespace: String, name: String) {
        entries = entries.filter { !($0.value.namespace == namespace && $0.value.name == name) }
    }
}
