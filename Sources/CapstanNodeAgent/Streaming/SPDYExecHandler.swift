import CapstanContainerRuntime
import CapstanSPDY
import NIOCore

/// The agent's side of exec/attach over SPDY (kubectl ≤1.29, and the fallback of later ones):
/// wait for the streams the request implies (each answered as it comes), start the session,
/// copy stdin/resize in and stdout/stderr out, then report the end on the error stream (the
/// same messages as ``RemoteCommand``'s error channel) and close the connection. Streams not
/// all opened within `streamTimeout` end the connection; a client that goes away before the
/// process exits takes it with it (``ExecSession/terminate()``).
struct SPDYExecHandler: Sendable {
    let streamProtocol: RemoteCommand.StreamProtocol
    let options: RemoteCommand.Options
    /// Starts the process (the runtime's exec, or an attach seen as a session).
    let start: @Sendable () async throws -> any ExecSession
    let clock: AgentClock
    var streamTimeout: Duration = .seconds(30)

    private enum Part: Sendable { case input, client, process }

    func serve(_ connection: SPDYConnection) async {
        guard let streams = await gatherStreams(connection), let errorStream = streams[.error] else {
            await connection.close()
            return
        }
        let session: any ExecSession
        do {
            session = try await start()
        } catch {
            await finish(streams, errorStream: errorStream, message: RemoteCommand.failureStatus("\(error)", protocol: streamProtocol),
                         connection: connection)
            return
        }
        await withTaskGroup(of: Part.self) { group in
            group.addTask {
                // Streams opened after the request's are refused; the end of this sequence is
                // the end of the connection.
                for await extra in connection.incomingStreams { await extra.reset(.protocolError) }
                return .client
            }
            if let stdin = streams[.stdin] {
                group.addTask {
                    while let chunk = try? await stdin.read() {
                        do { try await session.writeStdin(Array(chunk.readableBytesView)) } catch { break }
                    }
                    await session.closeStdin()
                    return .input
                }
            }
            if let resize = streams[.resize] {
                group.addTask {
                    var decoder = TerminalSizeDecoder()
                    while let chunk = try? await resize.read() {
                        for size in decoder.feed(chunk.readableBytesView) { await session.resize(size) }
                    }
                    return .input
                }
            }
            group.addTask {
                // Output first, so everything the command wrote is out before its status.
                await withDiscardingTaskGroup { outputs in
                    for (kind, output) in [(SPDYRemoteCommand.StreamType.stdout, session.stdout), (.stderr, session.stderr)] {
                        let stream = streams[kind]
                        outputs.addTask {
                            // Drained even when the client is gone, so the process never blocks on a full pipe.
                            for await chunk in output { try? await stream?.write(ByteBuffer(bytes: chunk)) }
                        }
                    }
                }
                let message = RemoteCommand.exitStatus(await session.wait(), protocol: streamProtocol)
                await finish(streams, errorStream: errorStream, message: message, connection: connection)
                return .process
            }
            for await part in group where part != .input {
                if part == .client { await session.terminate() }
                break
            }
            group.cancelAll()
        }
    }

    /// The streams of the request, or nil if the client went away or was too slow.
    private func gatherStreams(_ connection: SPDYConnection) async -> [SPDYRemoteCommand.StreamType: SPDYStream]? {
        let expected = SPDYRemoteCommand.expectedStreams(for: options, protocol: streamProtocol)
        return await withTaskGroup(of: [SPDYRemoteCommand.StreamType: SPDYStream]?.self) { group in
            group.addTask {
                try? await clock.sleep(for: streamTimeout)
                return nil
            }
            group.addTask {
                var streams: [SPDYRemoteCommand.StreamType: SPDYStream] = [:]
                for await stream in connection.incomingStreams {
                    guard (try? await stream.reply()) != nil else { continue }
                    guard let kind = stream.headers["streamType"].flatMap(SPDYRemoteCommand.StreamType.init(rawValue:)),
                          expected.contains(kind), streams[kind] == nil else {
                        await stream.reset(.protocolError)
                        continue
                    }
                    streams[kind] = stream
                    if streams.count == expected.count { return streams }
                }
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            if first == nil {
                // Timed out (or the client left): ending the connection ends the other task.
                await connection.close()
            }
            return first
        }
    }

    private func finish(_ streams: [SPDYRemoteCommand.StreamType: SPDYStream], errorStream: SPDYStream, message: [UInt8]?,
                        connection: SPDYConnection) async {
        for kind in [SPDYRemoteCommand.StreamType.stdout, .stderr] { try? await streams[kind]?.finish() }
        if let message { try? await errorStream.write(ByteBuffer(bytes: message)) }
        try? await errorStream.finish()
        await connection.close()
    }
}
