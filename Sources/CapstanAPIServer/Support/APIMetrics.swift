import CoreMetrics
import Metrics
import Prometheus
import Synchronization

/// Request counts and latencies by verb and resource, watch counts, exposed in Prometheus text
/// format at `/metrics`. Metrics are made through swift-metrics with a Prometheus factory owned
/// by this server (no process-global bootstrap, so several servers can run in one process).
public final class APIMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    let factory: PrometheusMetricsFactory
    /// Each label's counter and its count so far (read back by ``requestCounts()``).
    private let counters = Mutex<[RequestLabel: (counter: CoreMetrics.Counter, count: Int)]>([:])
    private let timers = Mutex<[String: CoreMetrics.Timer]>([:])
    private let watches: CoreMetrics.Gauge
    private let watchCount = Atomic<Int>(0)

    public init() {
        var f = PrometheusMetricsFactory(registry: registry)
        f.defaultDurationHistogramBuckets = [.milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25),
                                             .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
                                             .seconds(1), .seconds(5), .seconds(30)]
        factory = f
        watches = CoreMetrics.Gauge(label: "apiserver_registered_watchers", factory: f)
    }

    func record(_ label: RequestLabel, duration: Duration) {
        count(label)
        let key = "\(label.verb)|\(label.resource)"
        let timer = timers.withLock { t in
            if let existing = t[key] { return existing }
            let made = CoreMetrics.Timer(label: "apiserver_request_duration_seconds",
                                         dimensions: [("verb", label.verb), ("resource", label.resource)],
                                         preferredDisplayUnit: .seconds, factory: factory)
            t[key] = made
            return made
        }
        timer.recordNanoseconds(duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
    }

    func recordStreamStart(_ label: RequestLabel) {
        count(label)
    }

    private func count(_ label: RequestLabel) {
        let counter = counters.withLock { c in
            if let existing = c[label] {
                c[label]?.count += 1
                return existing.counter
            }
            let made = CoreMetrics.Counter(label: "apiserver_request_total",
                                           dimensions: [("verb", label.verb), ("resource", label.resource),
                                                        ("code", String(label.code))], factory: factory)
            c[label] = (made, 1)
            return made
        }
        counter.increment()
    }

    /// Requests served so far by verb, resource (`pods`, `pods/status`) and code, as
    /// `apiserver_request_total` counts them.
    public func requestCounts() -> [RequestLabel: Int] {
        counters.withLock { $0.mapValues(\.count) }
    }

    func watchStarted() {
        let n = watchCount.add(1, ordering: .relaxed).newValue
        watches.record(n)
    }

    func watchEnded() {
        let n = watchCount.subtract(1, ordering: .relaxed).newValue
        watches.record(n)
    }

    public var activeWatches: Int { watchCount.load(ordering: .relaxed) }

    public func exposition() -> String { registry.emitToString() }
}
