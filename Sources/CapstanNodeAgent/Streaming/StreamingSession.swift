import CapstanContainerRuntime
import CapstanHTTPUpgrade

/// One exec or attach over an upgraded WebSocket connection: the client's messages go to the
/// process (stdin, close-stdin, resize), its output comes back on the stdout/stderr channels,
/// and the session ends with the status on the error channel and a close frame. The framing
/// and messages are ``RemoteCommand`` and ``WebSocketFrame`` (pure); this is the IO around them.
struct StreamingSession: Sendable {
    let connection: RawConnection
    let streamProtocol: RemoteCommand.StreamProtocol
    let options: RemoteCommand.Options

    /// Runs an exec session to its end: the process exits (its status is sent) or the client
    /// goes away (the process is killed).
    func runExec(_ session: any ExecSession) async {
        enum Ended { case client, process }
        await withTaskGroup(of: Ended.self) { group in
            group.addTask {
                await readClient { message in
                    switch message {
                    case .stdin(let data): if options.stdin, !data.isEmpty { try? await session.writeStdin(data) }
                    case .closeStdin: await session.closeStdin()
                    case .resize(let size): await session.resize(size)
                    case .ignored: break
                    }
                }
                return .client
            }
            group.addTask {
                async let out: Void = forward(session.stdout, to: .stdout, enabled: options.stdout)
                async let err: Void = forward(session.stderr, to: .stderr, enabled: options.stderr)
                _ = await (out, err)
                let code = await session.wait()
                await finish(status: RemoteCommand.exitStatus(code, protocol: streamProtocol))
                return .process
            }
            if await group.next() == .client { await session.terminate() }
            group.cancelAll()
        }
    }

    /// Runs an attach session: `output` (the container's output from now on) is sent on
    /// stdout until it ends (the container exited: `exitCode()` gives the status) or the
    /// client goes away. The client's stdin goes to `input` (the container's stdin, when it
    /// has one and the client asked for it), which is closed when the session ends.
    func runAttach(_ output: AsyncThrowingStream<String, any Error>, input: (any ContainerInput)?,
                   exitCode: @escaping @Sendable () async -> Int32?) async {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                await readClient { message in
                    switch message {
                    case .stdin(let data): if !data.isEmpty { try? await input?.write(data) }
                    case .closeStdin: await input?.close()
                    case .resize, .ignored: break
                    }
                }
                return false
            }
            group.addTask {
                do {
                    for try await line in output where options.stdout || options.stderr {
                        try await send(RemoteCommand.frame(.stdout, Array(line.utf8), protocol: streamProtocol))
                    }
                } catch {}
                await finish(status: RemoteCommand.exitStatus(await exitCode() ?? 0, protocol: streamProtocol))
                return true
            }
            _ = await group.next()
            group.cancelAll()
        }
        await input?.close()
    }

    /// Sends a failure status (the command could not be started) and closes.
    func fail(_ message: String) async {
        await finish(status: RemoteCommand.failureStatus(message, protocol: streamProtocol))
    }

    // MARK: IO

    private func send(_ frame: WebSocketFrame) async throws {
        try await connection.write(frame.encoded())
    }

    private func forward(_ stream: AsyncStream<[UInt8]>, to channel: RemoteCommand.Channel, enabled: Bool) async {
        var failed = false
        for await chunk in stream where enabled && !failed {
            do {
                try await send(RemoteCommand.frame(channel, chunk, protocol: streamProtocol))
            } catch {
                failed = true  // keep draining so the process is not blocked on a full pipe
            }
        }
    }

    private func finish(status: [UInt8]?) async {
        if let status { try? await send(RemoteCommand.frame(.error, status, protocol: streamProtocol)) }
        try? await send(.close())
    }

    /// Reads the client's frames until it closes (or sends a close frame), answering pings and
    /// handing data messages to `handle`.
    private func readClient(_ handle: (RemoteCommand.Incoming) async -> Void) async {
        var parser = WebSocketFrameParser()
        do {
            for try await buffer in connection.inbound {
                parser.append(buffer.readableBytesView)
                while let frame = try parser.next() {
                    switch frame.opcode {
                    case .close: return
                    case .ping: try await send(WebSocketFrame(opcode: .pong, payload: frame.payload))
                    case .pong: continue
                    default: await handle(RemoteCommand.decode(frame, protocol: streamProtocol))
                    }
                }
            }
        } catch {}
    }
}
