import CapstanStorageEtcd
import Foundation
import Testing

/// `capstan server --datastore etcd://...`: the same API over a real etcd started on loopback.
@Suite("API server over etcd", .tags(.integration))
struct EtcdDatastoreTests {
    static let cms = "/api/v1/namespaces/default/configmaps"

    @Test func objectsWatchesAndRestartOverEtcd() async throws {
        guard EtcdDatastoreTests.etcdInstalled else {
            print("skipping: no etcd in PATH (scripts/test installs etcd-server)")
            return
        }
        let etcd = try await EtcdServerProcess(memberCount: 1,
                                               parentDirectory: FileManager.default.isWritableFile(atPath: "/dev/shm") ? "/dev/shm" : nil)
        let first = try await TestServer.start(store: .etcd(etcd.endpoints))
        let dir = first.directory
        do {
            let created = try await first.http.create(Self.cms, Fixtures.configMap("in-etcd", data: ["x": "y"]))
            let rv = try #require(created.at("metadata.resourceVersion")?.string)
            // A watch from that revision sees the next change.
            let updated = try await first.http.patch(Self.cms + "/in-etcd", ["data": ["x": "z"]])
            #expect(updated.json.at("data.x")?.string == "z", "\(updated)")
            let stream = first.http.stream(Self.cms + "?watch=1&resourceVersion=\(rv)")
            let events = await stream.waitForEvents(1)
            stream.cancel()
            #expect(events.first?.type == "MODIFIED", "\(events)")
            let list = try await first.http.object(Self.cms)
            #expect(list.at("items")?.array?.contains { $0.at("metadata.name")?.string == "in-etcd" } == true)
        } catch {
            await first.stop()
            await etcd.remove()
            throw error
        }
        await first.stop(keepDirectory: true)
        // A second server process over the same etcd sees everything the first wrote.
        let second: TestServer
        do {
            second = try await TestServer.start(store: .etcd(etcd.endpoints), directory: dir)
        } catch {
            try? FileManager.default.removeItem(atPath: dir)
            await etcd.remove()
            throw error
        }
        do {
            let cm = try await second.http.object(Self.cms + "/in-etcd")
            #expect(cm.at("data.x")?.string == "z")
            let svc = try await second.http.object("/api/v1/namespaces/default/services/kubernetes")
            #expect(svc.at("spec.clusterIP")?.string == "10.43.0.1")
        } catch {
            await second.stop()
            await etcd.remove()
            throw error
        }
        await second.stop()
        await etcd.remove()
    }

    static var etcdInstalled: Bool {
        (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").contains {
            FileManager.default.isExecutableFile(atPath: "\($0)/etcd")
        }
    }
}
