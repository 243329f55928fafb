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
    @Test func busyboxPodRunsEndToEnd() async throws {
        let tag = String(UInt32.random(in: 0..<UInt32.max), radix: 36)
        let scratch = "/tmp/capstan-agent-e2e-\(tag)"
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("scripts/build-test-image.sh").path
        #expect(try await Command.run([script, scratch + "/image"]).status == 0)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let store = try ImageStore(root: scratch + "/images")
        _ = try await store.importArchive(scratch + "/image/busybox-oci.tar")
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
}
