import CapstanContainerRuntime
import CapstanHTTPUpgrade
import NIOHTTP1

/// Exec and attach for the agent's server: finds the running container, answers the
/// WebSocket upgrade and runs the ``StreamingSession``. Errors found before the upgrade are
/// HTTP errors (the API server relays them); errors after it go on the error channel.
struct ContainerStreams: Sendable {
    let agent: NodeAgent

    enum Kind: String, Sendable { case exec, attach }

    /// An upgrade handler for `/exec|attach/NS/POD/CONTAINER?query`, or the error to answer.
    func upgrade(_ kind: Kind, namespace: String, pod: String, container: String, query: String,
                 headers: HTTPHeaders) async throws(LogRequestError) -> @Sendable (RawConnection) async throws -> Void {
        guard HTTPServerUpgrade.isUpgradeRequest(headers) else { throw LogRequestError(status: 400, "Upgrade request required") }
        let upgradeTo = headers.first(name: "upgrade")?.lowercased() ?? ""
        guard upgradeTo == "websocket" else {
            throw LogRequestError(status: 400, "unsupported upgrade \"\(upgradeTo)\" (this agent streams over WebSocket)")
        }
        guard let key = headers.first(name: "sec-websocket-key"), !key.isEmpty,
              headers.first(name: "sec-websocket-version") == "13" else {
            throw LogRequestError(status: 400, "a WebSocket upgrade needs Sec-WebSocket-Key and Sec-WebSocket-Version: 13")
        }
        guard let (streamProtocol, echoed) = RemoteCommand.StreamProtocol.negotiate(headers[canonicalForm: "sec-websocket-protocol"].map(String.init)) else {
            throw LogRequestError(status: 400, "none of the offered subprotocols is supported: "
                + RemoteCommand.StreamProtocol.allCases.map(\.rawValue).joined(separator: ", "))
        }
        let options: RemoteCommand.Options
        do {
            options = try RemoteCommand.Options(query: query, requireCommand: kind == .exec)
        } catch {
            throw LogRequestError(status: 400, error.description)
        }
        let target = try await runningContainer(namespace: namespace, pod: pod, container: container)
        let responseHeaders = StreamingSession.switchingProtocolsHeaders(key: key, streamProtocol: streamProtocol, echoed: echoed)
        let runtime = agent.runtime
        let logs = ContainerLogSource(agent: agent)
        return { connection in
            try await connection.writeResponseHead(status: .switchingProtocols, headers: responseHeaders)
            let session = StreamingSession(connection: connection, streamProtocol: streamProtocol, options: options)
            switch kind {
            case .exec:
                let process: any ExecSession
                do {
                    process = try await runtime.exec(target.id, ExecRequest(command: options.command, tty: options.tty, stdin: options.stdin))
                } catch {
                    await session.fail("cannot exec in container \(container): \(error)")
                    return
                }
                await session.runExec(process)
            case .attach:
                var follow = LogOptions()
                follow.follow = true
                follow.tailLines = 0
                let output: AsyncThrowingStream<String, any Error>
                do {
                    output = try await logs.stream(namespace: namespace, pod: pod, container: container, options: follow)
                } catch {
                    await session.fail("cannot attach to container \(container): \(error)")
                    return
                }
                // A container without stdin is attached to for its output only (as kubelet does).
                let input = options.stdin ? try? await runtime.attachStdin(target.id) : nil
                await session.runAttach(output, input: input) {
                    // The output ends when the container exits (or has no log to follow): the
                    // session ends with its exit code once it has one.
                    while let status = try? await runtime.containerStatus(target.id), status.state == .running {
                        try? await Task.sleep(for: .milliseconds(100))
                    }
                    return try? await runtime.containerStatus(target.id).exitCode
                }
            }
        }
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
