import CapstanAPI
import Synchronization

/// `/healthz`, `/livez`, `/readyz` with named checks and `?verbose`, as kube-apiserver serves them.
public final class HealthChecks: Sendable {
    public typealias Check = @Sendable () -> String?

    private let checks = Mutex<[(name: String, readyOnly: Bool, check: Check)]>([])

    public init() {
        add("ping") { nil }
    }

    /// A check returns nil when healthy, or the reason it is not.
    public func add(_ name: String, readyOnly: Bool = false, _ check: @escaping Check) {
        checks.withLock { $0.append((name, readyOnly, check)) }
    }

    func respond(_ endpoint: String, _ request: APIRequest) -> APIResponse {
        let all = checks.withLock { $0 }
        let relevant = all.filter { endpoint == "readyz" || !$0.readyOnly }
        // /healthz/<check> asks for one check.
        if request.segments.count > 1 {
            guard let c = relevant.first(where: { $0.name == request.segments[1] }) else {
                return .text("404 page not found\n", status: .notFound)
            }
            if let failure = c.check() { return .text("internal server error: \(failure)\n", status: .internalServerError) }
            return .text("ok")
        }
        let excluded = Set(request.query.all("exclude"))
        var lines: [String] = []
        var healthy = true
        for c in relevant where !excluded.contains(c.name) {
            if let failure = c.check() {
                healthy = false
                lines.append("[-]\(c.name) failed: \(failure)")
            } else {
                lines.append("[+]\(c.name) ok")
            }
        }
        if request.query.has("verbose") || !healthy {
            let text = lines.joined(separator: "\n") + "\n" + (healthy ? "\(endpoint) check passed\n" : "\(endpoint) check failed\n")
            return .text(text, status: healthy ? .ok : .internalServerError)
        }
        return .text("ok")
    }
}
