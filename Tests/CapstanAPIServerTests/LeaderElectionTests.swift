import CapstanStorageEtcd
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Two `capstan server` processes over one etcd: the scheduler and the controller manager each
/// run in one of them (Leases kube-scheduler and kube-controller-manager), and the other
/// takes over when that server stops.
@Suite("Two servers over one etcd", .tags(.integration))
struct LeaderElectionTests {
    static let binary = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path + "/.build/debug/capstan"

    @Test func oneLeaderAtATimeThenTakeover() async throws {
        guard EtcdDatastoreTests.etcdInstalled, FileManager.default.isExecutableFile(atPath: Self.binary), Kubectl.available() else {
            print("skipping: needs etcd, kubectl and the capstan binary (swift build)")
            return
        }
        let etcd = try await EtcdServerProcess(memberCount: 1,
                                               parentDirectory: FileManager.default.isWritableFile(atPath: "/dev/shm") ? "/dev/shm" : nil)
        let root = try TestServer.makeDirectory()
        var servers: [ChildProcess] = []
        do {
            for i in 0..<2 {
                let dataDir = root + "/server-\(i)"
                try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
                servers.append(try ChildProcess(Self.binary, ["server", "--data-dir", dataDir, "--port", String(try Self.freePort()),
                                                              "--datastore", etcd.endpoints],
                                                directory: dataDir))
            }
            func identity(_ server: ChildProcess, leading lease: String) -> String? {
                (server.stdout + server.stderr).split(separator: "\n").last { $0.hasSuffix(" leads kube-system/\(lease)") }
                    .flatMap { $0.split(separator: " ").dropLast(2).last.map(String.init) }
            }
            func leaders(_ lease: String, among candidates: [ChildProcess]) -> [ChildProcess] {
                candidates.filter { identity($0, leading: lease) != nil }
            }
            // One server leads both; the other waits.
            #expect(await eventually(timeout: .seconds(30)) {
                !leaders("kube-scheduler", among: servers).isEmpty && !leaders("kube-controller-manager", among: servers).isEmpty
            }, "\(servers.map { $0.stdout + $0.stderr })")
            try await Task.sleep(for: .seconds(1))
            let schedulers = leaders("kube-scheduler", among: servers)
            let managers = leaders("kube-controller-manager", among: servers)
            #expect(schedulers.count == 1 && managers.count == 1, "\(servers.map { $0.stdout + $0.stderr })")
            let leader = try #require(schedulers.first)
            let follower = try #require(servers.first { $0 !== leader })
            // The follower may still be starting (under load it writes its kubeconfig and serves later).
            let followerConfig = root + "/server-\(servers.firstIndex { $0 === follower }!)/kubeconfig"
            let kubectl = Kubectl(kubeconfig: followerConfig, workDir: root)
            #expect(await eventually(timeout: .seconds(30)) {
                guard FileManager.default.fileExists(atPath: followerConfig) else { return false }
                return (try? await kubectl.run("get", "--raw", "/readyz"))?.exitCode == 0
            }, "\(follower.stdout + follower.stderr)")
            let holder = try await kubectl.ok("get", "lease", "-n", "kube-system", "kube-scheduler", "-o", "jsonpath={.spec.holderIdentity}")
            #expect(holder == identity(leader, leading: "kube-scheduler"))

            // The leader stops (and releases its Leases): the other takes both over.
            leader.kill()
            _ = await leader.wait(timeout: .seconds(30))
            #expect(await eventually(timeout: .seconds(30)) {
                identity(follower, leading: "kube-scheduler") != nil && identity(follower, leading: "kube-controller-manager") != nil
            }, "\(follower.stdout + follower.stderr)")
            let newHolder = try await kubectl.ok("get", "lease", "-n", "kube-system", "kube-scheduler", "-o", "jsonpath={.spec.holderIdentity}")
            #expect(newHolder == identity(follower, leading: "kube-scheduler"))
        } catch {
            for server in servers { server.kill(); _ = await server.wait(timeout: .seconds(30)) }
            await etcd.remove()
            try? FileManager.default.removeItem(atPath: root)
            throw error
        }
        for server in servers { server.kill(); _ = await server.wait(timeout: .seconds(30)) }
        await etcd.remove()
        try? FileManager.default.removeItem(atPath: root)
    }

    /// A port nothing listens on now (bound to 0, read, closed).
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr = in_addr(s_addr: UInt32(0x7F00_0001).bigEndian)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw TestServerError(description: "no free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
