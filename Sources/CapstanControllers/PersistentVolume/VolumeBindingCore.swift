import CapstanAPI
import CapstanAPIMachinery

/// The pure part of the persistent-volume binder: which volume a claim binds to, and the
/// phase a volume should report.
public enum VolumeBindingCore {
    /// The smallest volume that satisfies the claim and is free (or already promised to it),
    /// or the one the claim names in `spec.volumeName`.
    public static func match(_ claim: CoreV1.PersistentVolumeClaim, among volumes: [CoreV1.PersistentVolume]) -> CoreV1.PersistentVolume? {
        if let named = claim.spec?.volumeName, !named.isEmpty {
            guard let volume = volumes.first(where: { $0.objectMeta.name == named }),
                  isFree(volume, for: claim), satisfies(volume, claim, checkClass: false) else { return nil }
            return volume
        }
        return volumes.filter { isFree($0, for: claim) && satisfies($0, claim, checkClass: true) }
            .min { capacity($0) < capacity($1) }
    }

    /// No claim holds the volume, or the claim it names is this one (a bind half done).
    public static func isFree(_ volume: CoreV1.PersistentVolume, for claim: CoreV1.PersistentVolumeClaim) -> Bool {
        if volume.objectMeta.deletionTimestamp != nil { return false }
        guard let ref = volume.spec?.claimRef, let name = ref.name, !name.isEmpty else {
            return volume.status?.phase != "Released" && volume.status?.phase != "Failed"
        }
        return name == claim.objectMeta.name && ref.namespace == claim.objectMeta.namespace
            && (ref.uid == nil || ref.uid == claim.objectMeta.uid)
    }

    /// Class, access modes, volume mode, size and selector, as Kubernetes matches them.
    public static func satisfies(_ volume: CoreV1.PersistentVolume, _ claim: CoreV1.PersistentVolumeClaim, checkClass: Bool) -> Bool {
        let spec = claim.spec
        if checkClass, (volume.spec?.storageClassName ?? "") != (spec?.storageClassName ?? "") { return false }
        if (volume.spec?.volumeMode ?? "Filesystem") != (spec?.volumeMode ?? "Filesystem") { return false }
        let offered = Set(volume.spec?.accessModes ?? [])
        if !Set(spec?.accessModes ?? []).isSubset(of: offered) { return false }
        if let wanted = spec?.resources?.requests?["storage"], capacity(volume) < wanted { return false }
        if let selector = spec?.selector {
            guard let parsed = try? LabelSelector(selector), parsed.matches(volume.objectMeta.labels ?? [:]) else { return false }
        }
        return true
    }

    static func capacity(_ volume: CoreV1.PersistentVolume) -> Quantity {
        volume.spec?.capacity?["storage"] ?? .zero
    }

    /// The phase a volume should report: Available without a claim, Bound while its claim
    /// exists (with the uid it names), Released once that claim is gone.
    public static func phase(of volume: CoreV1.PersistentVolume, claimUID: (_ namespace: String, _ name: String) -> String?) -> String {
        guard let ref = volume.spec?.claimRef, let name = ref.name, !name.isEmpty else { return "Available" }
        guard let uid = claimUID(ref.namespace ?? "", name) else {
            // A reference made by a user before its claim exists keeps waiting for it.
            return ref.uid == nil ? "Available" : "Released"
        }
        return ref.uid == nil || ref.uid == uid ? "Bound" : "Released"
    }
}
