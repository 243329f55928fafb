import CapstanContainerRuntime
@testable import CapstanRuntimeOCI
import Foundation
import Testing

/// Pod namespaces made in-process (a memory-sharing child, rtnetlink), checked from outside with
/// `nsenter` and `ip`; every failure leaves nothing mounted or created.
@Suite("Pod namespaces", .enabled(if: canRunContainers))
struct PodNamespacesTests {
    private static func scratch() throws -> String {
        let path = "/tmp/capstan-podns-\(UUID().uuidString.prefix(8).lowercased())"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    private static func run(_ arguments: [String]) async throws -> String {
        let output = try await Subprocess.run(arguments)
        #expect(output.status == 0, "\(arguments): \(output.stderrText)")
        return String(decoding: output.stdout, as: UTF8.self)
    }

    private static func mounted(_ path: String) -> Bool {
        (ProcFile.read("/proc/self/mountinfo") ?? "").split(separator: "\n").contains { $0.split(separator: " ")[4] == path }
    }

    @Test func namespacesAreBoundWithTheHostNameAndLoopbackUpThenRemoved() async throws {
        let directory = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (net, ipc, uts) = (directory + "/net", directory + "/ipc", directory + "/uts")
        try PodNamespaces.create(network: net, ipc: ipc, uts: uts, hostname: "web-0")
        defer { [net, ipc, uts].forEach(PodNamespaces.remove) }
        for path in [net, ipc, uts] { #expect(PodNamespaces.exists(path), "\(path)") }
        #expect(try await Self.run(["nsenter", "--uts=\(uts)", "hostname"]) == "web-0\n")
        let links = try await Self.run(["nsenter", "--net=\(net)", "ip", "-o", "link", "show"])
        #expect(links.split(separator: "\n").count == 1 && links.contains("lo:") && links.contains("UP"), "\(links)")
        // Distinct from the host's.
        let hostIPC = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/ipc")
        #expect(try await Self.run(["nsenter", "--ipc=\(ipc)", "readlink", "/proc/self/ns/ipc"]) != hostIPC + "\n")

        for path in [net, ipc, uts] { PodNamespaces.remove(path) }
        for path in [net, ipc, uts] {
            #expect(!FileManager.default.fileExists(atPath: path))
            #expect(!Self.mounted(path))
        }
        PodNamespaces.remove(net) // missing: fine
    }

    @Test func anEmptyHostNameIsLocalhost() async throws {
        let directory = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try PodNamespaces.create(uts: directory + "/uts")
        defer { PodNamespaces.remove(directory + "/uts") }
        #expect(try await Self.run(["nsenter", "--uts=\(directory)/uts", "hostname"]) == "localhost\n")
    }

    @Test func failuresNameTheStepAndLeaveNothingBehind() async throws {
        let directory = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // An existing file is not bound over.
        FileManager.default.createFile(atPath: directory + "/ipc", contents: Data("keep".utf8))
        #expect {
            try PodNamespaces.create(ipc: directory + "/ipc", uts: directory + "/uts")
        } throws: { "\($0)".contains("exists") }
        #expect(FileManager.default.contents(atPath: directory + "/ipc") == Data("keep".utf8))
        #expect(!FileManager.default.fileExists(atPath: directory + "/uts"))
        // A missing directory.
        #expect {
            try PodNamespaces.create(network: directory + "/missing/net")
        } throws: { "\($0)".contains("creating a namespace file") }

        // A bridge that does not exist: the veth pair is made, then attaching it fails; the
        // namespace goes, and the pair with it.
        let veth = "vethcpt\(UInt32.random(in: 0 ... 0xFFFFF))"
        let interface = PodNamespaces.Interface(hostName: veth, bridgeIndex: 0x7FFF_FFF0, mtu: 1500,
                                                address: 0x0A63_0002, prefixLength: 24, gateway: 0x0A63_0001)
        #expect {
            try PodNamespaces.create(network: directory + "/net", interface: interface)
        } throws: { "\($0)".contains("attaching the host's veth to the bridge") }
        #expect(!FileManager.default.fileExists(atPath: directory + "/net"))
        #expect(!Self.mounted(directory + "/net"))
        // The kernel destroys a namespace, and the veth pair in it, after its last reference goes.
        let deadline = ContinuousClock.now + .seconds(5)
        while FileManager.default.fileExists(atPath: "/sys/class/net/\(veth)"), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(!FileManager.default.fileExists(atPath: "/sys/class/net/\(veth)"))
    }
}
