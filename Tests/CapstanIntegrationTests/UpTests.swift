import Foundation
import Testing

/// `capstan up` as a user runs it: the real binary, real runc, real kubectl.
@Suite("capstan up: a one-node cluster with real containers", .serialized)
struct UpTests {
    @Test func deployLogsRestartAndCleanUp() async throws {
        guard let setup = try IntegrationSetup.make() else { return }
        defer { setup.removeEverything() }
        try setup.importTestImage()

        // First start: a fresh cluster.
        var up = try setup.startUp()
        do {
            #expect(await up.waitForOutput("Ready", timeout: .seconds(30)), "node never Ready: \(up.output)")
            let k = setup.kubectl
            try k.ok("apply", "-f", "-", stdin: setup.deployment)
            #expect(await k.eventually("get", "pods", "-l", "app=hello", "-o", "jsonpath={.items[*].status.phase}",
                                       timeout: .seconds(60)) { $0 == "Running Running" },
                    "pods not Running: \((try? k.ok("get", "pods", "-o", "wide")) ?? "")")
            let pod = try k.ok("get", "pods", "-l", "app=hello", "-o", "jsonpath={.items[0].metadata.name}")
            #expect(await k.eventually("logs", pod) { $0.contains("hello from capstan") }, "logs of \(pod)")
            // Scale up, then check a pod's IP is in the node's pod network.
            try k.ok("scale", "deployment", "hello", "--replicas=3")
            #expect(await k.eventually("get", "deploy", "hello", "-o", "jsonpath={.status.availableReplicas}",
                                       timeout: .seconds(60)) { $0 == "3" })
            let ip = try k.ok("get", "pod", pod, "-o", "jsonpath={.status.podIP}")
            #expect(ip.hasPrefix(setup.podPrefix), "pod IP \(ip) outside \(setup.podCIDR)")
        } catch {
            await up.stop()
            throw error
        }
        await up.stop()
        #expect(up.exitCode == 0, "capstan up exit: \(up.output)")
        #expect(setup.runningContainers().isEmpty, "containers left after Ctrl-C: \(setup.runningContainers())")

        // Second start on the same data directory: the cluster and its pods come back.
        up = try setup.startUp()
        do {
            #expect(await up.waitForOutput("Ready", timeout: .seconds(30)), "node never Ready after restart: \(up.output)")
            #expect(up.output.contains("store reopened"), "\(up.output)")
            let k = setup.kubectl
            #expect(await k.eventually("get", "deploy", "hello", "-o", "jsonpath={.status.availableReplicas}",
                                       timeout: .seconds(60)) { $0 == "3" },
                    "deployment not back: \((try? k.ok("get", "pods", "-o", "wide")) ?? "")")
        } catch {
            await up.stop()
            throw error
        }
        await up.stop()
        #expect(setup.runningContainers().isEmpty, "containers left after the second stop")
        #expect(setup.leftoverMounts().isEmpty, "mounts left: \(setup.leftoverMounts())")
        #expect(setup.leftoverNetworkNamespaces().isEmpty, "network namespaces left: \(setup.leftoverNetworkNamespaces())")
    }

    @Test func simulatedNodeWithoutRoot() async throws {
        guard let setup = try IntegrationSetup.make(needsRuntime: false) else { return }
        defer { setup.removeEverything() }
        let up = try setup.startUp(runtime: "sim")
        do {
            #expect(await up.waitForOutput("Ready", timeout: .seconds(30)), "\(up.output)")
            let k = setup.kubectl
            try k.ok("create", "deployment", "sim", "--image=capstan.test/busybox:latest", "--replicas=2")
            #expect(await k.eventually("get", "deploy", "sim", "-o", "jsonpath={.status.availableReplicas}") { $0 == "2" })
        } catch {
            await up.stop()
            throw error
        }
        await up.stop()
        #expect(up.exitCode == 0, "\(up.output)")
    }

    @Test func missingRuntimeIsNamed() async throws {
        guard let setup = try IntegrationSetup.make(needsRuntime: false) else { return }
        defer { setup.removeEverything() }
        let up = try setup.startUp(runtime: "/nonexistent/runc")
        await up.waitForExit(timeout: .seconds(20))
        #expect(up.exitCode != 0)
        #expect(up.output.contains("no OCI runtime found") && up.output.contains("--runtime sim"), "\(up.output)")
    }
}
