import CapstanContainerRuntime
import Foundation

/// Finds a container's CRI log file and streams it as `kubectl logs` shows it.
struct ContainerLogSource: Sendable {
    let agent: NodeAgent

    func stream(namespace: String, pod: String, container: String, options: LogOptions) async throws(LogRequestError)
        -> AsyncThrowingStream<String, any Error> {
        guard let uid = agent.podUID(namespace: namespace, name: pod) else {
            throw LogRequestError(status: 404, "pod \"\(pod)\" in namespace \"\(namespace)\" is not running on this node")
        }
        let runs: [ContainerStatus]
        do {
            runs = try await agent.runtime.listContainers(ContainerFilter(labelSelector: [AgentLabels.podUID: uid, AgentLabels.containerName: container]))
                .sorted { ($0.metadata.attempt, $0.createdAt) > ($1.metadata.attempt, $1.createdAt) }
        } catch {
            throw LogRequestError(status: 500, "listing containers failed: \(error)")
        }
        let index = options.previous ? 1 : 0
        guard runs.count > index else {
            throw LogRequestError(status: 400, options.previous
                ? "previous terminated container \"\(container)\" in pod \"\(pod)\" not found"
                : "container \"\(container)\" in pod \"\(pod)\" is waiting to start")
        }
        let run = runs[index]
        let path = run.logPath ?? agent.configuration.logPath(namespace: namespace, name: pod, uid: uid, container: container,
                                                              attempt: run.metadata.attempt)
        let follow = options.follow && !options.previous && run.state == .running
        let runtime = agent.runtime
        let now = agent.configuration.clock.now()
        // What is in the file now is read before returning, so a follower (attach) sees
        // everything written after this call.
        let handle = FileHandle(forReadingAtPath: path)
        let initial = (try? handle?.readToEnd()) ?? Data()
        return AsyncThrowingStream { continuation in
            let task = Task {
                var renderer = CRILogRenderer(options: options, now: now)
                var budget = options.limitBytes ?? .max
                func emit(_ lines: [String]) -> Bool {
                    for line in lines {
                        guard budget > 0 else { return false }
                        let bytes = line.utf8.count
                        continuation.yield(bytes <= budget ? line : String(decoding: Array(line.utf8.prefix(budget)), as: UTF8.self))
                        budget -= bytes
                    }
                    return budget > 0
                }
                // A follower waits for a log file that is not there yet.
                var handle = handle
                guard handle != nil || follow else {
                    continuation.finish()
                    return
                }
                defer { try? handle?.close() }
                var text = String(decoding: initial, as: UTF8.self)
                // Only whole lines are rendered; a trailing fragment waits for more data.
                var remainder = ""
                if follow, let cut = text.lastIndex(of: "\n") {
                    remainder = String(text[text.index(after: cut)...])
                    text = String(text[...cut])
                }
                guard emit(renderer.render(text)), follow else {
                    continuation.finish()
                    return
                }
                renderer.options.tailLines = nil
                var idle = 0
                var exited = false
                while !Task.isCancelled {
                    if handle == nil { handle = FileHandle(forReadingAtPath: path) }
                    let chunk = (try? handle?.readToEnd()) ?? Data()
                    if chunk.isEmpty {
                        // After the container exited, one more read picks up its last lines.
                        if exited { break }
                        idle += 1
                        if idle % 10 == 0 {
                            let state = try? await runtime.containerStatus(run.id).state
                            if state != .running {
                                exited = true
                                continue
                            }
                        }
                        try? await Task.sleep(for: .milliseconds(100))
                        continue
                    }
                    idle = 0
                    let combined = remainder + String(decoding: chunk, as: UTF8.self)
                    guard let cut = combined.lastIndex(of: "\n") else { remainder = combined; continue }
                    remainder = String(combined[combined.index(after: cut)...])
                    if !emit(renderer.lines(combined[...cut])) { break }
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}
