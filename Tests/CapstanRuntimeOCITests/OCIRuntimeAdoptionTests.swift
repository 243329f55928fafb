import CapstanContainerRuntime
import CapstanImageStore
@testable import CapstanRuntimeOCI
import Foundation
import Testing

/// A runtime instance that goes away without stopping its containers (as the agent does when it
/// exits, crashes or is upgraded) and a new instance on the same state root: containers run on
/// under their shims, log on, and are adopted; exits in between are recorded.
@Suite("OCIRuntime adoption across instances", .serialized, .enabled(if: canRunContainers, "needs root, runc and busybox-static"))
struct OCIRuntimeAdoptionTests {
    /// Prints `line N` every 100 ms; exits 7 on SIGTERM.
    static let ticker = ["/bin/sh", "-c", "trap 'exit 7' TERM; i=0; while true; do echo line $i; i=$((i+1)); sleep 0.1; done"]

    @Test("a running container is adopted: same pid and start time, logs written in the gap, stop, exec and attach work", arguments: ["runc", "crun"])
    func runningContainerIsAdopted(_ binary: String) async throws {
        guard binary == "runc" || canRunCrun else {
            print("skipping crun: not installed, or it refuses this host's cgroup layout")
            return
        }
        try await RuntimeFixture.withRuntime(binary: binary) { first, scratch in
            let sandbox = try await first.runPodSandbox(PodSandboxConfig(
                metadata: PodSandboxMetadata(name: "adopt", namespace: "default", uid: "u-adopt"), labels: ["app": "adopt"]))
            let logPath = scratch + "/logs/ticker/0.log"
            let ticker = try await first.createContainer(in: sandbox, ContainerConfig(
                name: "ticker", image: RuntimeFixture.image, command: Self.ticker, logPath: logPath, labels: ["app": "adopt"]))
            try await first.startContainer(ticker)
            let catLog = scratch + "/logs/cat/0.log"
            let cat = try await first.createContainer(in: sandbox, ContainerConfig(
                name: "cat", image: RuntimeFixture.image, command: ["/bin/cat"], logPath: catLog, stdin: true, stdinOnce: false))
            try await first.startContainer(cat)
            let before = try await first.containerStatus(ticker)
            let pid = try #require(before.pid)
            _ = try await ContainerRuntimeConformance.waitForLog(logPath, count: 3, .seconds(10))

            // The first instance is dropped here without stopping anything; a second one comes up a second later.
            let gapStart = CRILog.timestamp(Date())
            try await Task.sleep(for: .seconds(1))
            let gapEnd = CRILog.timestamp(Date())
            let second = try OCIRuntime(configuration: first.configuration, images: first.images)

            let adopted = try await second.containerStatus(ticker)
            #expect(adopted.state == .running && adopted.pid == pid && adopted.startedAt == before.startedAt, "\(adopted) vs \(before)")
            #expect(adopted.labels == ["app": "adopt"] && adopted.logPath == logPath && adopted.sandboxID == sandbox)
            #expect(try await second.listContainers(ContainerFilter(sandboxID: sandbox, state: .running)).map(\.id).sorted() == [ticker, cat].sorted())
            #expect(try await second.podSandboxStatus(sandbox).state == .ready)
            #expect(try await second.listPodSandboxes(PodSandboxFilter(labelSelector: ["app": "adopt"])).map(\.id) == [sandbox])

            // Logs flowed while no instance existed, and go on: `line N` numbers have no holes.
            try await Task.sleep(for: .milliseconds(300))
            let records = try String(contentsOfFile: logPath, encoding: .utf8).split(separator: "\n").compactMap(CRILog.parse)
            let inGap = records.filter { $0.timestamp > gapStart && $0.timestamp < gapEnd }
            #expect(inGap.count >= 5, "records written during the gap: \(inGap.count)")
            #expect(records.map(\.content) == (0 ..< records.count).map { "line \($0)" }, "\(records.map(\.content))")
            #expect(records.contains { $0.timestamp > gapEnd }, "no records after the new instance came up")

            let exec = try await second.execSync(ticker, command: ["/bin/sh", "-c", "echo adopted"], timeout: .seconds(5))
            #expect(exec.exitCode == 0 && exec.stdoutString == "adopted\n", "\(exec)")

            // The stdin the shim kept is still the container's.
            let input = try await second.attachStdin(cat)
            try await input.write(Array("after the restart\n".utf8))
            let catRecords = try await ContainerRuntimeConformance.waitForLog(catLog, count: 1, .seconds(10))
            #expect(catRecords.map(\.content) == ["after the restart"])
            await input.close()
            #expect(try await second.containerStatus(cat).state == .running, "stdin without stdinOnce stays open")

            try await second.stopContainer(ticker, timeout: .seconds(5))
            let stopped = try await second.containerStatus(ticker)
            #expect(stopped.state == .exited && stopped.exitCode == 7 && stopped.reason == TerminationReason.error && stopped.pid == nil, "\(stopped)")
            try await second.stopContainer(cat, timeout: .seconds(5))
            // The first instance sees the same exits (through the shims it started) before the directories go.
            _ = try await ContainerRuntimeConformance.waitExited(first, ticker, .seconds(10))
            _ = try await ContainerRuntimeConformance.waitExited(first, cat, .seconds(10))

            // A third instance reads the exits from the records.
            let third = try OCIRuntime(configuration: first.configuration, images: first.images)
            #expect(try await third.containerStatus(ticker).exitCode == 7)
            try await third.stopPodSandbox(sandbox, timeout: .zero)
            try await third.removePodSandbox(sandbox)
            #expect(try await third.listContainers(ContainerFilter()).isEmpty)
            #expect(try FileManager.default.contentsOfDirectory(atPath: scratch + "/state/containers").isEmpty)
            #expect(try FileManager.default.contentsOfDirectory(atPath: scratch + "/state/sandboxes").isEmpty)
            #expect(RuntimeFixture.leftoverMounts(scratch).isEmpty, "leftover mounts: \(RuntimeFixture.leftoverMounts(scratch))")
            try await first.removePodSandbox(sandbox)
        }
    }

    @Test("a container that exits while no instance exists comes back exited with its code")
    func exitWhileAway() async throws {
        try await RuntimeFixture.withRuntime { first, scratch in
            let sandbox = try await first.runPodSandbox(PodSandboxConfig(
                metadata: PodSandboxMetadata(name: "away", namespace: "default", uid: "u-away")))
            let id = try await first.createContainer(in: sandbox, ContainerConfig(
                name: "short", image: RuntimeFixture.image, command: ["/bin/sh", "-c", "echo bye; sleep 1; exit 3"],
                logPath: scratch + "/logs/short/0.log"))
            try await first.startContainer(id)
            let started = try #require(try await first.containerStatus(id).startedAt)
            // Nothing reads the first instance's view; the exit happens before the second one exists.
            try await Task.sleep(for: .milliseconds(2500))
            let second = try OCIRuntime(configuration: first.configuration, images: first.images)
            let status = try await second.containerStatus(id)
            #expect(status.state == .exited && status.exitCode == 3 && status.reason == TerminationReason.error, "\(status)")
            let finished = try #require(status.finishedAt)
            #expect(finished.timeIntervalSince(started) > 0.9 && finished.timeIntervalSince(started) < 2.5, "\(started) → \(finished)")
            #expect(status.startedAt == started && status.pid == nil)
            let records = try String(contentsOfFile: scratch + "/logs/short/0.log", encoding: .utf8).split(separator: "\n").compactMap(CRILog.parse)
            #expect(records.map(\.content) == ["bye"])
            // The shim already deleted it from the OCI runtime.
            let list = try await Subprocess.run(["runc", "--root", scratch + "/state/runtime", "list", "-q"])
            #expect(list.stdout.isEmpty, "\(String(decoding: list.stdout, as: UTF8.self))")
            try await second.removePodSandbox(sandbox)
            #expect(try FileManager.default.contentsOfDirectory(atPath: scratch + "/state/containers").isEmpty)
            _ = try await ContainerRuntimeConformance.waitExited(first, id, .seconds(5))
            try await first.removePodSandbox(sandbox)
        }
    }

    @Test("the shim is small: its resident and proportional memory")
    func shimMemory() async throws {
        try await RuntimeFixture.withRuntime { runtime, scratch in
            let sandbox = try await runtime.runPodSandbox(PodSandboxConfig(
                metadata: PodSandboxMetadata(name: "mem", namespace: "default", uid: "u-mem")))
            let id = try await runtime.createContainer(in: sandbox, ContainerConfig(
                name: "ticker", image: RuntimeFixture.image, command: Self.ticker, logPath: scratch + "/logs/mem/0.log"))
            try await runtime.startContainer(id)
            try await Task.sleep(for: .milliseconds(500))
            let shimPID = try #require(OCIRuntime.readPID(scratch + "/state/containers/\(id)/shim.pid"))
            let status = try String(contentsOfFile: "/proc/\(shimPID)/status", encoding: .utf8)
            let rollup = try String(contentsOfFile: "/proc/\(shimPID)/smaps_rollup", encoding: .utf8)
            func kilobytes(_ text: String, _ field: String) -> Int? {
                text.split(separator: "\n").first { $0.hasPrefix(field + ":") }
                    .flatMap { $0.split(separator: " ").dropFirst().first }.flatMap { Int($0) }
            }
            let rss = try #require(kilobytes(status, "VmRSS"))
            let pss = try #require(kilobytes(rollup, "Pss"))
            // What each further shim adds: its file pages (the static executable) are shared.
            let dirty = try #require(kilobytes(rollup, "Private_Dirty"))
            print("capstan-shim memory: VmRSS \(rss) kB, Pss \(pss) kB, Private_Dirty \(dirty) kB")
            #expect(rss < 2048 && pss < 1024 && dirty < 512, "VmRSS \(rss) kB, Pss \(pss) kB, Private_Dirty \(dirty) kB")
            try await runtime.stopPodSandbox(sandbox, timeout: .zero)
            try await runtime.removePodSandbox(sandbox)
        }
    }
}
