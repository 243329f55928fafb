import CapstanAPI
import CapstanControllerRuntime
import Foundation

extension DeploymentCore {
    /// How the rollout stands, for the Progressing condition.
    public enum Progress: Sendable, Equatable {
        /// A new ReplicaSet was created in this sync.
        case newReplicaSetCreated(String)
        /// The new ReplicaSet existed already (first sync by this controller).
        case foundNewReplicaSet(String)
        case paused
        case resumed
        /// Nothing special happened this sync: decide from the numbers.
        case none
    }

    /// Counts over the Deployment's ReplicaSets, and the Available condition.
    public static func status(desired: Int, unavailable: Int, generation: Int64?, all: [AppsV1.ReplicaSet],
                              new: AppsV1.ReplicaSet?, previous: AppsV1.DeploymentStatus?, collisionCount: Int32?,
                              now: Date) -> AppsV1.DeploymentStatus {
        var s = AppsV1.DeploymentStatus()
        let sum = { (f: (AppsV1.ReplicaSetStatus) -> Int32?) in all.reduce(Int32(0)) { $0 + (f($1.status ?? .init(replicas: 0)) ?? 0) } }
        s.replicas = sum { $0.replicas }
        s.updatedReplicas = new?.status?.replicas ?? 0
        s.readyReplicas = sum { $0.readyReplicas }
        s.availableReplicas = sum { $0.availableReplicas }
        s.unavailableReplicas = max(0, Int32(desired) - (s.availableReplicas ?? 0))
        s.observedGeneration = generation
        s.collisionCount = collisionCount ?? previous?.collisionCount
        var conditions = previous?.conditions ?? []
        let minAvailable = desired - min(unavailable, desired)
        if Int(s.availableReplicas ?? 0) >= minAvailable {
            set(&conditions, type: "Available", status: "True", reason: "MinimumReplicasAvailable",
                message: "Deployment has minimum availability.", now: now)
        } else {
            set(&conditions, type: "Available", status: "False", reason: "MinimumReplicasUnavailable",
                message: "Deployment does not have minimum availability.", now: now)
        }
        // The new ReplicaSet's failure to create pods shows on the Deployment.
        if let failure = new?.status?.conditions?.first(where: { $0.type == "ReplicaFailure" && $0.status == "True" }) {
            set(&conditions, type: "ReplicaFailure", status: "True", reason: failure.reason ?? "", message: failure.message ?? "", now: now)
        } else {
            conditions.removeAll { $0.type == "ReplicaFailure" }
        }
        s.conditions = conditions
        return s
    }

    /// Whether every pod is updated and available (the rollout is complete).
    public static func isComplete(desired: Int, status: AppsV1.DeploymentStatus, generation: Int64?) -> Bool {
        Int(status.updatedReplicas ?? 0) == desired && Int(status.replicas ?? 0) == desired
            && Int(status.availableReplicas ?? 0) == desired && (status.observedGeneration ?? 0) >= (generation ?? 0)
    }

    /// Sets the Progressing condition in `status` (when a progress deadline is set), as upstream's
    /// rollout-status sync: created/found/updated/complete/paused/resumed, or ProgressDeadlineExceeded
    /// when nothing moved for `deadlineSeconds`. Returns when to look again for a timeout.
    @discardableResult
    public static func setProgressing(_ status: inout AppsV1.DeploymentStatus, previous: AppsV1.DeploymentStatus?,
                                      desired: Int, generation: Int64?, newName: String?, progress: Progress,
                                      deadlineSeconds: Int32?, now: Date) -> TimeInterval? {
        guard let deadlineSeconds, deadlineSeconds < Int32.max else {
            status.conditions?.removeAll { $0.type == "Progressing" }
            return nil
        }
        var conditions = status.conditions ?? []
        let current = conditions.first(where: { $0.type == "Progressing" })
        let name = newName ?? ""
        switch progress {
        case .paused:
            set(&conditions, type: "Progressing", status: "Unknown", reason: "DeploymentPaused", message: "Deployment is paused", now: now)
        case .resumed:
            set(&conditions, type: "Progressing", status: "Unknown", reason: "DeploymentResumed", message: "Deployment is resumed", now: now)
        case .newReplicaSetCreated(let rs):
            set(&conditions, type: "Progressing", status: "True", reason: "NewReplicaSetCreated", message: "Created new replica set \"\(rs)\"", now: now)
        case .foundNewReplicaSet(let rs) where current == nil:
            set(&conditions, type: "Progressing", status: "True", reason: "FoundNewReplicaSet", message: "Found new replica set \"\(rs)\"", now: now)
        case .foundNewReplicaSet, .none:
            if current?.reason == "DeploymentPaused" { break }
            if isComplete(desired: desired, status: status, generation: generation) {
                set(&conditions, type: "Progressing", status: "True", reason: "NewReplicaSetAvailable",
                    message: "ReplicaSet \"\(name)\" has successfully progressed.", now: now)
            } else if isProgressing(status, previous: previous) {
                set(&conditions, type: "Progressing", status: "True", reason: "ReplicaSetUpdated",
                    message: "ReplicaSet \"\(name)\" is progressing.", now: now, touch: true)
            } else if let current, current.status == "True", current.reason != "NewReplicaSetAvailable",
                      let since = (current.lastUpdateTime ?? current.lastTransitionTime)?.date {
                let deadline = since.addingTimeInterval(TimeInterval(deadlineSeconds))
                if deadline <= now {
                    set(&conditions, type: "Progressing", status: "False", reason: "ProgressDeadlineExceeded",
                        message: "ReplicaSet \"\(name)\" has timed out progressing.", now: now)
                } else {
                    status.conditions = conditions
                    return deadline.timeIntervalSince(now)
                }
            }
        }
        status.conditions = conditions
        if let c = conditions.first(where: { $0.type == "Progressing" }), c.status == "True", c.reason != "NewReplicaSetAvailable",
           let since = (c.lastUpdateTime ?? c.lastTransitionTime)?.date {
            return max(0, since.addingTimeInterval(TimeInterval(deadlineSeconds)).timeIntervalSince(now))
        }
        return nil
    }

    static func isProgressing(_ new: AppsV1.DeploymentStatus, previous: AppsV1.DeploymentStatus?) -> Bool {
        guard let old = previous else { return true }
        return (new.updatedReplicas ?? 0) > (old.updatedReplicas ?? 0) || (new.replicas ?? 0) < (old.replicas ?? 0)
            || (new.readyReplicas ?? 0) > (old.readyReplicas ?? 0) || (new.availableReplicas ?? 0) > (old.availableReplicas ?? 0)
    }

    /// Sets a condition; the transition time changes only when the status does.
    /// `touch` moves `lastUpdateTime` even when nothing else changes (progress was made).
    static func set(_ conditions: inout [AppsV1.DeploymentCondition], type: String, status: String, reason: String, message: String,
                    now: Date, touch: Bool = false) {
        let time = MetaV1.Time(now)
        if let i = conditions.firstIndex(where: { $0.type == type }) {
            let old = conditions[i]
            if old.status == status && old.reason == reason && old.message == message && !touch { return }
            conditions[i] = AppsV1.DeploymentCondition(lastTransitionTime: old.status == status ? old.lastTransitionTime : time,
                                                       lastUpdateTime: time, message: message, reason: reason, status: status, type: type)
        } else {
            conditions.append(AppsV1.DeploymentCondition(lastTransitionTime: time, lastUpdateTime: time, message: message,
                                                         reason: reason, status: status, type: type))
        }
    }
}
