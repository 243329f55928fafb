import CapstanContainerRuntime

/// An attach to a container's main process seen as an ``ExecSession``, so the SPDY handler
/// serves attach as it serves exec: stdout is the container's output from now on (its log,
/// followed), stdin goes to the container's stdin when it has one, and `wait()` is the
/// container's exit code once its output ends. Terminating only lets go of stdin: the
/// container is not the session's to stop.
final class AttachSession: ExecSession {
    let stdout: AsyncStream<[UInt8]>
    let stderr = AsyncStream<[UInt8]> { $0.finish() }
    private let input: (any ContainerInput)?
    private let exitCode: @Sendable () async -> Int32?

    /// The followed log's iterator; only the one reader of `stdout` advances it.
    private final class Lines: @unchecked Sendable {
        var iterator: AsyncThrowingStream<String, any Error>.AsyncIterator
        init(_ stream: AsyncThrowingStream<String, any Error>) { iterator = stream.makeAsyncIterator() }
        func next() async -> [UInt8]? { (try? await iterator.next()).flatMap { $0.map { Array($0.utf8) } } }
    }

    init(output: AsyncThrowingStream<String, any Error>, input: (any ContainerInput)?,
         exitCode: @escaping @Sendable () async -> Int32?) {
        let lines = Lines(output)
        stdout = AsyncStream(unfolding: { await lines.next() })
        self.input = input
        self.exitCode = exitCode
    }

    func writeStdin(_ bytes: [UInt8]) async throws {
        guard let input else { throw RuntimeError(.failedPrecondition, "the container was not attached with stdin") }
        try await input.write(bytes)
    }

    func closeStdin() async { await input?.close() }

    func resize(_ size: TerminalSize) async {}

    func wait() async -> Int32 { await exitCode() ?? 0 }

    func terminate() async { await input?.close() }
}
