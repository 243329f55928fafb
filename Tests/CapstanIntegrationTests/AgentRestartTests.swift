import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `capstan server` and a separate `capstan agent` with real runc and kubectl: the agent is
/// killed (SIGKILL, nothing stopped) and a new agent on the same root adopts the running pod:
/// same container, no restart, Running and Ready within seconds, and its log has the lines the
/// container wrote while no agent ran.
@Suite("capstan agent restarts adopt running containers", .serialized)
struct AgentRestartTests {
    @Test func killedAgentIsReplacedAndAdoptsThePod() async throws {
        guard let setup = try IntegrationSetup.make() else { return }
        defer { setup.removeEverything() }
        try setup.importTestImage()
        let node = "adopt-\(setup.bridge.suffix(6))"
        let agentArguments = ["agent", "--kubeconfig", setup.dataDirectory + "/kubeconfig", "--root", setup.dataDirectory + "/agent",
                              "--node-name", node, "--bridge", setup.bridge, "--pod-cidr", setup.podCIDR, "--port", "0",
                              "--log-level", "warning"]
        let server = try ChildProcess.start(setup.capstan, ["server", "--data-dir", setup.dataDirectory, "--port", String(setup.port),
                                                            "--log-level", "warning"],
                                            outputPath: setup.root + "/server.log")
        var agent: ChildProcess?
        var podUID = ""
        do {
            #expect(await server.waitForOutput("API serving on", timeout: .seconds(30)), "server: \(server.output)")
            agent = try ChildProcess.start(setup.capstan, agentArguments, outputPath: setup.root + "/agent-1.log")
            let k = setup.kubectl
            #expect(await k.eventually("get", "node", node, "-o", "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}") { $0 == "True" },
                    "node not Ready: \(agent?.output ?? "")")
            try k.ok("apply", "-f", "-", stdin: """
                apiVersion: v1
                kind: Pod
                metadata: {name: ticker}
                spec:
                  nodeName: \(node)
                  terminationGracePeriodSeconds: 1
                  containers:
                  - name: main
                    image: capstan.test/busybox:latest
                    imagePullPolicy: Never
                    command: ["sh", "-c", "trap 'exit 0' TERM; i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.2; done"]
                """)
            #expect(await k.eventually("get", "pod", "ticker", "-o", "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}",
                                       timeout: .seconds(60)) { $0 == "True" },
                    "pod not Ready: \((try? k.ok("get", "pod", "ticker", "-o", "yaml")) ?? "")")
            let containerID = try k.ok("get", "pod", "ticker", "-o", "jsonpath={.status.containerStatuses[0].containerID}")
            podUID = try k.ok("get", "pod", "ticker", "-o", "jsonpath={.metadata.uid}")
            #expect(containerID.hasPrefix("runc://"))
            #expect(await k.eventually("logs", "ticker") { $0.contains("tick 3") })
            let id = String(containerID.dropFirst("runc://".count))
            let shimPID = try #require(Int32((try? String(contentsOfFile: setup.dataDirectory + "/agent/state/containers/\(id)/shim.pid",
                                                                  encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""))

            // The agent dies at once; its containers are left to their shims.
            let first = try #require(agent)
            kill(first.process.processIdentifier, SIGKILL)
            await first.waitForExit(timeout: .seconds(10))
            let killedAt = Self.utcSecond(Date())
            try await Task.sleep(for: .milliseconds(2500))
            let restartedAt = Self.utcSecond(Date())
            #expect(setup.runningContainers() == [id], "containers while no agent runs: \(setup.runningContainers())")
            #expect(kill(shimPID, 0) == 0, "the shim died with the agent")

            agent = try ChildProcess.start(setup.capstan, agentArguments, outputPath: setup.root + "/agent-2.log")
            let started = ContinuousClock.now
            // The pod's status still reads as the old agent left it: `exec` answers once the new
            // agent serves the pod and its runtime knows the container.
            #expect(await k.eventually("exec", "ticker", "--", "echo", "adopted", timeout: .seconds(30)) { $0 == "adopted\n" },
                    "exec after the restart: \(agent?.output ?? "")")
            print("new agent serves the adopted pod after \(ContinuousClock.now - started)")
            #expect(await k.eventually("get", "pod", "ticker", "-o",
                                       "jsonpath={.status.containerStatuses[0].containerID} {.status.containerStatuses[0].restartCount} {.status.phase} {.status.conditions[?(@.type==\"Ready\")].status}",
                                       timeout: .seconds(30)) { $0 == "\(containerID) 0 Running True" },
                    "pod after the restart: \((try? k.ok("get", "pod", "ticker", "-o", "yaml")) ?? "")\n\(agent?.output ?? "")")
            // Held for a few syncs: nothing new was started.
            try await Task.sleep(for: .seconds(2))
            #expect(try k.ok("get", "pod", "ticker", "-o", "jsonpath={.status.containerStatuses[0].containerID} {.status.containerStatuses[0].restartCount}")
                == "\(containerID) 0")
            #expect(setup.runningContainers() == [id], "\(setup.runningContainers())")

            // The log runs on without a hole: lines from before, during and after the gap.
            let lines = try k.ok("logs", "ticker", "--timestamps").split(separator: "\n")
            let numbers = lines.compactMap { line in line.split(separator: " ").last.flatMap { Int($0) } }
            #expect(numbers == Array(0 ..< numbers.count) && numbers.count == lines.count, "\(lines.prefix(5)) ... \(lines.suffix(5))")
            let duringGap = lines.filter { line in
                let second = String(line.prefix(19))
                return second > killedAt && second < restartedAt
            }
            #expect(duringGap.count >= 3, "lines written while no agent ran (\(killedAt) to \(restartedAt)): \(duringGap)")

            try k.ok("delete", "pod", "ticker", "--wait=true", "--timeout=30s")
            #expect(await k.eventually("get", "pods", "-o", "name") { $0.isEmpty })
            #expect(await Self.eventually { setup.runningContainers().isEmpty }, "containers left: \(setup.runningContainers())")
            // The shim ended with its container (reaped here if it was reparented to this process).
            #expect(await Self.eventually {
                _ = waitpid(shimPID, nil, WNOHANG)
                return !FileManager.default.fileExists(atPath: "/proc/\(shimPID)")
            }, "shim \(shimPID) still runs")
        } catch {
            await agent?.stop()
            await server.stop()
            throw error
        }
        await agent?.stop()
        await server.stop()
        #expect(agent?.exitCode == 0, "agent: \(agent?.output ?? "")")
        #expect(setup.runningContainers().isEmpty, "containers left: \(setup.runningContainers())")
        #expect(setup.leftoverMounts().isEmpty, "mounts left: \(setup.leftoverMounts())")
        let namespaces = (try? setup.capture("ip", ["netns", "list"])) ?? ""
        #expect(podUID.isEmpty || !namespaces.contains("capstan-\(podUID)"), "network namespace left: \(namespaces)")
        if !podUID.isEmpty, namespaces.contains("capstan-\(podUID)") { _ = try? setup.capture("ip", ["netns", "del", "capstan-\(podUID)"]) }
    }

    /// `yyyy-MM-ddTHH:mm:ss` in UTC, the first 19 characters of a log timestamp.
    static func utcSecond(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd'T'HH:mm:ss"
        return formatter.string(from: date)
    }

    static func eventually(timeout: Duration = .seconds(20), _ condition: () -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return condition()
    }
}
