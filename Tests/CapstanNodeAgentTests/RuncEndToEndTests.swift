import CapstanAPI
import CapstanAPIMachinery
import CapstanClient
import CapstanContainerRuntime
import CapstanImageStore
import CapstanRuntimeOCI
import CapstanTesting
import Foundation
import Testing
@testable import CapstanNodeAgent

private let canRunContainers = getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/bin/busybox")
    && ["/usr/sbin/runc", "/usr/bin/runc"].contains { FileManager.default.isExecutableFile(atPath: $0) }
    && FileManager.default.isExecutableFile(atPath: "/usr/bin/jq")

/// One busybox pod on real runc with the bridge network: Running with a pod IP the node reaches,
/// logs through the agent, graceful deletion; everything (containers, netns, bridge, cgroups,
/// directories) is removed afterwards.
@Suite(.serialized, .enabled(if: canRunContainers)) struct RuncEndToEndTests {
    /// An image store under `scratch` holding the busybox test image (scripts/build-test-image.sh).
    static func busyboxStore(_ scratch: String) async throws -> ImageStore {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("scripts/build-test-image.sh").path
        #expect(try await Command.run([script, scratch + "/image"]).status == 0)
        let store = try ImageStore(root: scratch + "/images")
        _ = try await store.importArchive(scratch + "/image/busybox-oci.tar")
        return store
    }

    @Test func busyboxPodRunsEndToEnd() async throws {
        let tag = String(UInt32.random(in: 0..<UInt32.max), radix: 36)
        let scratch = "/tmp/capstan-agent-e2e-\(tag)"
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let store = try await Self.busyboxStore(scratch)
        let cgroupParent = "/capstan-agent-test-\(tag)"
        let runtime = try OCIRuntime(configuration: .init(runtimeBinary: "runc", stateRoot: scratch + "/state", cgroupParent: cgroupParent),
                                     images: store, logger: quietLogger)
        let bridge = "cse\(tag)".prefix(15).description
        let third = Int.random(in: 100..<250)
        try await withClient { client, _ in
            let configuration = NodeAgentConfiguration(
                nodeName: "runc-node", rootDirectory: scratch + "/agent", defaultPodCIDR: "10.198.\(third).0/24",
                network: .bridge(name: bridge, namespacePrefix: "cse-\(tag)-"), syncInterval: .milliseconds(200),
                server: try .selfSigned(nodeName: "runc-node", ipAddresses: ["127.0.0.1"], bindAddress: "127.0.0.1", port: 0, clientCAPEM: nil),
                clock: .system)
            let agent = NodeAgent(client: client, configuration: configuration, runtime: runtime, imageService: runtime, logger: quietLogger)
            let task = Task { try await agent.run() }
            var pod = CoreV1.Pod(
                metadata: MetaV1.ObjectMeta(name: "bb", namespace: "default"),
                spec: CoreV1.PodSpec(containers: [CoreV1.Container(
                    command: ["/bin/sh", "-c", "echo hello from runc; exec httpd -f -p 8080 -h /www"],
                    image: "localhost/import:latest", imagePullPolicy: "Never", name: "web",
                    readinessProbe: CoreV1.Probe(httpGet: CoreV1.HTTPGetAction(path: "/", port: .int(8080)), periodSeconds: 1))],
                    nodeName: "runc-node", terminationGracePeriodSeconds: 2))
            pod = try await client.create(pod)
            let start = ContinuousClock.now
            var seen: CoreV1.Pod?
            let running = await eventually(timeout: .seconds(30), every: .milliseconds(5)) {
                seen = try? await client.get(CoreV1.Pod.self, name: "bb", namespace: "default")
                return seen?.status?.phase == "Running"
            }
            #expect(running)
            print("runc pod Running after \(ContinuousClock.now - start)")
            let ready = await eventually(timeout: .seconds(30)) {
                seen = try? await client.get(CoreV1.Pod.self, name: "bb", namespace: "default")
                return seen?.status?.conditions?.first { $0.type == "Ready" }?.status == "True"
            }
            #expect(ready, "\(String(describing: seen?.status))")
            let elapsed = ContinuousClock.now - start
            print("runc pod Ready after \(elapsed)")
            let podIP = try #require(seen?.status?.podIP)
            #expect(podIP.hasPrefix("10.198.\(third)."))
            #expect(seen?.status?.containerStatuses?.first?.containerID?.hasPrefix("runc://") == true)
            let fetch = try await Command.run(["busybox", "wget", "-q", "-O", "-", "http://\(podIP):8080/"], check: false)
            #expect(fetch.stdout.contains("hello"), "\(fetch.stderr)")
            let port = try #require(agent.serverPort)
            let logs = try await Command.run(["curl", "-sSk", "--max-time", "5", "https://127.0.0.1:\(port)/containerLogs/default/bb/web"], check: false)
            #expect(logs.stdout.hasPrefix("hello from runc\n"))

            try await client.delete(CoreV1.Pod.self, name: "bb", namespace: "default")
            let gone = await eventually(timeout: .seconds(20)) {
                do { _ = try await client.get(CoreV1.Pod.self, name: "bb", namespace: "default"); return false } catch {
                    return (error as? APIError)?.code == 404
                }
            }
            #expect(gone)
            #expect(try await runtime.listContainers(ContainerFilter()).isEmpty)
            #expect(!FileManager.default.fileExists(atPath: "/run/netns/cse-\(tag)-\(pod.metadata?.uid ?? "")"))
            task.cancel()
            _ = await task.result
        }
        for sandbox in (try? await runtime.listPodSandboxes(PodSandboxFilter())) ?? [] {
            try? await runtime.stopPodSandbox(sandbox.id, timeout: .zero)
            try? await runtime.removePodSandbox(sandbox.id)
        }
        _ = try? await Command.run(["ip", "link", "del", bridge], check: false)
        for controller in (try? FileManager.default.contentsOfDirectory(atPath: "/sys/fs/cgroup")) ?? [] {
            _ = rmdir("/sys/fs/cgroup/\(controller)\(cgroupParent)")
        }
        _ = rmdir("/sys/fs/cgroup/unified\(cgroupParent)")
    }

    /// An agent goes away without stopping its pods (`stopPodsOnExit` off, as `capstan agent`
    /// by default) and a new agent with a new runtime instance on the same state root takes
    /// over: the running container is adopted (same id, no restart, still Running and Ready);
    /// one that exited while no agent ran is restarted by its restartPolicy with its real exit
    /// code as lastState.
    @Test func restartedAgentAdoptsRunningContainersAndRestartsExitedOnes() async throws {
        let tag = String(UInt32.random(in: 0..<UInt32.max), radix: 36)
        let scratch = "/tmp/capstan-agent-adopt-\(tag)"
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let store = try await Self.busyboxStore(scratch)
        let cgroupParent = "/capstan-agent-test-\(tag)"
        let runtimeConfiguration = OCIRuntime.Configuration(runtimeBinary: "runc", stateRoot: scratch + "/state", cgroupParent: cgroupParent)
        let first = try OCIRuntime(configuration: runtimeConfiguration, images: store, logger: quietLogger)
        var last = first
        try await withClient { client, _ in
            let configuration = NodeAgentConfiguration(nodeName: "runc-node", rootDirectory: scratch + "/agent", network: .none,
                                                       syncInterval: .milliseconds(200), clock: .system)
            func pod(_ name: String, _ script: String) -> CoreV1.Pod {
                CoreV1.Pod(metadata: MetaV1.ObjectMeta(name: name, namespace: "default"),
                           spec: CoreV1.PodSpec(containers: [CoreV1.Container(
                               command: ["/bin/sh", "-c", script], image: "localhost/import:latest", imagePullPolicy: "Never", name: "main")],
                               nodeName: "runc-node", terminationGracePeriodSeconds: 1))
            }
            func status(_ name: String) async -> CoreV1.ContainerStatus? {
                try? await client.get(CoreV1.Pod.self, name: name, namespace: "default").status?.containerStatuses?.first
            }
            let agent = NodeAgent(client: client, configuration: configuration, runtime: first, imageService: first, logger: quietLogger)
            let task = Task { try await agent.run() }
            _ = try await client.create(pod("keep", "trap 'exit 0' TERM; while true; do echo tick; sleep 0.2; done"))
            _ = try await client.create(pod("flaky", "echo up; while [ ! -f /tmp/stop ]; do sleep 0.1; done; exit 3"))
            #expect(await eventually(timeout: .seconds(30)) {
                let keep = await status("keep"), flaky = await status("flaky")
                return keep?.state?.running != nil && flaky?.state?.running != nil
            })
            let keep = try #require(await status("keep"))
            let flakyID = try #require(await status("flaky")?.containerID?.replacingOccurrences(of: "runc://", with: ""))
            task.cancel()
            _ = await task.result

            // No agent runs: the flaky container ends (it sees the file in its root filesystem) and its shim records the exit.
            FileManager.default.createFile(atPath: scratch + "/state/containers/\(flakyID)/rootfs/tmp/stop", contents: nil)
            #expect(await eventually(timeout: .seconds(10)) { FileManager.default.fileExists(atPath: scratch + "/state/containers/\(flakyID)/exit") })

            let second = try OCIRuntime(configuration: runtimeConfiguration, images: store, logger: quietLogger)
            last = second
            let restarted = NodeAgent(client: client, configuration: configuration, runtime: second, imageService: second, logger: quietLogger)
            let secondTask = Task { try await restarted.run() }
            var flaky: CoreV1.ContainerStatus?
            #expect(await eventually(timeout: .seconds(30)) {
                flaky = await status("flaky")
                return flaky?.restartCount == 1 && flaky?.state?.running != nil
            }, "\(String(describing: flaky))")
            #expect(flaky?.lastState?.terminated?.exitCode == 3 && flaky?.lastState?.terminated?.reason == "Error", "\(String(describing: flaky))")
            #expect(flaky?.lastState?.terminated?.containerID == "runc://\(flakyID)")
            let adopted = await status("keep")
            #expect(adopted?.containerID == keep.containerID && adopted?.restartCount == 0 && adopted?.state?.running?.startedAt == keep.state?.running?.startedAt,
                    "\(String(describing: adopted)) vs \(keep)")
            let keepPod = try await client.get(CoreV1.Pod.self, name: "keep", namespace: "default")
            #expect(keepPod.status?.phase == "Running" && keepPod.status?.conditions?.first { $0.type == "Ready" }?.status == "True")
            let uid = try #require(keepPod.metadata?.uid)
            #expect(try await second.listContainers(ContainerFilter(labelSelector: [AgentLabels.podUID: uid])).count == 1)

            for name in ["keep", "flaky"] { try await client.delete(CoreV1.Pod.self, name: name, namespace: "default") }
            #expect(await eventually(timeout: .seconds(30)) {
                (try? await client.list(CoreV1.Pod.self, namespace: "default").items.isEmpty) ?? false
            })
            #expect(try await second.listContainers(ContainerFilter()).isEmpty)
            secondTask.cancel()
            _ = await secondTask.result
        }
        for sandbox in (try? await last.listPodSandboxes(PodSandboxFilter())) ?? [] {
            try? await last.stopPodSandbox(sandbox.id, timeout: .zero)
            try? await last.removePodSandbox(sandbox.id)
        }
        let runcList = try await Command.run(["runc", "--root", scratch + "/state/runtime", "list", "-q"], check: false)
        #expect(runcList.stdout.isEmpty, "\(runcList.stdout)")
        let mounts = ProcFile.read("/proc/self/mountinfo") ?? ""
        #expect(!mounts.contains(scratch), "leftover mounts")
        for controller in (try? FileManager.default.contentsOfDirectory(atPath: "/sys/fs/cgroup")) ?? [] {
            _ = rmdir("/sys/fs/cgroup/\(controller)\(cgroupParent)")
        }
        _ = rmdir("/sys/fs/cgroup/unified\(cgroupParent)")
    }
}
