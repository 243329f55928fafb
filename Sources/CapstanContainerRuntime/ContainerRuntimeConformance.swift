import Foundation

/// Behaviour every `ContainerRuntime` must show, runnable against any implementation
/// (the fake and the runc/crun runtime run it). Each case throws `ConformanceFailure`
/// at its first failed check and cleans up what it created.
public enum ContainerRuntimeConformance {
    /// Commands that make the image used by a fixture behave as the cases need.
    public struct Commands: Sendable {
        /// Exits with the given code right away.
        public var exit: @Sendable (Int32) -> [String]
        /// Prints the text as one stdout line, then exits 0.
        public var echo: @Sendable (String) -> [String]
        /// Prints the text as one stderr line, then exits 0.
        public var echoStderr: @Sendable (String) -> [String]
        /// Runs until stopped; exits on SIGTERM.
        public var run: [String]
        /// Runs until SIGKILL (ignores SIGTERM).
        public var ignoreTerm: [String]
        /// Copies stdin to stdout until end of file, then exits 0.
        public var cat: [String]

        public init(
            exit: @escaping @Sendable (Int32) -> [String], echo: @escaping @Sendable (String) -> [String],
            echoStderr: @escaping @Sendable (String) -> [String], run: [String], ignoreTerm: [String], cat: [String] = ["cat"]
        ) {
            self.exit = exit
            self.echo = echo
            self.echoStderr = echoStderr
            self.run = run
            self.ignoreTerm = ignoreTerm
            self.cat = cat
        }

        /// Commands for the fake runtime.
        public static let fake = Commands(
            exit: { ["fake", "exit", String($0)] }, echo: { ["fake", "echo", $0] },
            echoStderr: { ["fake", "stderr", $0] }, run: ["fake", "run"], ignoreTerm: ["fake", "ignore-term"],
            cat: ["fake", "cat"]
        )

        /// Commands for a busybox image (sh, echo, sleep).
        public static let busybox = Commands(
            exit: { ["/bin/sh", "-c", "exit \($0)"] }, echo: { ["/bin/echo", $0] },
            echoStderr: { ["/bin/sh", "-c", "echo \"$0\" >&2", $0] },
            run: ["/bin/sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"],
            ignoreTerm: ["/bin/sleep", "3600"], cat: ["/bin/cat"]
        )
    }

    public struct Fixture: Sendable {
        public var runtime: any ContainerRuntime
        /// An image already present in the runtime's image store.
        public var image: String
        public var commands: Commands
        /// A scratch directory for log files.
        public var logDirectory: String
        /// Longest time a real runtime may take to report an exit.
        public var patience: Duration
        /// Whether stderr lines are distinguished in logs (the fake writes everything to stdout).
        public var checksStderr: Bool

        public init(runtime: any ContainerRuntime, image: String, commands: Commands, logDirectory: String, patience: Duration = .seconds(10), checksStderr: Bool = true) {
            self.runtime = runtime
            self.image = image
            self.commands = commands
            self.logDirectory = logDirectory
            self.patience = patience
            self.checksStderr = checksStderr
        }
    }

    public struct ConformanceFailure: Error, CustomStringConvertible {
        public var message: String
        public var line: Int
        public var description: String { "conformance check failed (line \(line)): \(message)" }
    }

    public enum Case: String, Sendable, CaseIterable, CustomStringConvertible {
        case sandboxLifecycle, unknownIDs, containerLifecycle, exitCodes, logs, stopEscalates
        case stopSandboxStopsContainers, execSync, listFilters, missingImage, removeRunningContainer
        case execStreams, execTerminal, attachStdin

        public var description: String { rawValue }
    }

    public static func run(_ testCase: Case, _ fixture: Fixture) async throws {
        switch testCase {
        case .sandboxLifecycle: try await sandboxLifecycle(fixture)
        case .unknownIDs: try await unknownIDs(fixture)
        case .containerLifecycle: try await containerLifecycle(fixture)
        case .exitCodes: try await exitCodes(fixture)
        case .logs: try await logs(fixture)
        case .stopEscalates: try await stopEscalates(fixture)
        case .stopSandboxStopsContainers: try await stopSandboxStopsContainers(fixture)
        case .execSync: try await execSync(fixture)
        case .listFilters: try await listFilters(fixture)
        case .missingImage: try await missingImage(fixture)
        case .removeRunningContainer: try await removeRunningContainer(fixture)
        case .execStreams: try await execStreams(fixture)
        case .execTerminal: try await execTerminal(fixture)
        case .attachStdin: try await attachStdin(fixture)
        }
    }

    public static func runAll(_ fixture: Fixture) async throws {
        for testCase in Case.allCases { try await run(testCase, fixture) }
    }

    // MARK: Cases

    static func sandboxLifecycle(_ f: Fixture) async throws {
        let rt = f.runtime
        let version = try await rt.version()
        try check(!version.runtimeName.isEmpty && !version.runtimeVersion.isEmpty, "version is empty: \(version)")
        let config = sandboxConfig("lifecycle", labels: ["conformance": "sandbox"])
        let id = try await rt.runPodSandbox(config)
        let status = try await rt.podSandboxStatus(id)
        try check(status.id == id && status.state == .ready, "new sandbox not ready: \(status)")
        try check(status.metadata == config.metadata, "metadata changed: \(status.metadata)")
        try check(status.networkNamespacePath != nil && status.ownsNetworkNamespace, "runtime-made netns missing: \(status)")
        let listed = try await rt.listPodSandboxes(PodSandboxFilter(labelSelector: ["conformance": "sandbox"]))
        try check(listed.map(\.id) == [id], "list by label: \(listed.map(\.id))")
        try await rt.stopPodSandbox(id, timeout: .seconds(1))
        try await rt.stopPodSandbox(id, timeout: .seconds(1))
        try check(try await rt.podSandboxStatus(id).state == .notReady, "stopped sandbox still ready")
        try await rt.removePodSandbox(id)
        try await rt.removePodSandbox(id)
        try check(try await rt.listPodSandboxes(PodSandboxFilter(id: id)).isEmpty, "removed sandbox still listed")
        try await expectCode(.notFound) { _ = try await rt.podSandboxStatus(id) }

        let hostNetwork = try await rt.runPodSandbox(sandboxConfig("hostnet", namespaces: NamespaceOptions(network: .node)))
        let hostStatus = try await rt.podSandboxStatus(hostNetwork)
        try check(hostStatus.networkNamespacePath == nil && !hostStatus.ownsNetworkNamespace, "host network sandbox has a netns: \(hostStatus)")
        try await rt.stopPodSandbox(hostNetwork, timeout: .seconds(1))
        try await rt.removePodSandbox(hostNetwork)
    }

    static func unknownIDs(_ f: Fixture) async throws {
        let rt = f.runtime
        try await expectCode(.notFound) { _ = try await rt.containerStatus("no-such-container") }
        try await expectCode(.notFound) { try await rt.startContainer("no-such-container") }
        try await expectCode(.notFound) { _ = try await rt.createContainer(in: "no-such-sandbox", ContainerConfig(name: "c", image: f.image)) }
        try await rt.stopContainer("no-such-container", timeout: .seconds(1))
        try await rt.removeContainer("no-such-container")
        try await rt.stopPodSandbox("no-such-sandbox", timeout: .seconds(1))
        try await rt.removePodSandbox("no-such-sandbox")
    }

    static func containerLifecycle(_ f: Fixture) async throws {
        try await withSandbox(f, "lifecycle") { rt, sandbox in
            let config = ContainerConfig(name: "app", attempt: 2, image: f.image, command: f.commands.run, labels: ["app": "web"])
            let id = try await rt.createContainer(in: sandbox, config)
            let created = try await rt.containerStatus(id)
            try check(created.state == .created && created.sandboxID == sandbox, "after create: \(created)")
            try check(created.metadata == ContainerMetadata(name: "app", attempt: 2), "metadata: \(created.metadata)")
            try check(created.image == f.image && created.imageRef.hasPrefix("sha256:"), "image fields: \(created.image) \(created.imageRef)")
            try check(created.startedAt == nil && created.exitCode == nil, "created container has run: \(created)")
            try await rt.startContainer(id)
            let running = try await rt.containerStatus(id)
            try check(running.state == .running && (running.pid ?? 0) > 0 && running.startedAt != nil, "after start: \(running)")
            try await expectCode(.failedPrecondition) { try await rt.startContainer(id) }
            try await rt.stopContainer(id, timeout: .seconds(5))
            let stopped = try await rt.containerStatus(id)
            try check(stopped.state == .exited && stopped.finishedAt != nil && stopped.exitCode != nil, "after stop: \(stopped)")
            try check(stopped.pid == nil, "exited container keeps a pid: \(stopped)")
            try await rt.stopContainer(id, timeout: .seconds(1))
            try await rt.removeContainer(id)
            try await expectCode(.notFound) { _ = try await rt.containerStatus(id) }
        }
    }

    static func exitCodes(_ f: Fixture) async throws {
        try await withSandbox(f, "exits") { rt, sandbox in
            for (code, reason) in [(Int32(0), TerminationReason.completed), (3, TerminationReason.error)] {
                let id = try await rt.createContainer(in: sandbox, ContainerConfig(name: "exit\(code)", image: f.image, command: f.commands.exit(code)))
                try await rt.startContainer(id)
                let status = try await waitExited(rt, id, f.patience)
                try check(status.exitCode == code && status.reason == reason, "exit \(code): \(status)")
                if let started = status.startedAt, let finished = status.finishedAt {
                    try check(finished >= started, "finished before it started: \(status)")
                } else {
                    try check(false, "missing start or finish time: \(status)")
                }
                try await rt.removeContainer(id)
            }
        }
    }

    static func logs(_ f: Fixture) async throws {
        try await withSandbox(f, "logs") { rt, sandbox in
            let path = f.logDirectory + "/logs-\(UInt32.random(in: 0 ... .max))/app/0.log"
            let id = try await rt.createContainer(in: sandbox, ContainerConfig(name: "app", image: f.image, command: f.commands.echo("hello conformance"), logPath: path))
            try await rt.startContainer(id)
            _ = try await waitExited(rt, id, f.patience)
            let records = try await waitForLog(path, count: 1, f.patience)
            try check(records.first?.stream == .stdout && records.first?.content == "hello conformance" && records.first?.partial == false, "log records: \(records)")
            try check(records.first.map { $0.timestamp.hasSuffix("Z") && $0.timestamp.count == 30 } ?? false, "timestamp format: \(records)")
            try check(try await rt.containerStatus(id).logPath == path, "status log path")
            if f.checksStderr {
                let errPath = f.logDirectory + "/logs-\(UInt32.random(in: 0 ... .max))/err/0.log"
                let errID = try await rt.createContainer(in: sandbox, ContainerConfig(name: "err", image: f.image, command: f.commands.echoStderr("oops"), logPath: errPath))
                try await rt.startContainer(errID)
                _ = try await waitExited(rt, errID, f.patience)
                let errRecords = try await waitForLog(errPath, count: 1, f.patience)
                try check(errRecords.first?.stream == .stderr && errRecords.first?.content == "oops", "stderr records: \(errRecords)")
            }
        }
    }

    static func stopEscalates(_ f: Fixture) async throws {
        try await withSandbox(f, "stop") { rt, sandbox in
            let term = try await rt.createContainer(in: sandbox, ContainerConfig(name: "term", image: f.image, command: f.commands.run))
            let stubborn = try await rt.createContainer(in: sandbox, ContainerConfig(name: "stubborn", image: f.image, command: f.commands.ignoreTerm))
            try await rt.startContainer(term)
            try await rt.startContainer(stubborn)
            try await rt.stopContainer(term, timeout: .seconds(10))
            let termStatus = try await rt.containerStatus(term)
            try check(termStatus.state == .exited && termStatus.exitCode != 137, "TERM-handling container: \(termStatus)")
            let started = ContinuousClock.now
            try await rt.stopContainer(stubborn, timeout: .milliseconds(300))
            let stubbornStatus = try await rt.containerStatus(stubborn)
            try check(stubbornStatus.state == .exited && stubbornStatus.exitCode == 137, "SIGKILLed container: \(stubbornStatus)")
            try check(ContinuousClock.now - started < f.patience, "stop took too long")
        }
    }

    static func stopSandboxStopsContainers(_ f: Fixture) async throws {
        let rt = f.runtime
        let sandbox = try await rt.runPodSandbox(sandboxConfig("stopall"))
        let a = try await rt.createContainer(in: sandbox, ContainerConfig(name: "a", image: f.image, command: f.commands.run))
        let b = try await rt.createContainer(in: sandbox, ContainerConfig(name: "b", image: f.image, command: f.commands.ignoreTerm))
        try await rt.startContainer(a)
        try await rt.startContainer(b)
        try await rt.stopPodSandbox(sandbox, timeout: .milliseconds(300))
        for id in [a, b] {
            let status = try await rt.containerStatus(id)
            try check(status.state == .exited, "container \(id) still \(status.state) after stopPodSandbox")
        }
        try await expectCode(.failedPrecondition) {
            _ = try await rt.createContainer(in: sandbox, ContainerConfig(name: "late", image: f.image, command: f.commands.run))
        }
        try await rt.removePodSandbox(sandbox)
        try check(try await rt.listContainers(ContainerFilter(sandboxID: sandbox)).isEmpty, "containers outlive their sandbox")
    }

    static func execSync(_ f: Fixture) async throws {
        try await withSandbox(f, "exec") { rt, sandbox in
            let id = try await rt.createContainer(in: sandbox, ContainerConfig(name: "app", image: f.image, command: f.commands.run))
            try await expectCode(.failedPrecondition) { _ = try await rt.execSync(id, command: f.commands.echo("x"), timeout: .seconds(5)) }
            try await rt.startContainer(id)
            let echoed = try await rt.execSync(id, command: f.commands.echo("probe ok"), timeout: .seconds(5))
            try check(echoed.exitCode == 0 && echoed.stdoutString == "probe ok\n" && !echoed.timedOut, "exec echo: \(echoed)")
            let failed = try await rt.execSync(id, command: f.commands.exit(4), timeout: .seconds(5))
            try check(failed.exitCode == 4, "exec exit 4: \(failed)")
            try check(try await rt.containerStatus(id).state == .running, "exec stopped the container")
            try await rt.stopContainer(id, timeout: .seconds(5))
        }
    }

    static func execStreams(_ f: Fixture) async throws {
        try await withSandbox(f, "execstream") { rt, sandbox in
            let id = try await rt.createContainer(in: sandbox, ContainerConfig(name: "app", image: f.image, command: f.commands.run))
            try await expectCode(.notFound) { _ = try await rt.exec("no-such-container", ExecRequest(command: f.commands.echo("x"))) }
            try await expectCode(.failedPrecondition) { _ = try await rt.exec(id, ExecRequest(command: f.commands.echo("x"))) }
            try await rt.startContainer(id)
            try await expectCode(.invalidArgument) { _ = try await rt.exec(id, ExecRequest(command: [])) }

            let echo = try await collect(try await rt.exec(id, ExecRequest(command: f.commands.echo("streamed hello"))))
            try check(echo.stdout == "streamed hello\n" && echo.stderr.isEmpty && echo.code == 0, "exec echo: \(echo)")
            let failing = try await collect(try await rt.exec(id, ExecRequest(command: f.commands.exit(3))))
            try check(failing.code == 3 && failing.stdout.isEmpty, "exec exit 3: \(failing)")
            let toStderr = try await collect(try await rt.exec(id, ExecRequest(command: f.commands.echoStderr("to stderr"))))
            try check(toStderr.stderr == "to stderr\n" && toStderr.stdout.isEmpty && toStderr.code == 0, "exec stderr: \(toStderr)")

            // stdin: what is written comes back from cat; closing stdin ends it.
            let cat = try await rt.exec(id, ExecRequest(command: f.commands.cat, stdin: true))
            try await cat.writeStdin(Array("line one\n".utf8))
            var iterator = cat.stdout.makeAsyncIterator()
            var echoed: [UInt8] = []
            while echoed.count < 9, let chunk = await iterator.next() { echoed += chunk }
            try check(String(decoding: echoed, as: UTF8.self) == "line one\n", "cat echoed \(String(decoding: echoed, as: UTF8.self))")
            try await cat.writeStdin(Array("line two\n".utf8))
            await cat.closeStdin()
            while let chunk = await iterator.next() { echoed += chunk }
            try check(String(decoding: echoed, as: UTF8.self) == "line one\nline two\n", "cat output \(String(decoding: echoed, as: UTF8.self))")
            try check(await cat.wait() == 0, "cat exit code")

            // A process still running is killed by terminate().
            let long = try await rt.exec(id, ExecRequest(command: f.commands.ignoreTerm))
            await long.terminate()
            let code = await long.wait()
            try check(code == 137, "terminated exec exit code \(code)")
            try check(try await rt.containerStatus(id).state == .running, "exec stopped the container")
            try await rt.stopContainer(id, timeout: .seconds(5))
        }
    }

    static func execTerminal(_ f: Fixture) async throws {
        try await withSandbox(f, "exectty") { rt, sandbox in
            let id = try await rt.createContainer(in: sandbox, ContainerConfig(name: "app", image: f.image, command: f.commands.run))
            try await rt.startContainer(id)
            let session = try await rt.exec(id, ExecRequest(command: f.commands.echoStderr("on a terminal"), tty: true, stdin: true))
            await session.resize(TerminalSize(width: 100, height: 30))
            let result = try await collect(session)
            try check(result.stdout == "on a terminal\r\n" && result.stderr.isEmpty && result.code == 0, "exec tty: \(result)")
            try await rt.stopContainer(id, timeout: .seconds(5))
        }
    }

    static func attachStdin(_ f: Fixture) async throws {
        try await withSandbox(f, "attach") { rt, sandbox in
            let path = f.logDirectory + "/attach-\(UInt32.random(in: 0 ... .max))/app/0.log"
            let id = try await rt.createContainer(in: sandbox, ContainerConfig(name: "app", image: f.image, command: f.commands.cat, logPath: path,
                                                                               stdin: true, stdinOnce: true))
            try await expectCode(.failedPrecondition) { _ = try await rt.attachStdin(id) }
            try await rt.startContainer(id)
            let input = try await rt.attachStdin(id)
            try await input.write(Array("attached line\n".utf8))
            let records = try await waitForLog(path, count: 1, f.patience)
            try check(records.first?.content == "attached line", "log after attach: \(records)")
            // stdinOnce: closing the session's stdin ends cat.
            await input.close()
            let status = try await waitExited(rt, id, f.patience)
            try check(status.exitCode == 0, "cat after stdin closed: \(status)")

            let noStdin = try await rt.createContainer(in: sandbox, ContainerConfig(name: "plain", image: f.image, command: f.commands.run))
            try await rt.startContainer(noStdin)
            try await expectCode(.failedPrecondition) { _ = try await rt.attachStdin(noStdin) }
            try await expectCode(.notFound) { _ = try await rt.attachStdin("no-such-container") }
            try await rt.stopContainer(noStdin, timeout: .seconds(5))
        }
    }

    /// Reads both streams to their end and waits for the exit code.
    static func collect(_ session: any ExecSession) async throws -> (stdout: String, stderr: String, code: Int32) {
        async let out = session.stdout.reduce(into: [UInt8]()) { $0 += $1 }
        async let err = session.stderr.reduce(into: [UInt8]()) { $0 += $1 }
        let code = await session.wait()
        return (String(decoding: await out, as: UTF8.self), String(decoding: await err, as: UTF8.self), code)
    }

    static func listFilters(_ f: Fixture) async throws {
        try await withSandbox(f, "list") { rt, sandbox in
            let running = try await rt.createContainer(in: sandbox, ContainerConfig(name: "r", image: f.image, command: f.commands.run, labels: ["role": "server"]))
            let created = try await rt.createContainer(in: sandbox, ContainerConfig(name: "c", image: f.image, command: f.commands.run, labels: ["role": "idle"]))
            try await rt.startContainer(running)
            let all = try await rt.listContainers(ContainerFilter(sandboxID: sandbox))
            try check(Set(all.map(\.id)) == [running, created], "by sandbox: \(all.map(\.id))")
            let byState = try await rt.listContainers(ContainerFilter(sandboxID: sandbox, state: .running))
            try check(byState.map(\.id) == [running], "by state: \(byState.map(\.id))")
            let byLabel = try await rt.listContainers(ContainerFilter(labelSelector: ["role": "idle"]))
            try check(byLabel.map(\.id) == [created], "by label: \(byLabel.map(\.id))")
            let byID = try await rt.listContainers(ContainerFilter(id: created))
            try check(byID.map(\.id) == [created], "by id: \(byID.map(\.id))")
            try await rt.stopContainer(running, timeout: .seconds(5))
        }
    }

    static func missingImage(_ f: Fixture) async throws {
        try await withSandbox(f, "noimage") { rt, sandbox in
            try await expectCode(.imageNotFound) {
                _ = try await rt.createContainer(in: sandbox, ContainerConfig(name: "x", image: "example.invalid/none/such:1"))
            }
        }
    }

    static func removeRunningContainer(_ f: Fixture) async throws {
        try await withSandbox(f, "rmrunning") { rt, sandbox in
            let id = try await rt.createContainer(in: sandbox, ContainerConfig(name: "app", image: f.image, command: f.commands.ignoreTerm))
            try await rt.startContainer(id)
            try await rt.removeContainer(id)
            try await expectCode(.notFound) { _ = try await rt.containerStatus(id) }
        }
    }

    // MARK: Support

    static func sandboxConfig(_ name: String, labels: [String: String] = [:], namespaces: NamespaceOptions = NamespaceOptions()) -> PodSandboxConfig {
        PodSandboxConfig(
            metadata: PodSandboxMetadata(name: "conformance-\(name)", namespace: "default", uid: UUID().uuidString.lowercased()),
            hostname: name, namespaces: namespaces, labels: labels
        )
    }

    static func withSandbox(_ f: Fixture, _ name: String, _ body: (any ContainerRuntime, String) async throws -> Void) async throws {
        let rt = f.runtime
        let sandbox = try await rt.runPodSandbox(sandboxConfig(name))
        do {
            try await body(rt, sandbox)
        } catch {
            try? await rt.stopPodSandbox(sandbox, timeout: .zero)
            try? await rt.removePodSandbox(sandbox)
            throw error
        }
        try await rt.stopPodSandbox(sandbox, timeout: .zero)
        try await rt.removePodSandbox(sandbox)
    }

    static func check(_ condition: Bool, _ message: @autoclosure () -> String, line: Int = #line) throws {
        if !condition { throw ConformanceFailure(message: message(), line: line) }
    }

    static func expectCode(_ code: RuntimeError.Code, line: Int = #line, _ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let error as RuntimeError {
            try check(error.code == code, "expected \(code), got \(error)", line: line)
            return
        }
        throw ConformanceFailure(message: "expected error \(code), got success", line: line)
    }

    public static func waitExited(_ rt: any ContainerRuntime, _ id: String, _ patience: Duration) async throws -> ContainerStatus {
        let deadline = ContinuousClock.now + patience
        while true {
            let status = try await rt.containerStatus(id)
            if status.state == .exited { return status }
            if ContinuousClock.now > deadline { throw ConformanceFailure(message: "container \(id) did not exit: \(status)", line: #line) }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    public static func waitForLog(_ path: String, count: Int, _ patience: Duration) async throws -> [CRILog.Record] {
        let deadline = ContinuousClock.now + patience
        while true {
            let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
            let records = text.split(separator: "\n").compactMap(CRILog.parse)
            if records.count >= count { return records }
            if ContinuousClock.now > deadline { throw ConformanceFailure(message: "log \(path) has \(records.count) records: \(text)", line: #line) }
            try await Task.sleep(for: .milliseconds(10))
        }
    }
}
