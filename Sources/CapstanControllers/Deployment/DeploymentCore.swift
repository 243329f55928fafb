import CapstanAPI
import CapstanControllerRuntime
import Foundation

/// The decisions of the Deployment controller, without IO: surge and unavailability bounds,
/// rolling-update and recreate steps, revisions, history clean-up, status and conditions.
public enum DeploymentCore {
    public static let revisionAnnotation = "deployment.kubernetes.io/revision"
    public static let desiredReplicasAnnotation = "deployment.kubernetes.io/desired-replicas"
    public static let maxReplicasAnnotation = "deployment.kubernetes.io/max-replicas"
    public static let podTemplateHashLabel = "pod-template-hash"
    public static let defaultProgressDeadlineSeconds: Int32 = 600

    /// A ReplicaSet as the planner sees it.
    public struct ReplicaSetInfo: Sendable, Equatable {
        public var name: String
        /// `spec.replicas`.
        public var replicas: Int
        /// `status.availableReplicas`.
        public var available: Int
        /// Sort key: older first (creation time, then name).
        public var created: Int64

        public init(name: String, replicas: Int, available: Int, created: Int64 = 0) {
            self.name = name
            self.replicas = replicas
            self.available = available
            self.created = created
        }
    }

    /// Set `name`'s `spec.replicas` to `replicas`.
    public struct Scale: Sendable, Equatable, CustomStringConvertible {
        public var name: String
        public var from: Int
        public var to: Int

        public init(name: String, from: Int, to: Int) {
            self.name = name
            self.from = from
            self.to = to
        }

        public var description: String { "\(name): \(from)->\(to)" }
    }

    // MARK: Bounds

    /// maxSurge (rounded up) and maxUnavailable (rounded down) as pod counts for `desired`
    /// replicas (defaults 25% each); when both are 0, one pod may be unavailable so the rollout
    /// can proceed.
    public static func fenceposts(maxSurge: IntOrString?, maxUnavailable: IntOrString?, desired: Int) -> (surge: Int, unavailable: Int) {
        let surge = max(0, (maxSurge ?? .string("25%")).scaledValue(total: desired, roundUp: true) ?? 0)
        var unavailable = max(0, (maxUnavailable ?? .string("25%")).scaledValue(total: desired, roundUp: false) ?? 0)
        if surge == 0 && unavailable == 0 { unavailable = 1 }
        return (surge, unavailable)
    }

    // MARK: Rolling update

    /// One step of a rolling update: first scale the new ReplicaSet up within `desired + surge`
    /// total pods; if that changes nothing, scale old ones down while at least
    /// `desired - unavailable` pods stay available (unhealthy old pods go first).
    public static func rollingStep(desired: Int, surge: Int, unavailable: Int, new: ReplicaSetInfo, old: [ReplicaSetInfo]) -> [Scale] {
        if let up = reconcileNew(desired: desired, surge: surge, new: new, old: old) { return [up] }
        return scaleDownOld(desired: desired, unavailable: unavailable, new: new, old: old)
    }

    static func reconcileNew(desired: Int, surge: Int, new: ReplicaSetInfo, old: [ReplicaSetInfo]) -> Scale? {
        if new.replicas == desired { return nil }
        if new.replicas > desired { return Scale(name: new.name, from: new.replicas, to: desired) }
        let current = new.replicas + old.reduce(0) { $0 + $1.replicas }
        let maxTotal = desired + surge
        guard current < maxTotal else { return nil }
        let to = new.replicas + min(maxTotal - current, desired - new.replicas)
        return Scale(name: new.name, from: new.replicas, to: to)
    }

    static func scaleDownOld(desired: Int, unavailable: Int, new: ReplicaSetInfo, old: [ReplicaSetInfo]) -> [Scale] {
        let oldCount = old.reduce(0) { $0 + $1.replicas }
        guard oldCount > 0 else { return [] }
        let all = oldCount + new.replicas
        let minAvailable = desired - unavailable
        let newUnavailable = new.replicas - new.available
        var budget = all - minAvailable - newUnavailable
        guard budget > 0 else { return [] }
        var target = Dictionary(uniqueKeysWithValues: old.map { ($0.name, $0.replicas) })
        let oldest = old.sorted { ($0.created, $0.name) < ($1.created, $1.name) }
        // Unhealthy old replicas first: they do not count as available anyway.
        for rs in oldest where budget > 0 {
            let current = target[rs.name] ?? 0
            let unhealthy = current - min(rs.available, current)
            let cut = min(budget, unhealthy)
            guard cut > 0 else { continue }
            target[rs.name] = current - cut
            budget -= cut
        }
        // Then available ones, keeping minAvailable.
        let availableNow = new.available + oldest.reduce(0) { $0 + min($1.available, target[$1.name] ?? 0) }
        var allowed = availableNow - minAvailable
        for rs in oldest where allowed > 0 {
            let current = target[rs.name] ?? 0
            let cut = min(current, allowed)
            guard cut > 0 else { continue }
            target[rs.name] = current - cut
            allowed -= cut
        }
        return oldest.compactMap { rs in
            let to = target[rs.name] ?? rs.replicas
            return to == rs.replicas ? nil : Scale(name: rs.name, from: rs.replicas, to: to)
        }
    }

    // MARK: Recreate

    /// Recreate: scale every old ReplicaSet to 0; once no old pod runs, scale the new one to `desired`.
    public static func recreateStep(desired: Int, new: ReplicaSetInfo?, old: [ReplicaSetInfo], oldPodsRunning: Bool) -> [Scale] {
        let down = old.filter { $0.replicas > 0 }.map { Scale(name: $0.name, from: $0.replicas, to: 0) }
        if !down.isEmpty { return down }
        guard !oldPodsRunning, let new, new.replicas != desired else { return [] }
        return [Scale(name: new.name, from: new.replicas, to: desired)]
    }

    // MARK: Scaling without a rollout

    /// A change of `spec.replicas` spread over the active ReplicaSets in proportion to their size
    /// (as upstream's proportional scaling), the rest to the newest; with one active ReplicaSet it
    /// simply takes the new count.
    public static func proportionalScale(desired: Int, surge: Int, new: ReplicaSetInfo?, old: [ReplicaSetInfo]) -> [Scale] {
        var all = old
        if let new { all.append(new) }
        let active = all.filter { $0.replicas > 0 }
        if active.count <= 1 {
            guard let target = active.first ?? new, target.replicas != desired else { return [] }
            return [Scale(name: target.name, from: target.replicas, to: desired)]
        }
        let allowed = desired + surge
        let current = active.reduce(0) { $0 + $1.replicas }
        let toAdd = allowed - current
        guard toAdd != 0 else { return [] }
        let ordered = active.sorted { toAdd > 0 ? ($0.replicas, $0.created) > ($1.replicas, $1.created) : ($0.replicas, $0.created) < ($1.replicas, $1.created) }
        var target: [String: Int] = [:]
        var added = 0
        for rs in ordered {
            let share = current > 0 ? Int((Double(rs.replicas) * Double(toAdd) / Double(current)).rounded(.towardZero)) : 0
            let bounded = toAdd > 0 ? min(share, toAdd - added) : max(share, toAdd - added)
            target[rs.name] = rs.replicas + bounded
            added += bounded
        }
        // Leftovers go to the newest (scale up) or the smallest (scale down) first.
        if added != toAdd, let first = (new.flatMap { n in active.first(where: { $0.name == n.name }) } ?? ordered.first) {
            target[first.name, default: first.replicas] += toAdd - added
        }
        return active.compactMap { rs in
            let to = max(0, target[rs.name] ?? rs.replicas)
            return to == rs.replicas ? nil : Scale(name: rs.name, from: rs.replicas, to: to)
        }
    }

    // MARK: Revisions and history

    /// The revision of a ReplicaSet (0 when unannotated or unparsable).
    public static func revision(_ annotations: [String: String]?) -> Int64 {
        annotations?[revisionAnnotation].flatMap { Int64($0) } ?? 0
    }

    /// Old ReplicaSets to delete beyond `limit`: only fully scaled-down ones, lowest revision first.
    public static func historyToDelete(old: [(name: String, revision: Int64, replicas: Int, statusReplicas: Int)], limit: Int) -> [String] {
        let removable = old.filter { $0.replicas == 0 && $0.statusReplicas == 0 }
        let excess = old.count - limit
        guard excess > 0 else { return [] }
        return removable.sorted { ($0.revision, $0.name) < ($1.revision, $1.name) }.prefix(excess).map(\.name)
    }

    // MARK: Template hash

    /// The `pod-template-hash` of a template: FNV-1a (32 bit) of its canonical JSON (keys sorted)
    /// and the collision count, written with the alphabet Kubernetes uses for generated names.
    public static func templateHash(_ template: CoreV1.PodTemplateSpec, collisionCount: Int32?) -> String {
        var bytes: [UInt8] = []
        if let data = try? KubeJSON.encode(template), let value = try? JSONDecoder().decode(JSONValue.self, from: data) {
            canonical(value, into: &bytes)
        }
        if let collisionCount { bytes += Array(String(collisionCount).utf8) }
        var hash: UInt32 = 2_166_136_261
        for byte in bytes {
            hash ^= UInt32(byte)
            hash = hash &* 16_777_619
        }
        let alphabet = Array("bcdfghjklmnpqrstvwxz2456789")
        return String(String(hash).utf8.map { alphabet[Int($0) % alphabet.count] })
    }

    /// JSON with object keys in byte order, so equal values always give equal bytes.
    static func canonical(_ value: JSONValue, into out: inout [UInt8]) {
        switch value {
        case .object(let o):
            out.append(UInt8(ascii: "{"))
            for (i, entry) in o.sorted(by: { $0.key < $1.key }).enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                canonical(.string(entry.key), into: &out)
                out.append(UInt8(ascii: ":"))
                canonical(entry.value, into: &out)
            }
            out.append(UInt8(ascii: "}"))
        case .array(let a):
            out.append(UInt8(ascii: "["))
            for (i, item) in a.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                canonical(item, into: &out)
            }
            out.append(UInt8(ascii: "]"))
        default:
            out += value.serialized()
        }
    }

    /// The template without the `pod-template-hash` label, to compare a ReplicaSet's template
    /// with the Deployment's.
    public static func withoutHash(_ template: CoreV1.PodTemplateSpec?) -> CoreV1.PodTemplateSpec? {
        guard var template else { return nil }
        template.metadata?.labels?[podTemplateHashLabel] = nil
        if template.metadata?.labels?.isEmpty == true { template.metadata?.labels = nil }
        return template
    }
}
