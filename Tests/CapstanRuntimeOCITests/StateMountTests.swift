import CapstanContainerRuntime
@testable import CapstanRuntimeOCI
import Foundation
import Testing

/// The runtime state directory on its own tmpfs, and containers' writable layers kept apart from it.
@Suite("Runtime state on a tmpfs", .enabled(if: canRunContainers))
struct StateMountTests {
    private static func mountedFilesystem(_ path: String) -> String? {
        let mounts = ProcFile.read("/proc/self/mountinfo") ?? ""
        for line in mounts.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count > 8, fields[4] == path, let dash = fields.firstIndex(of: "-") else { continue }
            return String(fields[dash + 1])
        }
        return nil
    }

    @Test func preparedOnceKeptWhileRecordsRemainThenReleased() throws {
        let scratch = "/tmp/capstan-statemount-\(UUID().uuidString.prefix(8).lowercased())"
        let state = scratch + "/state"
        defer {
            HostOps.unmount(state)
            try? FileManager.default.removeItem(atPath: scratch)
        }
        try StateMount.prepare(state)
        #expect(Self.mountedFilesystem(state) == "tmpfs")
        // A second agent on the same directory finds the first one's tmpfs and its files.
        try FileManager.default.createDirectory(atPath: state + "/containers/c1", withIntermediateDirectories: true)
        try StateMount.prepare(state)
        let mounts = try #require(ProcFile.read("/proc/self/mountinfo")).split(separator: "\n")
            .filter { $0.split(separator: " ")[4] == state }
        #expect(mounts.count == 1)
        #expect(FileManager.default.fileExists(atPath: state + "/containers/c1"))
        // A recorded container keeps the state; once none is left it goes.
        #expect(!StateMount.release(state))
        #expect(Self.mountedFilesystem(state) == "tmpfs")
        try FileManager.default.removeItem(atPath: state + "/containers/c1")
        #expect(StateMount.release(state))
        #expect(Self.mountedFilesystem(state) == nil)
        #expect(!FileManager.default.fileExists(atPath: state))
    }

    @Test func writableLayersLiveApartAndGoWithTheirContainers() async throws {
        try await RuntimeFixture.withRuntime { runtime, scratch in
            let sandbox = try await runtime.runPodSandbox(PodSandboxConfig(
                metadata: PodSandboxMetadata(name: "layers", namespace: "default", uid: "u-layers")))
            let id = try await runtime.createContainer(in: sandbox, ContainerConfig(
                name: "writer", image: RuntimeFixture.image, command: ["/bin/sh", "-c", "echo hi > /written; sleep 30"]))
            try await runtime.startContainer(id)
            #expect(Self.mountedFilesystem(scratch + "/state") == "tmpfs")
            #expect(FileManager.default.fileExists(atPath: scratch + "/state/containers/\(id)/config.json"))
            // What the container writes lands in its layer on disk, not in the state tmpfs.
            let written = scratch + "/layers/\(id)/upper/written"
            var found = false
            for _ in 0..<50 where !found {
                found = FileManager.default.fileExists(atPath: written)
                if !found { try await Task.sleep(for: .milliseconds(20)) }
            }
            #expect(found)
            // A layer whose container has no record (its state went with a reboot) is removed by the next instance.
            try FileManager.default.createDirectory(atPath: scratch + "/layers/orphan/upper", withIntermediateDirectories: true)
            let next = try OCIRuntime(configuration: runtime.configuration, images: runtime.images)
            #expect(!FileManager.default.fileExists(atPath: scratch + "/layers/orphan"))
            #expect(FileManager.default.fileExists(atPath: scratch + "/layers/\(id)"))
            try await next.removePodSandbox(sandbox)
            #expect(!FileManager.default.fileExists(atPath: scratch + "/layers/\(id)"))
            #expect(!FileManager.default.fileExists(atPath: scratch + "/state/containers/\(id)"))
        }
    }
}
