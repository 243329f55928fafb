import CapstanSPDY
import NIOCore

/// The agent's side of exec/attach over SPDY (kubectl ≤1.29, and the fallback of later ones):
/// wait for the streams the request implies (each answered as it comes), start the session,
/// copy stdin/resize in and stdout/stderr out, then report the end on the error stream
/// (``RemoteCommandProtocol/errorStreamMessage(exitCode:failure:)``) and close the connection.
/// Streams not all opened within `streamTimeout` end the connection.
struct SPDYExecHandler: Sendable {
    let version: RemoteCommandProtocol
    let request: ExecRequest
    let start: ExecStarter
    let clock: AgentClock
    var streamTimeout: Duration = .seconds(30)

    func serve(_ connection: SPDYConnection) async {
        guard let streams = await gatherStreams(connection), let errorStream = streams[.error] else {
            await connection.close()
            return
        }
        let session: any ExecSession
        do {
            session = try await start(request)
        } catch {
            await finish(streams, errorStream: errorStream, message: version.errorStreamMessage(exitCode: nil, failure: "\(error)"),
                         connection: connection)
            return
        }
        var message: String?
        await withDiscardingTaskGroup { group in
            if let stdin = streams[.stdin] {
                group.addTask {
                    while let chunk = try? await stdin.read() {
                        do { try await session.writeStdin(chunk) } catch { break }
                    }
                    await session.closeStdin()
                }
            }
            if let resize = streams[.resize] {
                group.addTask {
                    var decoder = TerminalSizeDecoder()
                    while let chunk = try? await resize.read() {
                        for size in decoder.feed(chunk.readableBytesView) { await session.resize(size) }
                    }
                }
            }
            // Output first, so everything the command wrote is out before its status.
            await withDiscardingTaskGroup { outputs in
                for (kind, output) in [(RemoteCommandProtocol.StreamType.stdout, session.stdout), (.stderr, session.stderr)] {
                    let stream = streams[kind]
                    outputs.addTask {
                        for await chunk in output { try? await stream?.write(chunk) }
                    }
                }
            }
            do {
                message = version.errorStreamMessage(exitCode: try await session.wait())
            } catch {
                message = version.errorStreamMessage(exitCode: nil, failure: "\(error)")
            }
            await finish(streams, errorStream: errorStream, message: message, connection: connection)
        }
    }

    /// The streams of the request, or nil if the client went away or was too slow.
    private func gatherStreams(_ connection: SPDYConnection) async -> [RemoteCommandProtocol.StreamType: SPDYStream]? {
        let expected = version.expectedStreams(for: request)
        return await withTaskGroup(of: [RemoteCommandProtocol.StreamType: SPDYStream]?.self) { group in
            group.addTask {
                try? await clock.sleep(for: streamTimeout)
                return nil
            }
            group.addTask {
                var streams: [RemoteCommandProtocol.StreamType: SPDYStream] = [:]
                for await stream in connection.incomingStreams {
                    guard (try? await stream.reply()) != nil else { continue }
                    guard let kind = stream.headers["streamType"].flatMap(RemoteCommandProtocol.StreamType.init(rawValue:)),
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

    private func finish(_ streams: [RemoteCommandProtocol.StreamType: SPDYStream], errorStream: SPDYStream, message: String?,
                        connection: SPDYConnection) async {
        for kind in [RemoteCommandProtocol.StreamType.stdout, .stderr] { try? await streams[kind]?.finish() }
        if let message { try? await errorStream.write(message) }
        try? await errorStream.finish()
        await connection.close()
    }
}
