import CapstanContainerRuntime
import CapstanOCI
@testable import CapstanRuntimeOCI
import Foundation
import Testing

@Suite("SpecBuilder and CRI log writer")
struct SpecBuilderTests {
    static let namespaces = SpecBuilder.SandboxNamespaces(network: "/run/netns/p", ipc: "/s/ipc", uts: "/s/uts", hostname: "pod-0", sysctls: ["net.ipv4.ip_unprivileged_port_start": "0"])
    static let image = ImageRuntimeConfig(entrypoint: ["/entry"], cmd: ["serve"], env: ["PATH=/bin", "MODE=image"], workingDir: "/app", user: "app", stopSignal: "SIGQUIT")

    func build(_ config: ContainerConfig, image: ImageRuntimeConfig = Self.image, clamp: Bool = true) throws -> RuntimeSpec {
        try SpecBuilder(
            config: config, image: image, namespaces: Self.namespaces, rootfs: "/b/rootfs", cgroupsPath: "/capstan/c1",
            passwd: "root:x:0:0::/:/bin/sh\napp:x:1000:1001::/app:/bin/sh\n", group: "root:x:0:\napp:x:1001:\n", clampOOMScoreAdj: clamp
        ).build()
    }

    @Test("process, namespaces and defaults")
    func defaults() throws {
        let spec = try build(ContainerConfig(name: "c", image: "i", args: ["--port", "80"], env: [EnvVar("MODE", "pod")]))
        #expect(spec.process.args == ["/entry", "--port", "80"])
        #expect(spec.process.env == ["PATH=/bin", "MODE=pod", "HOSTNAME=pod-0"])
        #expect(spec.process.cwd == "/app" && spec.process.user == RuntimeSpec.User(uid: 1000, gid: 1001))
        #expect(spec.process.capabilities?.bounding == RuntimeSpec.defaultCapabilities)
        #expect(spec.linux.namespaces == [
            .init(type: "mount"), .init(type: "pid"), .init(type: "network", path: "/run/netns/p"), .init(type: "ipc", path: "/s/ipc"), .init(type: "uts", path: "/s/uts"),
        ])
        #expect(spec.hostname == "pod-0" && spec.linux.cgroupsPath == "/capstan/c1" && spec.root == RuntimeSpec.Root(path: "/b/rootfs", readonly: false))
        #expect(spec.linux.maskedPaths == RuntimeSpec.defaultMaskedPaths && spec.linux.sysctl?["net.ipv4.ip_unprivileged_port_start"] == "0")
        #expect(spec.linux.resources?.devices == [RuntimeSpec.Resources.DeviceRule(allow: false, access: "rwm")])
        #expect(spec.mounts.map(\.destination).contains("/proc"))
    }

    @Test("security context: users, capabilities, privileged, read-only root, non-root check")
    func securityContext() throws {
        let spec = try build(ContainerConfig(
            name: "c", image: "i", runAsUser: 2000, supplementalGroups: [5, 6],
            capabilities: Capabilities(add: ["NET_ADMIN"], drop: ["chown", "CAP_KILL"]), readOnlyRootFilesystem: true, allowPrivilegeEscalation: false
        ))
        #expect(spec.process.user == RuntimeSpec.User(uid: 2000, gid: 0, additionalGids: [5, 6]))
        let caps = try #require(spec.process.capabilities?.effective)
        #expect(caps.contains("CAP_NET_ADMIN") && !caps.contains("CAP_CHOWN") && !caps.contains("CAP_KILL"))
        #expect(spec.root.readonly && spec.process.noNewPrivileges == true)
        let dropAll = try build(ContainerConfig(name: "c", image: "i", capabilities: Capabilities(add: ["NET_BIND_SERVICE"], drop: ["ALL"])))
        #expect(dropAll.process.capabilities?.bounding == ["CAP_NET_BIND_SERVICE"])
        let privileged = try build(ContainerConfig(name: "c", image: "i", privileged: true))
        #expect(privileged.process.capabilities?.bounding == RuntimeSpec.allCapabilities)
        #expect(privileged.linux.maskedPaths == [] && privileged.linux.resources?.devices?.first?.allow == true)
        #expect(throws: RuntimeError.self) { try build(ContainerConfig(name: "c", image: "i", runAsNonRoot: true), image: ImageRuntimeConfig(cmd: ["x"])) }
        #expect(throws: RuntimeError.self) { try build(ContainerConfig(name: "c", image: "i", capabilities: Capabilities(add: ["NOT_A_CAP"]))) }
    }

    @Test("mounts, propagation, resources and oomScoreAdj clamping")
    func mountsAndResources() throws {
        let spec = try build(ContainerConfig(
            name: "c", image: "i",
            mounts: [Mount(hostPath: "/var/lib/x", containerPath: "/data/../data/", readOnly: true), Mount(hostPath: "/h", containerPath: "/h", propagation: .hostToContainer)],
            resources: LinuxResources(cpuShares: 102, cpuQuota: 50_000, memoryLimitBytes: 64 << 20, pidsLimit: 100, oomScoreAdj: -997)
        ))
        #expect(spec.mounts.contains(RuntimeSpec.Mount(destination: "/data", type: "bind", source: "/var/lib/x", options: ["rbind", "rprivate", "ro"])))
        #expect(spec.mounts.contains(RuntimeSpec.Mount(destination: "/h", type: "bind", source: "/h", options: ["rbind", "rslave"])))
        #expect(spec.linux.rootfsPropagation == "rslave")
        #expect(spec.linux.resources?.memory == RuntimeSpec.Resources.Memory(limit: 64 << 20))
        #expect(spec.linux.resources?.cpu == RuntimeSpec.Resources.CPU(shares: 102, quota: 50_000, period: 100_000))
        #expect(spec.linux.resources?.pids?.limit == 100 && spec.process.oomScoreAdj == 0)
        #expect(try build(ContainerConfig(name: "c", image: "i", resources: LinuxResources(oomScoreAdj: -5)), clamp: false).process.oomScoreAdj == -5)
        #expect(throws: RuntimeError.self) {
            try build(ContainerConfig(name: "c", image: "i", mounts: [Mount(hostPath: "/h", containerPath: "/h", propagation: .bidirectional)]))
        }
    }

    @Test("RuntimeDefault seccomp denies what the capabilities do not cover")
    func seccomp() throws {
        #expect(try build(ContainerConfig(name: "c", image: "i")).linux.seccomp == nil)
        let plain = try #require(try build(ContainerConfig(name: "c", image: "i", seccomp: .runtimeDefault)).linux.seccomp)
        let denied = Set(plain.syscalls?.flatMap(\.names) ?? [])
        #expect(plain.defaultAction == "SCMP_ACT_ALLOW" && denied.contains("mount") && denied.contains("keyctl") && denied.contains("ptrace"))
        let admin = try #require(try build(ContainerConfig(name: "c", image: "i", capabilities: Capabilities(add: ["SYS_ADMIN"]), seccomp: .runtimeDefault)).linux.seccomp)
        let adminDenied = Set(admin.syscalls?.flatMap(\.names) ?? [])
        #expect(!adminDenied.contains("mount") && adminDenied.contains("keyctl"))
        #expect(try build(ContainerConfig(name: "c", image: "i", privileged: true, seccomp: .runtimeDefault)).linux.seccomp == nil)
    }

    @Test("host network and IPC leave the namespaces out")
    func hostNamespaces() throws {
        let spec = try SpecBuilder(
            config: ContainerConfig(name: "c", image: "i", command: ["x"]), image: ImageRuntimeConfig(),
            namespaces: SpecBuilder.SandboxNamespaces(network: nil, ipc: nil, uts: nil, hostname: "node", sysctls: [:]),
            rootfs: "/r", cgroupsPath: "/c", passwd: "", group: "", clampOOMScoreAdj: true
        ).build()
        #expect(spec.linux.namespaces.map(\.type) == ["mount", "pid"] && spec.hostname == nil)
        var hostPID = Self.namespaces
        hostPID.pid = ""
        let onHost = try SpecBuilder(
            config: ContainerConfig(name: "c", image: "i", command: ["x"]), image: ImageRuntimeConfig(), namespaces: hostPID,
            rootfs: "/r", cgroupsPath: "/c", passwd: "", group: "", clampOOMScoreAdj: true
        ).build()
        #expect(!onHost.linux.namespaces.contains { $0.type == "pid" })
        var shared = Self.namespaces
        shared.pid = "/proc/42/ns/pid"
        let joined = try SpecBuilder(
            config: ContainerConfig(name: "c", image: "i", command: ["x"]), image: ImageRuntimeConfig(), namespaces: shared,
            rootfs: "/r", cgroupsPath: "/c", passwd: "", group: "", clampOOMScoreAdj: true
        ).build()
        #expect(joined.linux.namespaces.contains(RuntimeSpec.Namespace(type: "pid", path: "/proc/42/ns/pid")))
        #expect(spec.process.env.first?.hasPrefix("PATH=") == true)
    }

    @Test("CRI log writer splits lines, long lines and the unterminated tail")
    func logWriter() {
        var records: [String] = []
        var writer = CRILogWriter(stream: .stdout) { records.append(String(decoding: $0, as: UTF8.self)) }
        let now = Date(timeIntervalSince1970: 1_475_713_029.5)
        writer.append(ArraySlice(Array("one\ntw".utf8)), now: now)
        writer.append(ArraySlice(Array("o\n\nthree".utf8)), now: now)
        writer.append(ArraySlice([UInt8](repeating: 0x78, count: CRILog.maxRecordContent + 10)), now: now)
        writer.finish(now: now)
        let parsed = records.compactMap { CRILog.parse($0.dropLast()) }
        #expect(parsed.map(\.content) == ["one", "two", "", "three" + String(repeating: "x", count: CRILog.maxRecordContent - 5), String(repeating: "x", count: 15)])
        #expect(parsed.map(\.partial) == [false, false, false, true, false])
        #expect(parsed.first?.timestamp == "2016-10-06T00:17:09.500000000Z")
    }

    @Test("log files rotate by size and keep at most maxFiles")
    func rotation() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("capstan-logrot-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = ContainerLogFile(path: directory + "/0.log", maxSize: 100, maxFiles: 3)
        let record = Array(String(repeating: "x", count: 39).utf8) + [0x0A]
        for _ in 0 ..< 10 { file.write(record) }
        let names = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        #expect(names.count == 3 && names.first == "0.log" && names.dropFirst().allSatisfy { $0.hasPrefix("0.log.") })
        // 10 records of 40 bytes, 2 per file: the current file holds the last 2.
        #expect(try Data(contentsOf: URL(fileURLWithPath: directory + "/0.log")).count == 80)
    }

    @Test("signal names and exit statuses")
    func signals() {
        #expect(OCIRuntime.signalNumber("SIGQUIT") == SIGQUIT && OCIRuntime.signalNumber("term") == SIGTERM && OCIRuntime.signalNumber("9") == 9)
        #expect(OCIRuntime.signalNumber("SIGNOPE") == nil && OCIRuntime.signalNumber(nil) == nil)
        #expect(Subprocess.exitCode(fromWaitStatus: 3 << 8) == 3 && Subprocess.exitCode(fromWaitStatus: SIGKILL) == 137)
    }
}
