import CapstanContainerRuntime
import CapstanHTTPUpgrade
import NIOHTTP1

/// Exec, attach and port-forward for the agent's server: finds the running container (or the
/// pod), answers the upgrade the client asked for (``StreamUpgrade``: WebSocket channels or
/// SPDY for exec/attach, raw or WebSocket-tunnelled SPDY for port-forward) and runs the
/// session. Errors found before the upgrade are HTTP errors (the API server relays them);
/// errors after it go on the error channel or stream.
struct ContainerStreams: Sendable {
    let agent: NodeAgent

    enum Kind: String, Sendable { case exec, attach }

    /// A session could not start (exec failed, or the container's log cannot be followed).
    private struct StartFailure: Error, CustomStringConvertible {
        var description: String
    }

    /// An upgrade handler for `/exec|attach/NS/POD/CONTAINER?query`, or the error to answer.
    func upgrade(_ kind: Kind, namespace: String, pod: String, container: String, query: String,
                 headers: HTTPHeaders) async throws(LogRequestError) -> @Sendable (RawConnection) async throws -> Void {
        let upgrade = try StreamUpgrade.negotiate(portForward: false, headers: headers)
        let options: RemoteCommand.Options
        do {
            options = try RemoteCommand.Options(query: query, requireCommand: kind == .exec)
        } catch {
            throw LogRequestError(status: 400, error.description)
        }
        let target = try await runningContainer(namespace: namespace, pod: pod, container: container)
        let runtime = agent.runtime
        let logs = ContainerLogSource(agent: agent)
        let clock = agent.configuration.clock
        // The container's output from now on, until it exits (then its exit code).
        let follow: @Sendable () async throws -> AsyncThrowingStream<String, any Error> = {
            var options = LogOptions()
            options.follow = true
            options.tailLines = 0
            do {
                return try await logs.stream(namespace: namespace, pod: pod, container: container, options: options)
            } catch {
                throw StartFailure(description: "cannot attach to container \(container): \(error)")
            }
        }
        let exitCode: @Sendable () async -> Int32? = {
            // The output ends when the container exits (or has no log to follow): the
            // session ends with its exit code once it has one.
            // A session whose client left is cancelled: it stops polling (no status is sent).
            while let status = try? await runtime.containerStatus(target.id), status.state == .running {
                do { try await Task.sleep(for: .milliseconds(100)) } catch { return nil }
            }
            return try? await runtime.containerStatus(target.id).exitCode
        }
        let exec: @Sendable () async throws -> any ExecSession = {
            do {
                return try await runtime.exec(target.id, ExecRequest(command: options.command, tty: options.tty, stdin: options.stdin))
            } catch {
                throw StartFailure(description: "cannot exec in container \(container): \(error)")
            }
        }
        return { @Sendable (connection: RawConnection) async throws -> Void in
            try await connection.writeResponseHead(status: .switchingProtocols, headers: upgrade.responseHeaders)
            switch upgrade {
            case .webSocketChannels(_, let streamProtocol, _):
                let session = StreamingSession(connection: connection, streamProtocol: streamProtocol, options: options)
                switch kind {
                case .exec:
                    let process: any ExecSession
                    do {
                        process = try await exec()
                    } catch {
                        await session.fail("\(error)")
                        return
                    }
                    await session.runExec(process)
                case .attach:
                    let output: AsyncThrowingStream<String, any Error>
                    do {
                        output = try await follow()
                    } catch {
                        await session.fail("\(error)")
                        return
                    }
                    // A container without stdin is attached to for its output only (as kubelet does).
                    let input = options.stdin ? try? await runtime.attachStdin(target.id) : nil
                    await session.runAttach(output, input: input, exitCode: exitCode)
                }
            case .spdyRemoteCommand(let version):
                let attach: @Sendable () async throws -> any ExecSession = {
                    let output = try await follow()
                    let input: (any ContainerInput)? = options.stdin ? try? await runtime.attachStdin(target.id) : nil
                    return AttachSession(output: output, input: input, exitCode: exitCode)
                }
                let handler = SPDYExecHandler(streamProtocol: version, options: options, start: kind == .exec ? exec : attach, clock: clock)
                await Self.serveSPDY(connection, handler.serve)
            case .spdyPortForward, .webSocketPortForward:
                return  // not negotiated for exec/attach
            }
        }
    }

    /// An upgrade handler for `/portforward/NS/POD`, or the error to answer. Each forwarded
    /// connection dials the pod's IP; a pod without one fails on the pair's error stream.
    func portForward(namespace: String, pod: String, headers: HTTPHeaders) async throws(LogRequestError)
        -> @Sendable (RawConnection) async throws -> Void {
        let upgrade = try StreamUpgrade.negotiate(portForward: true, headers: headers)
        guard agent.podUID(namespace: namespace, name: pod) != nil else {
            throw LogRequestError(status: 404, "pod \"\(pod)\" in namespace \"\(namespace)\" is not running on this node")
        }
        let agent = self.agent
        let handler = PortForwardHandler(pod: "\(namespace)/\(pod)", dial: { port in
            guard let address = await agent.podAddress(namespace: namespace, name: pod) else {
                throw StartFailure(description: "pod has no IP address on this node")
            }
            return try await PortForwardHandler.dialTCP(host: address)(port)
        }, clock: agent.configuration.clock)
        return { @Sendable (connection: RawConnection) async throws -> Void in
            try await connection.writeResponseHead(status: .switchingProtocols, headers: upgrade.responseHeaders)
            if case .webSocketPortForward = upgrade {
                let spdy = SPDYConnection(role: .server)
                async let served: Void = handler.serve(spdy)
                try? await WebSocketTunnel.run(spdy, over: connection, role: .server)
                await served
            } else {
                await Self.serveSPDY(connection, handler.serve)
            }
        }
    }

    /// Runs a server-side SPDY session on an upgraded connection with `serve` as its owner.
    static func serveSPDY(_ connection: RawConnection, _ serve: @escaping @Sendable (SPDYConnection) async -> Void) async {
        let spdy = SPDYConnection(role: .server)
        async let served: Void = serve(spdy)
        try? await spdy.run(inbound: connection.inbound, write: { try await connection.write($0) })
        await served
    }

    /// The newest run of the container, which must be running.
    func runningContainer(namespace: String, pod: String, container: String) async throws(LogRequestError) -> ContainerStatus {
        guard let uid = agent.podUID(namespace: namespace, name: pod) else {
            throw LogRequestError(status: 404, "pod \"\(pod)\" in namespace \"\(namespace)\" is not running on this node")
        }
        let runs: [ContainerStatus]
        do {
            runs = try await agent.runtime.listContainers(ContainerFilter(labelSelector: [AgentLabels.podUID: uid, AgentLabels.containerName: container]))
        } catch {
            throw LogRequestError(status: 500, "listing containers failed: \(error)")
        }
        guard let newest = runs.max(by: { ($0.metadata.attempt, $0.createdAt) < ($1.metadata.attempt, $1.createdAt) }) else {
            throw LogRequestError(status: 404, "container \"\(container)\" not found in pod \"\(pod)\"")
        }
        guard newest.state == .running else {
            throw LogRequestError(status: 400, "container \"\(container)\" in pod \"\(pod)\" is not running")
        }
        return newest
    }
}
