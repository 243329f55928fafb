import CapstanContainerRuntime
import Foundation
#if canImport(Glibc)
import Glibc
#endif

extension OCIRuntime {
    /// `runc exec --detach` with pipes (or, for a terminal, `--tty --console-socket` and the
    /// pty master received over it); the process is reparented to this subreaper and waited
    /// for by its session.
    public func exec(_ id: String, _ request: ExecRequest) async throws -> any ExecSession {
        guard let container = state.withLock({ $0.containers[id] }) else { throw RuntimeError(.notFound, "container \(id) not found") }
        guard container.status.state == .running else { throw RuntimeError(.failedPrecondition, "container \(id) is not running") }
        guard !request.command.isEmpty else { throw RuntimeError(.invalidArgument, "exec needs a command") }
        let name = "exec-\(UInt32.random(in: 0 ... .max))"
        let pidFile = container.bundle + "/\(name).pid"
        let runtimeLog = pidFile + ".log"
        defer {
            try? FileManager.default.removeItem(atPath: pidFile)
            try? FileManager.default.removeItem(atPath: runtimeLog)
        }
        let common = ["--log", runtimeLog, "--log-format", "json", "exec", "--detach", "--pid-file", pidFile]
        if request.tty {
            return try await execTerminal(id, request, arguments: common, pidFile: pidFile, runtimeLog: runtimeLog, name: name)
        }
        let input = request.stdin ? try Pipe2() : nil
        let out = try Pipe2()
        let err = try Pipe2()
        let launch = runtimeCommand(common + [id] + request.command)
        let launchStatus: Int32
        do {
            let runtimePID = try Subprocess.spawn(launch, stdin: input?.read ?? -1, stdout: out.write, stderr: err.write)
            close(input?.read ?? -1)
            out.closeWrite()
            err.closeWrite()
            launchStatus = await Subprocess.wait(runtimePID)
        } catch {
            input?.closeBoth()
            out.closeBoth()
            err.closeBoth()
            throw RuntimeError(.internalError, "exec in \(id): \(error)")
        }
        guard launchStatus == 0, let pid = Self.readPID(pidFile) else {
            if let input { close(input.write) }
            close(out.read)
            close(err.read)
            return FailedExecSession(message: Self.runtimeError(runtimeLog) ?? "\(configuration.runtimeBinary) exec failed")
        }
        return OCIExecSession(pid: pid, input: input?.write, output: out.read, errors: err.read, terminal: nil)
    }

    private func execTerminal(_ id: String, _ request: ExecRequest, arguments: [String], pidFile: String, runtimeLog: String,
                              name: String) async throws -> any ExecSession {
        let socket: ConsoleSocket
        do {
            socket = try ConsoleSocket(path: configuration.stateRoot + "/\(name).sock")
        } catch {
            throw RuntimeError(.internalError, "exec in \(id): \(error)")
        }
        let launch = runtimeCommand(arguments + ["--tty", "--console-socket", socket.path, id] + request.command)
        let runtimePID: pid_t
        do {
            runtimePID = try Subprocess.spawn(launch)
        } catch {
            throw RuntimeError(.internalError, "exec in \(id): \(error)")
        }
        async let master = socket.receiveMaster(timeout: .seconds(10))
        let launchStatus = await Subprocess.wait(runtimePID)
        let terminal = await master
        guard launchStatus == 0, let terminal, let pid = Self.readPID(pidFile) else {
            if let terminal { close(terminal) }
            return FailedExecSession(message: Self.runtimeError(runtimeLog) ?? "\(configuration.runtimeBinary) exec --tty failed")
        }
        let input = request.stdin ? dup(terminal) : nil
        return OCIExecSession(pid: pid, input: input, output: terminal, errors: nil, terminal: terminal)
    }

    /// A connection to the shim's stdin socket; ending it (with `stdinOnce`) closes the container's stdin.
    public func attachStdin(_ id: String) async throws -> any ContainerInput {
        let (bundle, stdinOnce) = try state.withLock { state throws(RuntimeError) -> (String, Bool) in
            guard let container = state.containers[id] else { throw RuntimeError(.notFound, "container \(id) not found") }
            guard container.status.state == .running else { throw RuntimeError(.failedPrecondition, "container \(id) is not running") }
            guard container.config.stdin else { throw RuntimeError(.failedPrecondition, "container \(id) was not created with stdin") }
            return (container.bundle, container.config.stdinOnce)
        }
        return OCIContainerInput(writer: FDWriter(try Shim.connectStdin(bundle: bundle)), stdinOnce: stdinOnce)
    }

    static func readPID(_ path: String) -> pid_t? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8),
              let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 0 else { return nil }
        return pid
    }
}

/// One attach session's connection to the container's stdin (through its shim).
final class OCIContainerInput: ContainerInput {
    let writer: FDWriter
    let stdinOnce: Bool

    init(writer: FDWriter, stdinOnce: Bool) {
        self.writer = writer
        self.stdinOnce = stdinOnce
    }

    func write(_ bytes: [UInt8]) async throws {
        try await writer.write(bytes)
    }

    /// Ends the connection: the shim then closes the container's stdin if it has `stdinOnce`,
    /// and keeps it open for the next attach otherwise.
    func close() async {
        writer.close()
    }

    deinit {
        writer.close()
    }
}
