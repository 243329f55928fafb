import CapstanStorage
import Testing

extension StorageConformance {
    static func leases(_ fixture: StorageFixture) async throws {
        let storage = fixture.backend
        let lease = try await storage.grantLease(ttlSeconds: 2)
        #expect(lease > 0)
        let a = try await storage.create("/l/a", value: bytes("a"), lease: lease)
        #expect(a.lease == lease)
        let b = try await storage.create("/l/b", value: bytes("b"), lease: lease)
        let c = try await storage.create("/l/c", value: bytes("c"), lease: lease)
        let detached = try await storage.update("/l/c", value: bytes("c2"), expectedModRevision: c.modRevision, lease: 0)
        #expect(detached.lease == 0)
        let plain = try await storage.create("/l/d", value: bytes("d"))
        await expectError(.leaseNotFound, "write with an unknown lease") {
            try await storage.create("/l/e", value: bytes("e"), lease: lease + 1_000_000)
        }
        let longLease = try await storage.grantLease(ttlSeconds: 3600)
        let kept = try await storage.create("/l/kept", value: bytes("k"), lease: longLease)

        let start = try await storage.currentRevision()
        let stream = try await storage.watch(prefix: "/l/", afterRevision: start)
        try await fixture.advanceClock(.seconds(3))

        let expired = try await events(stream, count: 2, "deletes of the expired lease's keys")
        #expect(expired.allSatisfy { $0.kind == .delete })
        #expect(Set(expired.map(\.key)) == ["/l/a", "/l/b"])
        #expect(Set(expired.compactMap(\.previous)) == [a, b])
        #expect(expired.map(\.revision) == [start + 1, start + 2])
        #expect(try await storage.get("/l/a").kv == nil)
        #expect(try await storage.get("/l/b").kv == nil)
        #expect(try await storage.get("/l/c").kv == detached, "a key moved off the lease stays")
        #expect(try await storage.get("/l/d").kv == plain)
        #expect(try await storage.get("/l/kept").kv == kept, "a longer lease has not expired")
        await expectError(.leaseNotFound, "revoking an expired lease") { try await storage.revokeLease(lease) }
        await expectError(.leaseNotFound, "writing with an expired lease") {
            try await storage.create("/l/late", value: bytes("x"), lease: lease)
        }

        // Revocation deletes at once.
        let revoked = try await storage.grantLease(ttlSeconds: 3600)
        let f = try await storage.create("/l/f", value: bytes("f"), lease: revoked)
        try await storage.revokeLease(revoked)
        let revokeEvents = try await events(stream, count: 2, "create, then delete on revoke")
        #expect(revokeEvents.first == .put(f, previous: nil))
        #expect(revokeEvents.last?.kind == .delete)
        #expect(revokeEvents.last?.key == "/l/f")
        #expect(revokeEvents.last?.previous == f)
        #expect(try await storage.get("/l/f").kv == nil)
        await expectError(.leaseNotFound, "revoking twice") { try await storage.revokeLease(revoked) }
        stream.cancel()
    }
}
