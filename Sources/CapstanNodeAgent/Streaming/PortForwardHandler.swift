import CapstanSPDY
import Foundation
import NIOCore
import NIOPosix

/// The agent's side of `kubectl port-forward` over one SPDY connection (raw, or tunnelled in
/// WebSocket): every stream is answered at once, ``PortForwardCore`` pairs them, and each
/// pair's data stream is spliced to a TCP connection to the pod's port. A failed connection
/// is reported as text on the pair's error stream, as the kubelet does; the error stream is
/// half-closed once the pod side of the pair ends (or its dial failed), which is what tells the
/// client the pair is over.
struct PortForwardHandler: Sendable {
    typealias Connection = NIOAsyncChannel<ByteBuffer, ByteBuffer>

    /// "namespace/name", for messages.
    let pod: String
    /// Connects to the pod's port (the pod IP on the node's bridge, or 127.0.0.1 in its netns).
    let dial: @Sendable (UInt16) async throws -> Connection
    let clock: AgentClock
    var pairTimeout: Duration = .seconds(30)

    /// Serves the connection's streams until the client goes away.
    func serve(_ connection: SPDYConnection) async {
        let core = CoreBox(PortForwardCore(pairTimeout: pairTimeout))
        await withDiscardingTaskGroup { group in
            group.addTask {
                // Incomplete pairs expire even when no more streams come.
                while (try? await clock.sleep(for: .seconds(1))) != nil {
                    for decision in await core.expire(at: clock.now()) { _ = await perform(decision, core: core) }
                }
            }
            for await stream in connection.incomingStreams {
                do {
                    try await stream.reply()
                } catch {
                    continue
                }
                guard let decision = await core.opened(stream, at: clock.now()),
                      let (request, errorStream, dataStream) = await perform(decision, core: core) else { continue }
                group.addTask { await forward(request, errorStream: errorStream, dataStream: dataStream) }
            }
            group.cancelAll()
        }
    }

    /// Carries out a decision; a pair to forward is handed back for the caller to run.
    private func perform(_ decision: PortForwardCore.Decision, core: CoreBox) async
        -> (PortForwardCore.Request, SPDYStream, SPDYStream)? {
        switch decision {
        case .forward(let request):
            guard let errorStream = await core.take(request.errorStreamID),
                  let dataStream = await core.take(request.dataStreamID) else { return nil }
            return (request, errorStream, dataStream)
        case .reject(let streamID, _):
            await core.take(streamID)?.reset(.protocolError)
        case .fail(let errorID, let dataID, let message):
            if let id = errorID, let errorStream = await core.take(id) {
                try? await errorStream.write(message)
                try? await errorStream.finish()
                await errorStream.release()
            }
            if let id = dataID, let dataStream = await core.take(id) {
                try? await dataStream.finish()
                await dataStream.release()
            }
        }
        return nil
    }

    private func forward(_ request: PortForwardCore.Request, errorStream: SPDYStream, dataStream: SPDYStream) async {
        await copy(request, errorStream: errorStream, dataStream: dataStream)
        try? await errorStream.finish()
        await errorStream.release()
        await dataStream.release()
    }

    private func copy(_ request: PortForwardCore.Request, errorStream: SPDYStream, dataStream: SPDYStream) async {
        let target: Connection
        do {
            target = try await dial(request.port)
        } catch {
            try? await errorStream.write("error forwarding port \(request.port) to pod \(pod): \(error)")
            try? await dataStream.finish()
            return
        }
        do {
            try await target.executeThenClose { inbound, outbound in
                try await withThrowingTaskGroup(of: Void.self) { copies in
                    copies.addTask {
                        // Client to pod; the client's half-close becomes the socket's.
                        while let chunk = try await dataStream.read() { try await outbound.write(chunk) }
                        outbound.finish()
                    }
                    copies.addTask {
                        // Pod to client, then the streams' half-close: the pod closing its side
                        // ends the pair (as the kubelet does). kubectl ≤1.30 waits for the error
                        // stream's end before it closes the local connection (and so the data
                        // stream), so it is ended here, not once both directions are done.
                        for try await chunk in inbound { try await dataStream.write(chunk) }
                        try await dataStream.finish()
                        try? await errorStream.finish()
                    }
                    try await copies.waitForAll()
                }
            }
        } catch {
            // The client reset the stream or the pod's socket failed: the pair is over either way.
            await dataStream.reset(.cancel)
        }
    }

    /// TCP to `host:port`, with half-closure both ways so a half-closed stream maps onto it.
    static func dialTCP(host: String) -> @Sendable (UInt16) async throws -> Connection {
        { port in
            try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .channelOption(.allowRemoteHalfClosure, value: true)
                .connectTimeout(.seconds(10))
                .connect(host: host, port: Int(port)) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try Connection(wrappingChannelSynchronously: channel,
                                       configuration: .init(isOutboundHalfClosureEnabled: true))
                    }
                }
        }
    }
}

/// The pairing core and the streams waiting in it, shared by the accept loop and the expiry timer.
private actor CoreBox {
    private var core: PortForwardCore
    private var streams: [UInt32: SPDYStream] = [:]

    init(_ core: PortForwardCore) { self.core = core }

    func opened(_ stream: SPDYStream, at now: Date) -> PortForwardCore.Decision? {
        streams[stream.id] = stream
        return core.streamOpened(stream.id, headers: stream.headers, at: now)
    }

    func expire(at now: Date) -> [PortForwardCore.Decision] { core.expire(at: now) }

    func take(_ id: UInt32) -> SPDYStream? { streams.removeValue(forKey: id) }
}
