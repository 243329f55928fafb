import CapstanAPI
import CapstanAPIMachinery
import CapstanClient
import CapstanControllerRuntime
import Foundation

/// The persistent-volume binder (kube-controller-manager's `persistentvolume-binder`, for
/// statically provisioned volumes such as hostPath and local): binds each pending claim to the
/// smallest matching volume (the volume's `claimRef` first, then the claim's `volumeName`, then
/// both statuses), and reports volume phases (Available, Bound, Released).
public struct PersistentVolumeBinderController: Controller {
    public let name = "persistentvolume-binder"

    public init() {}

    private enum Key: Hashable, Sendable { case claim(ObjectKey), volume(String) }

    public func run(context: ControllerContext) async throws {
        let claims = context.informers.informer(CoreV1.PersistentVolumeClaim.self)
        let volumes = context.informers.informer(CoreV1.PersistentVolume.self)
        let queue = WorkQueue<Key>(clock: context.clock)
        claims.addEventHandler { event in
            queue.add(.claim(event.object.key))
            if let volume = event.object.spec?.volumeName, !volume.isEmpty { queue.add(.volume(volume)) }
        }
        volumes.addEventHandler { event in
            queue.add(.volume(event.object.objectMeta.name ?? ""))
            // A volume that appears or is freed may satisfy a waiting claim; a claimed one cannot.
            guard case .deleted = event else {
                if event.object.spec?.claimRef?.name == nil {
                    for claim in claims.store.list() where claim.status?.phase != "Bound" { queue.add(.claim(claim.key)) }
                }
                return
            }
        }
        try await claims.waitForSync()
        try await volumes.waitForSync()
        let client = context.client
        await queue.run(workers: 1) { key in
            switch key {
            case .claim(let key):
                guard let claim = claims.store.get(key), claim.objectMeta.deletionTimestamp == nil,
                      claim.status?.phase != "Bound" || claim.spec?.volumeName?.isEmpty != false else { return }
                guard let volume = VolumeBindingCore.match(claim, among: volumes.store.list()) else {
                    context.recorder.record(claim, reason: "FailedBinding",
                                            message: "no persistent volumes available for this claim and no storage class is set")
                    return
                }
                try await bind(claim, to: volume, client: client, recorder: context.recorder)
            case .volume(let name):
                guard !name.isEmpty, let volume = volumes.store.get(ObjectKey(namespace: nil, name: name)) else { return }
                let phase = VolumeBindingCore.phase(of: volume) { namespace, name in
                    claims.store.get(ObjectKey(namespace: namespace, name: name))?.objectMeta.uid
                }
                guard volume.status?.phase != phase else { return }
                var updated = volume
                updated.status = updated.status ?? CoreV1.PersistentVolumeStatus()
                updated.status?.phase = phase
                do { _ = try await client.updateStatus(updated) } catch where APIErrors.isNotFound(error) {}
            }
        }
    }

    /// Volume first (so no other claim takes it; the write is conditional on the cached
    /// version), then the claim and both statuses. A conflict retries from fresh caches.
    private func bind(_ claim: CoreV1.PersistentVolumeClaim, to volume: CoreV1.PersistentVolume, client: APIClient,
                      recorder: EventRecorder) async throws {
        var claimed = volume
        claimed.spec?.claimRef = CoreV1.ObjectReference(apiVersion: "v1", kind: "PersistentVolumeClaim", name: claim.objectMeta.name,
                                                        namespace: claim.objectMeta.namespace,
                                                        resourceVersion: claim.objectMeta.resourceVersion, uid: claim.objectMeta.uid)
        let volumeAnnotations = (volume.metadata?.annotations ?? [:]).merging(["pv.kubernetes.io/bound-by-controller": "yes"]) { _, new in new }
        claimed.metadata?.annotations = volumeAnnotations
        var written = try await client.update(claimed)
        written.status = written.status ?? CoreV1.PersistentVolumeStatus()
        written.status?.phase = "Bound"
        let boundVolume = try await client.updateStatus(written)

        var updated = claim
        updated.spec?.volumeName = boundVolume.objectMeta.name
        let claimAnnotations = (claim.metadata?.annotations ?? [:]).merging(
            ["pv.kubernetes.io/bind-completed": "yes", "pv.kubernetes.io/bound-by-controller": "yes"]) { _, new in new }
        updated.metadata?.annotations = claimAnnotations
        var writtenClaim = try await client.update(updated)
        var status = writtenClaim.status ?? CoreV1.PersistentVolumeClaimStatus()
        status.phase = "Bound"
        status.accessModes = boundVolume.spec?.accessModes
        status.capacity = boundVolume.spec?.capacity
        writtenClaim.status = status
        _ = try await client.updateStatus(writtenClaim)
    }
}
