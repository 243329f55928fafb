import CapstanContainerRuntime
import CapstanImageStore
@testable import CapstanRuntimeOCI
import Foundation
import Testing

@Suite("OCIRuntime with runc", .enabled(if: canRunContainers, "needs root, runc and busybox-static"))
struct OCIRuntimeTests {
    @Test("conformance", arguments: ContainerRuntimeConformance.Case.allCases)
    func conformance(_ testCase: ContainerRuntimeConformance.Case) async throws {
        try await RuntimeFixture.withRuntime { runtime, scratch in
            let fixture = ContainerRuntimeConformance.Fixture(
                runtime: runtime, image: RuntimeFixture.image, commands: .busybox, logDirectory: scratch + "/logs"
            )
            try await ContainerRuntimeConformance.run(testCase, fixture)
        }
    }

    @Test("conformance with crun", .enabled(if: canRunCrun, "needs crun and a cgroup layout crun accepts"),
          arguments: ContainerRuntimeConformance.Case.allCases)
    func conformanceWithCrun(_ testCase: ContainerRuntimeConformance.Case) async throws {
        try await RuntimeFixture.withRuntime(binary: "crun") { runtime, scratch in
            let fixture = ContainerRuntimeConformance.Fixture(
                runtime: runtime, image: RuntimeFixture.image, commands: .busybox, logDirectory: scratch + "/logs"
            )
            try await ContainerRuntimeConformance.run(testCase, fixture)
        }
    }

    @Test("containers of a pod share its network, IPC and UTS namespaces; everything is cleaned up")
    func sharedNamespacesAndCleanup() async throws {
        try await RuntimeFixture.withRuntime { runtime, scratch in
            let sandbox = try await runtime.runPodSandbox(PodSandboxConfig(
                metadata: PodSandboxMetadata(name: "web", namespace: "default", uid: "u1"), hostname: "web-0"
            ))
            let netns = try #require(try await runtime.podSandboxStatus(sandbox).networkNamespacePath)
            var ids: [String] = []
            let clock = ContinuousClock()
            var latencies: [Duration] = []
            for name in ["a", "b"] {
                let started = clock.now
                let id = try await runtime.createContainer(in: sandbox, ContainerConfig(name: name, image: RuntimeFixture.image, command: ["sleep", "60"]))
                try await runtime.startContainer(id)
                latencies.append(clock.now - started)
                ids.append(id)
            }
            print("create+start latency: \(latencies)")
            var inodes: [String] = []
            for id in ids {
                let result = try await runtime.execSync(id, command: ["sh", "-c", "readlink /proc/self/ns/net; readlink /proc/self/ns/ipc; hostname; ip addr show lo | grep -c UP"], timeout: .seconds(5))
                #expect(result.exitCode == 0, "\(result.stderrString)")
                inodes.append(result.stdoutString)
            }
            #expect(inodes[0] == inodes[1])
            #expect(inodes[0].contains("web-0") && inodes[0].hasSuffix("1\n"))
            var info = stat()
            #expect(stat(netns, &info) == 0)
            #expect(inodes[0].contains("net:[\(info.st_ino)]"))

            let pid = try #require(try await runtime.containerStatus(ids[0]).pid)
            let cgroup = try String(contentsOfFile: "/proc/\(pid)/cgroup", encoding: .utf8)
            #expect(cgroup.contains("/capstan-test-"))

            try await runtime.stopPodSandbox(sandbox, timeout: .milliseconds(200))
            try await runtime.removePodSandbox(sandbox)
            #expect(RuntimeFixture.leftoverMounts(scratch).isEmpty, "leftover mounts: \(RuntimeFixture.leftoverMounts(scratch))")
            #expect(try FileManager.default.contentsOfDirectory(atPath: scratch + "/state/containers").isEmpty)
            #expect(try FileManager.default.contentsOfDirectory(atPath: scratch + "/state/sandboxes").isEmpty)
            let list = try await Subprocess.run(["runc", "--root", scratch + "/state/runtime", "list", "-q"])
            #expect(list.stdout.isEmpty)
            for id in ids {
                #expect(!FileManager.default.fileExists(atPath: "/sys/fs/cgroup/memory/capstan-test-\(scratch.suffix(8))/\(id)"))
            }
        }
    }

    @Test("runc runs from the sealed copy; a shim whose link is gone deletes through the runtime on PATH")
    func sealedRuntimeAndItsFallback() async throws {
        try await RuntimeFixture.withRuntime { runtime, scratch in
            let sealed = try #require(runtime.sealedRuntime)
            #expect(sealed.path == "\(scratch)/state/bin/\(sealed.descriptor)/runc")
            let sandbox = try await runtime.runPodSandbox(PodSandboxConfig(metadata: PodSandboxMetadata(name: "sealed", namespace: "default", uid: "u9")))
            let id = try await runtime.createContainer(in: sandbox, ContainerConfig(name: "app", image: RuntimeFixture.image, command: ["sleep", "60"]))
            try await runtime.startContainer(id)
            // The shim holds the copy under the agent's number for it.
            let bundle = scratch + "/state/containers/" + id
            let shimPID = try #require(Int32(try String(contentsOfFile: bundle + "/shim.pid", encoding: .utf8)
                .trimmingCharacters(in: .whitespacesAndNewlines)))
            let held = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(shimPID)/fd/\(sealed.descriptor)")
            #expect(held.hasPrefix("/memfd:capstan-runtime:runc"), "\(held)")
            // With the links gone, the shim's delete falls back to runc on PATH.
            try FileManager.default.removeItem(atPath: scratch + "/state/bin")
            try await runtime.stopContainer(id, timeout: .seconds(2))
            let status = try await waitExited(runtime, id)
            #expect(status.exitCode == 137 || status.exitCode == 143, "\(status)")
            var listed = true
            for _ in 0 ..< 100 {
                let list = try await Subprocess.run(["runc", "--root", scratch + "/state/runtime", "list", "-q"])
                listed = String(decoding: list.stdout, as: UTF8.self).contains(id)
                if !listed { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(!listed, "the shim did not delete \(id) from runc's state")
            // This process makes its link again for its next call.
            #expect(sealed.executable == sealed.path)
            #expect(FileManager.default.fileExists(atPath: sealed.path))
        }
    }

    @Test("a pod PID namespace is shared by its containers")
    func sharedPID() async throws {
        try await RuntimeFixture.withRuntime { runtime, _ in
            let sandbox = try await runtime.runPodSandbox(PodSandboxConfig(
                metadata: PodSandboxMetadata(name: "pidns", namespace: "default", uid: "u5"), namespaces: NamespaceOptions(pid: .pod)
            ))
            let first = try await runtime.createContainer(in: sandbox, ContainerConfig(name: "first", image: RuntimeFixture.image, command: ["sleep", "60"]))
            try await runtime.startContainer(first)
            let second = try await runtime.createContainer(in: sandbox, ContainerConfig(name: "second", image: RuntimeFixture.image, command: ["sleep", "61"]))
            try await runtime.startContainer(second)
            let seen = try await runtime.execSync(second, command: ["ps", "-o", "args"], timeout: .seconds(5))
            #expect(seen.stdoutString.contains("sleep 60") && seen.stdoutString.contains("sleep 61"), "\(seen.stdoutString)")
        }
    }

    @Test("a memory limit that is exceeded ends as OOMKilled")
    func oomKilled() async throws {
        try await RuntimeFixture.withRuntime { runtime, _ in
            let sandbox = try await runtime.runPodSandbox(PodSandboxConfig(metadata: PodSandboxMetadata(name: "oom", namespace: "default", uid: "u2")))
            let id = try await runtime.createContainer(in: sandbox, ContainerConfig(
                name: "hog", image: RuntimeFixture.image, command: ["dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1"],
                resources: LinuxResources(cpuShares: 512, cpuQuota: 50_000, memoryLimitBytes: 24 << 20, pidsLimit: 64)
            ))
            try await runtime.startContainer(id)
            let status = try await waitExited(runtime, id)
            #expect(status.reason == TerminationReason.oomKilled && status.exitCode == 137, "\(status)")
        }
    }

    @Test("a missing executable fails start with the runtime's message; exec probes time out")
    func startErrorsAndExecTimeout() async throws {
        try await RuntimeFixture.withRuntime { runtime, _ in
            let sandbox = try await runtime.runPodSandbox(PodSandboxConfig(metadata: PodSandboxMetadata(name: "bad", namespace: "default", uid: "u3")))
            let bad = try await runtime.createContainer(in: sandbox, ContainerConfig(name: "bad", image: RuntimeFixture.image, command: ["/no/such/binary"]))
            let failing = ContinuousClock.now
            await #expect(throws: RuntimeError.self) { try await runtime.startContainer(bad) }
            #expect(ContinuousClock.now - failing < .seconds(5))
            let status = try await runtime.containerStatus(bad)
            #expect(status.state == .exited && status.reason == "StartError" && (status.message ?? "").contains("no such file"), "\(status)")

            let app = try await runtime.createContainer(in: sandbox, ContainerConfig(name: "app", image: RuntimeFixture.image, command: ["sleep", "60"]))
            try await runtime.startContainer(app)
            let started = ContinuousClock.now
            let result = try await runtime.execSync(app, command: ["sleep", "30"], timeout: .milliseconds(300))
            #expect(result.timedOut && ContinuousClock.now - started < .seconds(5))
            let orphaned = ContinuousClock.now
            let leftBehind = try await runtime.execSync(app, command: ["sh", "-c", "sleep 30 & echo started"], timeout: .seconds(5))
            #expect(leftBehind.exitCode == 0 && leftBehind.stdoutString == "started\n" && ContinuousClock.now - orphaned < .seconds(5))
            #expect(try await runtime.containerStatus(app).state == .running)
        }
    }

    @Test("bind mounts, read-only root, users and environment reach the process")
    func processSettings() async throws {
        try await RuntimeFixture.withRuntime { runtime, scratch in
            let host = scratch + "/data"
            try FileManager.default.createDirectory(atPath: host, withIntermediateDirectories: true)
            try "from the host\n".write(toFile: host + "/file", atomically: true, encoding: .utf8)
            let sandbox = try await runtime.runPodSandbox(PodSandboxConfig(metadata: PodSandboxMetadata(name: "settings", namespace: "default", uid: "u4")))
            let logPath = scratch + "/logs/settings.log"
            let id = try await runtime.createContainer(in: sandbox, ContainerConfig(
                name: "c", image: RuntimeFixture.image,
                command: ["sh", "-c", "cat /data/file; id -u; id -g; echo $GREETING; pwd; touch /data/x 2>/dev/null || echo ro-data; touch /x 2>/dev/null || echo ro-root"],
                env: [EnvVar("GREETING", "hi there")], workingDir: "/tmp",
                mounts: [Mount(hostPath: host, containerPath: "/data", readOnly: true)],
                runAsUser: 65534, readOnlyRootFilesystem: true, seccomp: .runtimeDefault, logPath: logPath
            ))
            try await runtime.startContainer(id)
            let status = try await waitExited(runtime, id)
            #expect(status.exitCode == 0, "\(status)")
            let lines = try String(contentsOfFile: logPath, encoding: .utf8).split(separator: "\n").compactMap(CRILog.parse).map(\.content)
            #expect(lines == ["from the host", "65534", "65534", "hi there", "/tmp", "ro-data", "ro-root"])
        }
    }

    private func waitExited(_ runtime: OCIRuntime, _ id: String) async throws -> ContainerStatus {
        for _ in 0 ..< 1000 {
            let status = try await runtime.containerStatus(id)
            if status.state == .exited { return status }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw RuntimeError(.timeout, "container \(id) did not exit")
    }
}
