import CapstanContainerRuntime
import Foundation
#if canImport(Glibc)
import Glibc
#endif

extension OCIRuntime {
    public func startContainer(_ id: String) async throws {
        let container: Container = try state.withLock { state throws(RuntimeError) in
            guard var container = state.containers[id] else { throw RuntimeError(.notFound, "container \(id) not found") }
            guard container.status.state == .created, !container.starting else {
                throw RuntimeError(.failedPrecondition, "container \(id) is \(container.status.state.rawValue), not created")
            }
            container.starting = true
            state.containers[id] = container
            return container
        }
        let bundle = container.bundle
        if let logPath = container.config.logPath {
            try? FileManager.default.createDirectory(atPath: (logPath as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        }
        let out: Pipe2
        let err: Pipe2
        let input: Pipe2?
        do {
            out = try Pipe2()
            err = try Pipe2()
            input = container.config.stdin ? try Pipe2() : nil
        } catch {
            markStartFailed(id, message: "\(error)")
            throw RuntimeError(.startFailed, "\(error)")
        }
        let logsDone = LogCompletion(streams: 2)
        let logFile = container.config.logPath.map {
            ContainerLogFile(path: $0, maxSize: configuration.containerLogMaxSize, maxFiles: configuration.containerLogMaxFiles)
        }
        PipeReader.log(out.read, stream: .stdout, file: logFile) { logsDone.finished() }
        PipeReader.log(err.read, stream: .stderr, file: logFile) { logsDone.finished() }
        let runtimeLog = bundle + "/runtime.log"
        let create = runtimeCommand(["--log", runtimeLog, "--log-format", "json", "create", "--bundle", bundle, "--pid-file", bundle + "/pid", id])
        var createStatus: Int32 = -1
        var spawnError: String?
        do {
            let pid = try Subprocess.spawn(create, stdin: input?.read ?? -1, stdout: out.write, stderr: err.write)
            out.closeWrite()
            err.closeWrite()
            if let input { close(input.read) }
            createStatus = await Subprocess.wait(pid)
        } catch {
            out.closeWrite()
            err.closeWrite()
            if let input { close(input.read) }
            spawnError = "\(error)"
        }
        guard createStatus == 0, let pidText = try? String(contentsOfFile: bundle + "/pid", encoding: .utf8),
              let pid = Int32(pidText.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 0 else {
            let message = spawnError ?? Self.runtimeError(runtimeLog) ?? "\(configuration.runtimeBinary) create failed with status \(createStatus)"
            _ = try? await Subprocess.run(runtimeCommand(["delete", "--force", id]))
            if let input { close(input.write) }
            markStartFailed(id, message: message)
            throw RuntimeError(.startFailed, message)
        }
        state.withLock { state in
            state.containers[id]?.status.state = .running
            state.containers[id]?.status.pid = pid
            state.containers[id]?.status.startedAt = Date()
            state.containers[id]?.starting = false
            state.containers[id]?.stdin = input.map { FDWriter($0.write) }
        }
        Task { await self.reap(id, pid: pid, cgroupsPath: container.cgroupsPath, logs: logsDone) }
        let start = try? await Subprocess.run(runtimeCommand(["--log", runtimeLog, "--log-format", "json", "start", id]))
        if start?.status != 0 {
            let message = Self.runtimeError(runtimeLog) ?? start?.stderrText ?? "\(configuration.runtimeBinary) start failed"
            kill(pid, SIGKILL)
            await waitForExit(id, timeout: .seconds(10))
            state.withLock { state in
                state.containers[id]?.status.reason = "StartError"
                state.containers[id]?.status.message = message
            }
            throw RuntimeError(.startFailed, message)
        }
    }

    public func stopContainer(_ id: String, timeout: Duration) async throws {
        guard let (pid, signal) = state.withLock({ state -> (Int32, Int32)? in
            guard let container = state.containers[id], container.status.state == .running, let pid = container.status.pid else { return nil }
            return (pid, container.stopSignal)
        }) else { return }
        if timeout > .zero {
            kill(pid, signal)
            if await waitForExit(id, timeout: timeout) { return }
        }
        kill(pid, SIGKILL)
        guard await waitForExit(id, timeout: .seconds(30)) else {
            throw RuntimeError(.timeout, "container \(id) did not exit after SIGKILL")
        }
    }

    public func removeContainer(_ id: String) async throws {
        guard let container = state.withLock({ $0.containers[id] }) else { return }
        if container.status.state == .running {
            try await stopContainer(id, timeout: .zero)
        }
        HostOps.unmount(container.bundle + "/rootfs")
        try? FileManager.default.removeItem(atPath: container.bundle)
        state.withLock { state in
            state.containers[id] = nil
            state.sandboxes[container.status.sandboxID]?.containers.remove(id)
        }
    }

    public func execSync(_ id: String, command: [String], timeout: Duration) async throws -> ExecResult {
        guard let container = state.withLock({ $0.containers[id] }) else { throw RuntimeError(.notFound, "container \(id) not found") }
        guard container.status.state == .running else { throw RuntimeError(.failedPrecondition, "container \(id) is not running") }
        guard !command.isEmpty else { throw RuntimeError(.invalidArgument, "exec needs a command") }
        let pidFile = container.bundle + "/exec-\(UInt32.random(in: 0 ... .max)).pid"
        let runtimeLog = pidFile + ".log"
        defer {
            try? FileManager.default.removeItem(atPath: pidFile)
            try? FileManager.default.removeItem(atPath: runtimeLog)
        }
        let out = try Pipe2()
        let err = try Pipe2()
        // Detached: the runtime returns once the process runs, and the process (reparented to
        // this subreaper) is waited for here. A foreground `exec` would also wait for every
        // background child the command leaves behind.
        let launch = runtimeCommand(["--log", runtimeLog, "--log-format", "json", "exec", "--detach", "--pid-file", pidFile, id] + command)
        let launchStatus: Int32
        do {
            let runtimePID = try Subprocess.spawn(launch, stdout: out.write, stderr: err.write)
            out.closeWrite()
            err.closeWrite()
            launchStatus = await Subprocess.wait(runtimePID)
        } catch {
            out.closeBoth()
            err.closeBoth()
            throw RuntimeError(.internalError, "exec in \(id): \(error)")
        }
        let control = ReadControl()
        async let stdout = PipeReader.collect(out.read, limit: 1 << 20, control: control)
        async let stderr = PipeReader.collect(err.read, limit: 1 << 20, control: control)
        guard launchStatus == 0, let text = try? String(contentsOfFile: pidFile, encoding: .utf8),
              let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 0 else {
            control.abandon()
            let message = Self.runtimeError(runtimeLog) ?? "\(configuration.runtimeBinary) exec failed"
            _ = await (stdout, stderr)
            return ExecResult(exitCode: 126, stderr: Array(message.utf8))
        }
        let status = await withTaskGroup(of: Int32?.self) { group in
            group.addTask { await Subprocess.wait(pid) }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            guard let first = await group.next() else { return Int32(-1) }
            if let status = first {
                group.cancelAll()
                return status
            }
            kill(pid, SIGKILL)
            while let next = await group.next() {
                if next != nil { break }
            }
            return Int32(-1)
        }
        // Children the command left behind may hold the pipes open: stop reading soon after it ended.
        Task {
            try? await Task.sleep(for: .milliseconds(500))
            control.abandon()
        }
        let timedOut = status == -1
        return ExecResult(
            exitCode: timedOut ? 137 : Subprocess.exitCode(fromWaitStatus: status),
            stdout: await stdout, stderr: await stderr, timedOut: timedOut
        )
    }

    // MARK: Exit handling

    /// Waits for the container's init, then records how it ended and releases its runtime state.
    func reap(_ id: String, pid: Int32, cgroupsPath: String, logs: LogCompletion) async {
        let status = await Subprocess.wait(pid)
        let oomKilled = HostOps.sawOOMKill(cgroupsPath: cgroupsPath)
        _ = try? await Subprocess.run(runtimeCommand(["delete", "--force", id]))
        await logs.wait(timeout: .seconds(2))
        let code = Subprocess.exitCode(fromWaitStatus: status)
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            guard var container = state.containers[id] else { return [] }
            container.status.state = .exited
            container.status.exitCode = code
            if container.status.reason == nil { container.status.reason = TerminationReason.forExit(code: code, oomKilled: oomKilled) }
            container.status.finishedAt = Date()
            container.status.pid = nil
            container.stdin?.close()
            container.stdin = nil
            let waiters = Array(container.exitWaiters.values)
            container.exitWaiters.removeAll()
            state.containers[id] = container
            return waiters
        }
        waiters.forEach { $0.resume() }
    }

    private func markStartFailed(_ id: String, message: String) {
        let now = Date()
        state.withLock { state in
            guard var container = state.containers[id] else { return }
            container.starting = false
            container.status.state = .exited
            container.status.exitCode = 128
            container.status.reason = "StartError"
            container.status.message = message
            container.status.startedAt = now
            container.status.finishedAt = now
            state.containers[id] = container
        }
    }

    /// True once the container has exited (false after `timeout`, or when it is unknown).
    @discardableResult
    func waitForExit(_ id: String, timeout: Duration) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask { await self.exited(id) }
            group.addTask {
                do {
                    try await Task.sleep(for: timeout)
                } catch {}
                return false
            }
            let result = await group.next() ?? false
            group.cancelAll()
            return result
        }
    }

    private func exited(_ id: String) async -> Bool {
        let key = state.withLock { state -> Int in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    guard let container = state.containers[id], container.status.state != .exited, !Task.isCancelled else { return true }
                    state.containers[id]?.exitWaiters[key] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let continuation = state.withLock { $0.containers[id]?.exitWaiters.removeValue(forKey: key) }
            continuation?.resume()
        }
        return state.withLock { $0.containers[id]?.status.state == .exited }
    }

    /// The last error message in the OCI runtime's JSON log.
    static func runtimeError(_ path: String) -> String? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        struct Entry: Decodable { var level: String?; var msg: String? }
        let messages = text.split(separator: "\n").compactMap { line -> String? in
            guard let entry = try? JSONDecoder().decode(Entry.self, from: Data(line.utf8)), entry.level == "error" else { return nil }
            return entry.msg
        }
        return messages.last
    }
}

/// Counts finished log streams so exit handling can wait until the log file is complete.
final class LogCompletion: Sendable {
    private struct State {
        var remaining: Int
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state: Mutex<State>

    init(streams: Int) { state = Mutex(State(remaining: streams)) }

    func finished() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.remaining -= 1
            guard state.remaining <= 0 else { return [] }
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        waiters.forEach { $0.resume() }
    }

    func wait(timeout: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withCheckedContinuation { continuation in
                    let done = self.state.withLock { state -> Bool in
                        if state.remaining <= 0 { return true }
                        state.waiters.append(continuation)
                        return false
                    }
                    if done { continuation.resume() }
                }
            }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
            // The log waiter cannot be cancelled; release it so the group can end.
            let pending = self.state.withLock { state -> [CheckedContinuation<Void, Never>] in
                defer { state.waiters.removeAll() }
                return state.waiters
            }
            pending.forEach { $0.resume() }
        }
    }
}


import Synchronization
