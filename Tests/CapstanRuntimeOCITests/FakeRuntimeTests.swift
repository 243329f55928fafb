import CapstanContainerRuntime
import Foundation
import Testing

@Suite("FakeContainerRuntime")
struct FakeRuntimeTests {
    @Test("conformance", arguments: ContainerRuntimeConformance.Case.allCases)
    func conformance(_ testCase: ContainerRuntimeConformance.Case) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("capstan-fake-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let runtime = FakeContainerRuntime()
        runtime.addImage("busybox:latest")
        let fixture = ContainerRuntimeConformance.Fixture(
            runtime: runtime, image: "busybox:latest", commands: .fake, logDirectory: directory, checksStderr: false
        )
        try await ContainerRuntimeConformance.run(testCase, fixture)
    }

    @Test("scripted exits, OOM and injected failures")
    func scripted() async throws {
        let runtime = FakeContainerRuntime(now: { Date(timeIntervalSince1970: 1000) })
        runtime.addImage("app:1", config: ImageRuntimeConfig(entrypoint: ["fake"], cmd: ["run"]))
        let sandbox = try await runtime.runPodSandbox(PodSandboxConfig(metadata: PodSandboxMetadata(name: "p", namespace: "ns", uid: "u")))
        let oom = try await runtime.createContainer(in: sandbox, ContainerConfig(name: "oom", image: "app:1", args: ["oom"]))
        try await runtime.startContainer(oom)
        let status = try await runtime.containerStatus(oom)
        #expect(status.reason == TerminationReason.oomKilled && status.exitCode == 137)
        #expect(status.finishedAt == Date(timeIntervalSince1970: 1000))

        let app = try await runtime.createContainer(in: sandbox, ContainerConfig(name: "app", image: "app:1"))
        try await runtime.startContainer(app)
        runtime.exit(app, code: 2)
        #expect(try await runtime.containerStatus(app).reason == TerminationReason.error)

        runtime.failNext(.startContainer, with: RuntimeError(.startFailed, "exec: no such file"))
        let broken = try await runtime.createContainer(in: sandbox, ContainerConfig(name: "broken", image: "app:1"))
        await #expect(throws: RuntimeError(.startFailed, "exec: no such file")) { try await runtime.startContainer(broken) }
        #expect(runtime.calls.filter { $0.operation == .startContainer }.count == 3)
    }

    @Test("pull makes remote images present")
    func pull() async throws {
        let runtime = FakeContainerRuntime()
        runtime.addRemoteImage("docker.io/library/nginx:1.27")
        #expect(try await runtime.imageStatus("docker.io/library/nginx:1.27") == nil)
        let pulled = try await runtime.pullImage("docker.io/library/nginx:1.27", auth: nil)
        #expect(try await runtime.imageStatus(pulled.id)?.repoTags == ["docker.io/library/nginx:1.27"])
        await #expect(throws: RuntimeError.self) { try await runtime.pullImage("missing:1", auth: nil) }
        try await runtime.removeImage(pulled.id)
        #expect(try await runtime.listImages().isEmpty)
    }
}

@Suite("Container config resolution")
struct ContainerConfigResolutionTests {
    static let image = ImageRuntimeConfig(entrypoint: ["/entry"], cmd: ["--default"], env: ["PATH=/bin", "A=image"], workingDir: "/srv")

    @Test("command and args follow Kubernetes' entrypoint rules", arguments: [
        ([], [], ["/entry", "--default"]),
        (["/bin/sh"], [], ["/bin/sh"]),
        ([], ["--flag"], ["/entry", "--flag"]),
        (["/bin/sh"], ["-c", "true"], ["/bin/sh", "-c", "true"]),
    ] as [([String], [String], [String])])
    func arguments(command: [String], args: [String], expected: [String]) throws {
        let config = ContainerConfig(name: "c", image: "i", command: command, args: args)
        #expect(try config.resolvedArguments(image: Self.image) == expected)
    }

    @Test("no command at all is an error")
    func empty() {
        #expect(throws: RuntimeError.self) { try ContainerConfig(name: "c", image: "i").resolvedArguments(image: ImageRuntimeConfig()) }
    }

    @Test("env: container values win, order kept")
    func env() {
        let config = ContainerConfig(name: "c", image: "i", env: [EnvVar("A", "mine"), EnvVar("B", "x=y")])
        #expect(config.resolvedEnvironment(image: Self.image) == ["PATH=/bin", "A=mine", "B=x=y"])
        #expect(config.resolvedWorkingDir(image: Self.image) == "/srv")
        #expect(ContainerConfig(name: "c", image: "i").resolvedWorkingDir(image: ImageRuntimeConfig()) == "/")
    }

    @Test("image users resolve through passwd and group")
    func users() throws {
        let passwd = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n"
        let group = "root:x:0:\nstaff:x:50:\n"
        #expect(try ImageUser("").resolve(passwd: passwd, group: group) == (0, 0))
        #expect(try ImageUser("nobody").resolve(passwd: passwd, group: group) == (65534, 65534))
        #expect(try ImageUser("1000:staff").resolve(passwd: passwd, group: group) == (1000, 50))
        #expect(try ImageUser("65534").resolve(passwd: passwd, group: group) == (65534, 65534))
        #expect(throws: RuntimeError.self) { try ImageUser("ghost").resolve(passwd: passwd, group: group) }
    }

    @Test("CRI log records format and parse")
    func criLog() {
        #expect(CRILog.timestamp(epochSeconds: 1_475_713_029, nanoseconds: 669_794_202) == "2016-10-06T00:17:09.669794202Z")
        let line = CRILog.format(timestamp: "2016-10-06T00:17:09.669794202Z", stream: .stderr, partial: true, content: Array("a b".utf8))
        #expect(String(decoding: line, as: UTF8.self) == "2016-10-06T00:17:09.669794202Z stderr P a b\n")
        #expect(CRILog.parse("2016-10-06T00:17:09.669794202Z stdout F hello world") == CRILog.Record(timestamp: "2016-10-06T00:17:09.669794202Z", stream: .stdout, partial: false, content: "hello world"))
        #expect(CRILog.parse("garbage") == nil)
    }
}
