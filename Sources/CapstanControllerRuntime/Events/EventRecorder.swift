import CapstanAPI
import CapstanAPIMachinery
import CapstanClient
import Foundation
import Logging
import Synchronization

/// Records core/v1 Events about objects for a component (`deployment-controller`, ...), with
/// count aggregation (``EventAggregator``). ``record(_:type:reason:message:)`` never blocks:
/// events are buffered (the newest 1000 kept) and written by ``run()``.
public final class EventRecorder: Sendable {
    public let component: String
    private let client: APIClient
    private let clock: ControllerClock
    private let logger: Logger
    private let aggregator: Mutex<EventAggregator>
    private let stream: AsyncStream<EventRecord>
    private let continuation: AsyncStream<EventRecord>.Continuation

    public init(client: APIClient, component: String, host: String? = nil, clock: ControllerClock = .continuous,
                logger: Logger? = nil) {
        self.client = client
        self.component = component
        self.clock = clock
        self.logger = logger ?? Logger(label: "capstan.controllers")
        self.aggregator = Mutex(EventAggregator(component: component, host: host))
        (stream, continuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1000))
    }

    /// Records an event about `object`.
    public func record<T: APIObject>(_ object: T, type: EventType = .normal, reason: String, message: String) {
        record(EventRecord(involvedObject: Self.reference(to: object), type: type, reason: reason, message: message))
    }

    public func record(_ event: EventRecord) {
        continuation.yield(event)
    }

    /// A reference to `object` as events and owner references name it.
    public static func reference<T: APIObject>(to object: T) -> CoreV1.ObjectReference {
        CoreV1.ObjectReference(apiVersion: T.apiVersion, kind: T.kind, name: object.objectMeta.name,
                               namespace: object.objectMeta.namespace, resourceVersion: object.objectMeta.resourceVersion,
                               uid: object.objectMeta.uid)
    }

    /// Writes recorded events until the task is cancelled.
    public func run() async {
        for await record in stream {
            let now = clock.date
            let action = aggregator.withLock { $0.record(record, at: now) }
            await write(action, record: record, now: now)
        }
    }

    private func write(_ action: EventAggregator.Action, record: EventRecord, now: Date) async {
        do {
            switch action {
            case .create(let event):
                _ = try await client.create(event)
            case .update(let namespace, let name, let count, let lastTimestamp):
                let patch: JSONValue = .object(["count": .int(Int64(count)), "lastTimestamp": .string(lastTimestamp.rfc3339)])
                do {
                    _ = try await client.patch(CoreV1.Event.self, name: name, namespace: namespace, .merge(patch))
                } catch let error as APIError where error.code == 404 {
                    // The event expired or was deleted: start a new one.
                    let retry = aggregator.withLock { aggregator -> EventAggregator.Action in
                        aggregator.forget(namespace: namespace, name: name)
                        return aggregator.record(record, at: now)
                    }
                    if case .create(let event) = retry { _ = try await client.create(event) }
                }
            }
        } catch {
            logger.debug("could not write event \(record.reason) for \(record.involvedObject.name ?? "?"): \(error)")
        }
    }
}
