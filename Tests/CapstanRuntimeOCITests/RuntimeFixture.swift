import CapstanContainerRuntime
import CapstanImageStore
@testable import CapstanRuntimeOCI
import Foundation
import Synchronization

/// Real runc (or crun) tests need root, the runtime binary and busybox-static.
let canRunContainers = getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/bin/busybox")
    && ["/usr/sbin/runc", "/usr/bin/runc"].contains { FileManager.default.isExecutableFile(atPath: $0) }

/// crun is installed and can make containers here: crun refuses the hybrid cgroup layout when
/// the unified hierarchy has controllers ("cgroups in hybrid mode not supported").
let canRunCrun: Bool = {
    guard canRunContainers, FileManager.default.isExecutableFile(atPath: "/usr/bin/crun") else { return false }
    let unified = (try? String(contentsOfFile: "/sys/fs/cgroup/unified/cgroup.controllers", encoding: .utf8)) ?? ""
    return unified.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
}()

enum RuntimeFixture {
    private static let images = Mutex<String?>(nil)

    /// The busybox OCI layout tarball from scripts/build-test-image.sh, built once per process.
    static func imageArchive() throws -> String {
        try images.withLock { built in
            if let built { return built + "/busybox-oci.tar" }
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("capstan-rt-images-\(getpid())").path
            let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("scripts/build-test-image.sh").path
            let output = try Subprocess.runBlocking([script, directory])
            guard output == 0 else { throw RuntimeError(.internalError, "build-test-image.sh failed (\(output))") }
            built = directory
            removeAtExit(directory)
            return directory + "/busybox-oci.tar"
        }
    }

    static let image = "localhost/import:latest"

    /// Mount points under `scratch` besides the fixture's own state tmpfs: what a test's
    /// containers and sandboxes left mounted.
    static func leftoverMounts(_ scratch: String) -> [String] {
        (ProcFile.read("/proc/self/mountinfo") ?? "").split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ")
            guard fields.count > 4, fields[4].hasPrefix(scratch), fields[4] != scratch + "/state" else { return nil }
            return String(fields[4])
        }
    }

    /// A runtime with its own state root (on a tmpfs, as the agent's), writable-layer root, image
    /// store and cgroup parent; everything is removed afterwards.
    static func withRuntime(binary: String = "runc", _ body: (OCIRuntime, String) async throws -> Void) async throws {
        let scratch = "/tmp/capstan-rt-\(UUID().uuidString.prefix(8).lowercased())"
        let cgroupParent = "/capstan-test-\(scratch.suffix(8))"
        let store = try ImageStore(root: scratch + "/images")
        try await store.importArchive(try imageArchive())
        try StateMount.prepare(scratch + "/state")
        let runtime = try OCIRuntime(
            configuration: OCIRuntime.Configuration(runtimeBinary: binary, stateRoot: scratch + "/state", cgroupParent: cgroupParent,
                                                    writableLayerRoot: scratch + "/layers"),
            images: store
        )
        var failure: (any Error)?
        do {
            try await body(runtime, scratch)
        } catch {
            failure = error
        }
        for sandbox in (try? await runtime.listPodSandboxes(PodSandboxFilter())) ?? [] {
            try? await runtime.removePodSandbox(sandbox.id)
        }
        // Whatever a failed test left mounted (namespace files, rootfs overlays) goes too.
        let mounts = ProcFile.read("/proc/self/mountinfo") ?? ""
        for line in mounts.split(separator: "\n") {
            let fields = line.split(separator: " ")
            if fields.count > 4, fields[4].hasPrefix(scratch) { HostOps.unmount(String(fields[4])) }
        }
        runtime.removeIdleCgroupParent()
        HostOps.removeCgroup(cgroupParent)
        try? FileManager.default.removeItem(atPath: scratch)
        if let failure { throw failure }
    }
}

extension Subprocess {
    /// For test setup only: runs a command and returns its exit code.
    static func runBlocking(_ arguments: [String]) throws -> Int32 {
        let pid = try spawn(arguments)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        return exitCode(fromWaitStatus: status)
    }
}

/// Test images are shared by the tests of one process and removed when it exits.
nonisolated(unsafe) private var directoriesToRemove: [String] = []

private func removeAtExit(_ directory: String) {
    directoriesToRemove.append(directory)
    atexit {
        for directory in directoriesToRemove { try? FileManager.default.removeItem(atPath: directory) }
    }
}
