import CapstanContainerRuntime
import Foundation
import Synchronization
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
        // The shim runs `run --detach` (create and start in one runtime process) and answers on
        // the sync pipe (its fd 3): `ok <pid>` or `error <status>`. It holds the sealed copy of
        // the runtime's binary, when there is one, under this process's number for it.
        var arguments = [shimBinary, "--id", id, "--bundle", bundle, "--runtime", configuration.runtimeBinary, "--runtime-root", runtimeRoot,
                         "--cgroup", container.cgroupsPath]
        if let logPath = container.config.logPath {
            arguments += ["--log-path", logPath, "--log-max-size", String(configuration.containerLogMaxSize),
                          "--log-max-files", String(configuration.containerLogMaxFiles)]
        }
        if container.config.stdin { arguments += container.config.stdinOnce ? ["--stdin", "--stdin-once"] : ["--stdin"] }
        if let sealedRuntime, let file = sealedRuntime.executable {
            arguments += ["--runtime-file", file, "--runtime-fd", String(sealedRuntime.descriptor)]
        }
        let shimPID: pid_t
        let reply: String
        // The process starts while the runtime runs, and may exit before the shim answers: its
        // start time is taken first, so that it never comes after its finish.
        let launched = Date()
        do {
            let sync = try Pipe2()
            let shimLog = open(bundle + "/shim.log", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
            defer { if shimLog >= 0 { close(shimLog) } }
            do {
                shimPID = try Subprocess.spawn(arguments, stderr: shimLog, extra: [sync.write], keep: sealedRuntime.map { [$0.descriptor] } ?? [])
            } catch {
                sync.closeBoth()
                throw error
            }
            sync.closeWrite()
            reply = String(decoding: await PipeReader.collect(sync.read, limit: 256), as: UTF8.self)
        } catch {
            markStartFailed(id, message: "\(error)")
            throw RuntimeError(.startFailed, "\(error)")
        }
        let runtimeLog = bundle + "/runtime.log"
        let fields = reply.split(whereSeparator: \.isWhitespace)
        guard fields.count == 2, fields[0] == "ok", let pid = Int32(fields[1]), pid > 0 else {
            _ = await Subprocess.wait(shimPID)
            let message = Self.runtimeError(runtimeLog) ?? Shim.errors(bundle: bundle)
                ?? "\(configuration.runtimeBinary) run failed (\(reply.isEmpty ? "no answer from the shim" : reply.trimmingCharacters(in: .whitespacesAndNewlines)))"
            _ = try? await Subprocess.run(runtimeCommand(["delete", "--force", id]))
            markStartFailed(id, message: message)
            throw RuntimeError(.startFailed, message)
        }
        let process = ContainerProcess.open(pid: pid, cgroupsPath: container.cgroupsPath)
        state.withLock { state in
            state.containers[id]?.status.state = .running
            state.containers[id]?.status.pid = pid
            state.containers[id]?.process = process
            state.containers[id]?.status.startedAt = launched
            state.containers[id]?.starting = false
        }
        persistContainer(id)
        // The shim is this process's child: waiting for it also reaps it.
        Task {
            _ = await Subprocess.wait(shimPID)
            await self.shimEnded(id)
        }
    }

    public func stopContainer(_ id: String, timeout: Duration) async throws {
        guard let (process, signal) = state.withLock({ state -> (ContainerProcess?, Int32)? in
            guard let container = state.containers[id], container.status.state == .running else { return nil }
            return (container.process, container.stopSignal)
        }) else { return }
        // Without a process the init had already exited when it was to be opened: its shim reports it.
        if timeout > .zero {
            process?.signal(signal)
            if await waitForExit(id, timeout: timeout) { return }
        }
        process?.signal(SIGKILL)
        guard await waitForExit(id, timeout: .seconds(30)) else {
            throw RuntimeError(.timeout, "container \(id) did not exit after SIGKILL")
        }
    }

    public func removeContainer(_ id: String) async throws {
        guard let container = state.withLock({ $0.containers[id] }) else { return }
        if container.status.state == .running {
            try await stopContainer(id, timeout: .zero)
        }
        // Out of the state first (no record is written after that), then off the disk.
        persistence.withLock { _ in
            state.withLock { state in
                state.containers[id] = nil
                state.sandboxes[container.status.sandboxID]?.containers.remove(id)
            }
        }
        HostOps.unmount(container.bundle + "/rootfs")
        // Retried: another instance on the same state root (an agent's predecessor in tests) may
        // still write a record or an exit file into it while it goes.
        for attempt in 0 ..< 5 {
            do {
                try removeBundle(id, bundle: container.bundle)
                break
            } catch {
                guard FileManager.default.fileExists(atPath: container.bundle), attempt < 4 else { break }
                try? await Task.sleep(for: .milliseconds(20))
            }
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

    /// The container's shim ended: its exit record says how the container ended (the shim has
    /// already run `delete`). Without a record (the shim was killed) the container is deleted here.
    func shimEnded(_ id: String) async {
        guard let bundle = state.withLock({ $0.containers[id]?.bundle }) else { return }
        let exit = Shim.readExit(bundle: bundle)
        if exit == nil {
            _ = try? await Subprocess.run(runtimeCommand(["delete", "--force", id]))
        }
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>]? in
            guard var container = state.containers[id], container.status.state == .running else { return nil }
            if let exit {
                Self.recordExit(&container, exit)
            } else {
                Self.recordExit(&container, code: 255, reason: TerminationReason.error, message: Self.lostShimMessage, at: Date())
            }
            let waiters = Array(container.exitWaiters.values)
            container.exitWaiters.removeAll()
            state.containers[id] = container
            return waiters
        }
        guard let waiters else { return }
        persistContainer(id)
        waiters.forEach { $0.resume() }
    }

    /// Watches the shim of a container a previous instance started (it is not this process's child).
    func watchAdopted(_ id: String) {
        guard let bundle = state.withLock({ $0.containers[id]?.bundle }) else { return }
        Task {
            await Shim.waitForEnd(bundle: bundle)
            await self.shimEnded(id)
        }
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
        persistContainer(id)
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
