import CapstanAPI
import CapstanControllers
import CapstanTesting
import Testing

private func volume(_ name: String, _ size: String, modes: [String] = ["ReadWriteOnce"], className: String? = nil,
                    labels: [String: String]? = nil, claim: CoreV1.ObjectReference? = nil) throws -> CoreV1.PersistentVolume {
    CoreV1.PersistentVolume(metadata: MetaV1.ObjectMeta(labels: labels, name: name),
                            spec: CoreV1.PersistentVolumeSpec(accessModes: modes, capacity: ["storage": try Quantity(parsing: size)], claimRef: claim,
                                                              hostPath: CoreV1.HostPathVolumeSource(path: "/srv/" + name),
                                                              storageClassName: className))
}

private func claim(_ name: String, _ size: String, modes: [String] = ["ReadWriteOnce"], className: String? = nil,
                   selector: MetaV1.LabelSelector? = nil, volumeName: String? = nil, uid: String = "uid-1") throws -> CoreV1.PersistentVolumeClaim {
    CoreV1.PersistentVolumeClaim(metadata: MetaV1.ObjectMeta(name: name, namespace: "default", uid: uid),
                                 spec: CoreV1.PersistentVolumeClaimSpec(accessModes: modes,
                                                                        resources: CoreV1.VolumeResourceRequirements(requests: ["storage": try Quantity(parsing: size)]),
                                                                        selector: selector, storageClassName: className, volumeName: volumeName))
}

@Suite struct VolumeBindingCoreTests {
    @Test func theSmallestVolumeThatFitsIsChosen() throws {
        let volumes = [try volume("big", "10Gi"), try volume("small", "1Gi"), try volume("tiny", "100Mi"), try volume("rwx", "2Gi", modes: ["ReadWriteMany"])]
        #expect(VolumeBindingCore.match(try claim("c", "500Mi"), among: volumes)?.objectMeta.name == "small")
        #expect(VolumeBindingCore.match(try claim("c", "5Gi"), among: volumes)?.objectMeta.name == "big")
        #expect(VolumeBindingCore.match(try claim("c", "1Gi", modes: ["ReadWriteMany"]), among: volumes)?.objectMeta.name == "rwx")
        #expect(VolumeBindingCore.match(try claim("c", "20Gi"), among: volumes) == nil)
    }

    @Test func classSelectorAndClaimedVolumesAreRespected() throws {
        let taken = CoreV1.ObjectReference(name: "other", namespace: "default", uid: "uid-9")
        let volumes = [try volume("fast", "1Gi", className: "fast"), try volume("plain", "1Gi", labels: ["tier": "gold"]),
                       try volume("held", "1Gi", claim: taken)]
        #expect(VolumeBindingCore.match(try claim("c", "1Gi", className: "fast"), among: volumes)?.objectMeta.name == "fast")
        #expect(VolumeBindingCore.match(try claim("c", "1Gi", selector: MetaV1.LabelSelector(matchLabels: ["tier": "gold"])), among: volumes)?.objectMeta.name == "plain")
        #expect(VolumeBindingCore.match(try claim("c", "1Gi", selector: MetaV1.LabelSelector(matchLabels: ["tier": "silver"])), among: volumes) == nil)
        // A named volume held by another claim is not taken; one promised to this claim is.
        #expect(VolumeBindingCore.match(try claim("c", "1Gi", volumeName: "held"), among: volumes) == nil)
        #expect(VolumeBindingCore.match(try claim("other", "1Gi", volumeName: "held", uid: "uid-9"), among: volumes)?.objectMeta.name == "held")
    }

    @Test func volumePhases() throws {
        let ref = CoreV1.ObjectReference(name: "c", namespace: "default", uid: "uid-1")
        #expect(VolumeBindingCore.phase(of: try volume("v", "1Gi")) { _, _ in nil } == "Available")
        #expect(VolumeBindingCore.phase(of: try volume("v", "1Gi", claim: ref)) { _, _ in "uid-1" } == "Bound")
        #expect(VolumeBindingCore.phase(of: try volume("v", "1Gi", claim: ref)) { _, _ in nil } == "Released")
        #expect(VolumeBindingCore.phase(of: try volume("v", "1Gi", claim: ref)) { _, _ in "uid-2" } == "Released")
    }
}

@Suite struct PersistentVolumeBinderTests {
    @Test func pendingClaimBindsToAMatchingVolumeAndTheVolumeIsReleasedWithIt() async throws {
        try await withWorkloadControllers([PersistentVolumeBinderController()]) { client, _ in
            _ = try await client.create(try volume("pv-small", "1Gi"))
            _ = try await client.create(try volume("pv-big", "5Gi"))
            _ = try await client.create(try claim("data", "512Mi"))
            var bound: CoreV1.PersistentVolumeClaim?
            #expect(await eventually {
                bound = try? await client.get(CoreV1.PersistentVolumeClaim.self, name: "data", namespace: "default")
                return bound?.status?.phase == "Bound"
            })
            #expect(bound?.spec?.volumeName == "pv-small")
            #expect(bound?.status?.capacity?["storage"] == (try Quantity(parsing: "1Gi")))
            #expect(bound?.objectMeta.annotations?["pv.kubernetes.io/bind-completed"] == "yes")
            var pv: CoreV1.PersistentVolume?
            #expect(await eventually {
                pv = try? await client.get(CoreV1.PersistentVolume.self, name: "pv-small", namespace: nil)
                return pv?.status?.phase == "Bound"
            })
            #expect(pv?.spec?.claimRef?.name == "data" && pv?.spec?.claimRef?.uid == bound?.objectMeta.uid)
            #expect(await eventually { (try? await client.get(CoreV1.PersistentVolume.self, name: "pv-big", namespace: nil))?.status?.phase == "Available" })

            // A claim nothing satisfies stays Pending with an event saying why.
            _ = try await client.create(try claim("huge", "50Gi", uid: ""))
            #expect(await eventually {
                let events = (try? await client.list(CoreV1.Event.self, namespace: "default").items) ?? []
                return events.contains { $0.involvedObject.name == "huge" && $0.reason == "FailedBinding" }
            })
            #expect((try await client.get(CoreV1.PersistentVolumeClaim.self, name: "huge", namespace: "default")).status?.phase != "Bound")

            // Deleting the claim releases its volume (reclaim policy Retain keeps it).
            try await client.delete(CoreV1.PersistentVolumeClaim.self, name: "data", namespace: "default")
            #expect(await eventually { (try? await client.get(CoreV1.PersistentVolume.self, name: "pv-small", namespace: nil))?.status?.phase == "Released" })
        }
    }
}
