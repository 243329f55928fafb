import CapstanStorage
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import NIOCore
import Synchronization

/// The gRPC clients of an etcd cluster: one current endpoint at a time, failing over to the
/// next when a call to it fails for a transport reason, with retries for reads.
///
/// Each endpoint's client is made when first needed and thrown away when a call through it
/// fails, so a member that comes back is reconnected to at once rather than after a growing
/// connection backoff. Unary calls share one HTTP/2 connection per endpoint (many concurrent
/// streams); the watch stream has a connection of its own.
final class EtcdConnection: Sendable {
    typealias Transport = HTTP2ClientTransport.Posix
    typealias Client = GRPCClient<Transport>

    /// A client of one endpoint, as handed to one call.
    struct Handle: Sendable {
        let endpoint: Int
        /// The endpoint, or the endpoint plus the endpoint count for a stream connection.
        let slot: Int
        let id: Int
        let client: Client
    }

    private struct Entry {
        let id: Int
        let client: Client
        let task: Task<Void, Never>
    }

    private struct State {
        var current = 0
        var entries: [Int: Entry] = [:]
        var nextID = 0
        var closed = false
        /// The latest failure of each endpoint, for error messages.
        var lastErrors: [Int: String] = [:]
    }

    /// `CAPSTAN_ETCD_DEBUG=1` prints every transport failure and failover.
    static let debug = ProcessInfo.processInfo.environment["CAPSTAN_ETCD_DEBUG"] == "1"

    let endpoints: [EtcdEndpoint]
    let configuration: EtcdStorage.Configuration
    private let state = Mutex(State())

    init(configuration: EtcdStorage.Configuration) {
        self.endpoints = configuration.endpoints
        self.configuration = configuration
    }

    /// Options for unary calls: one attempt's timeout, fail fast while disconnected, no
    /// practical limit on response size (a list of many objects can be large).
    var callOptions: CallOptions {
        var options = CallOptions.defaults
        options.timeout = configuration.requestTimeout
        options.waitForReady = false
        options.maxRequestMessageBytes = 64 << 20
        options.maxResponseMessageBytes = 1 << 30
        return options
    }

    /// Options for the watch stream: no timeout.
    var streamOptions: CallOptions {
        var options = callOptions
        options.timeout = nil
        return options
    }

    /// The current endpoint's client, made if needed.
    /// - Parameter stream: for the watch stream, which has a connection of its own.
    func handle(stream: Bool = false) throws(StorageError) -> Handle {
        let result: Result<Handle, StorageError> = state.withLock { state in
            if state.closed { return .failure(EtcdStorage.closedError) }
            let index = state.current + (stream ? endpoints.count : 0)
            if let entry = state.entries[index] {
                return .success(Handle(endpoint: index % endpoints.count, slot: index, id: entry.id, client: entry.client))
            }
            do {
                let client = try makeClient(endpoints[index % endpoints.count])
                let id = state.nextID
                state.nextID += 1
                let task = Task { _ = try? await client.runConnections() }
                state.entries[index] = Entry(id: id, client: client, task: task)
                return .success(Handle(endpoint: index % endpoints.count, slot: index, id: id, client: client))
            } catch {
                let endpoint = index % endpoints.count
                state.lastErrors[endpoint] = "\(error)"
                state.current = (endpoint + 1) % endpoints.count
                return .failure(StorageError(.invalidArgument, "etcd endpoint \(endpoints[endpoint]): \(error)"))
            }
        }
        return try result.get()
    }

    /// Records that a call through `handle` failed for a transport reason: drops its client
    /// and moves on to the next endpoint (once, however many calls saw the failure).
    func failed(_ handle: Handle, _ error: any Error) {
        if Self.debug { print("capstan etcd: call to \(endpoints[handle.endpoint]) failed: \(Self.describe(error))") }
        let dropped: Entry? = state.withLock { state in
            state.lastErrors[handle.endpoint] = Self.describe(error)
            guard let entry = state.entries[handle.slot], entry.id == handle.id else { return nil }
            state.entries[handle.slot] = nil
            if state.current == handle.endpoint {
                state.current = (handle.endpoint + 1) % endpoints.count
            }
            return entry
        }
        dropped?.client.beginGracefulShutdown()
    }

    /// Records a success through `handle` (clears the endpoint's last error).
    func succeeded(_ handle: Handle) {
        state.withLock { state in
            if state.lastErrors[handle.endpoint] != nil { state.lastErrors[handle.endpoint] = nil }
        }
    }

    /// `.unavailable` naming every endpoint and what went wrong with it last.
    func unavailableError(after elapsed: Duration) -> StorageError {
        let errors = state.withLock { $0.lastErrors }
        let detail = endpoints.indices.map { index in
            "\(endpoints[index]): \(errors[index] ?? "no answer")"
        }.joined(separator: "; ")
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let list = endpoints.map(\.description).joined(separator: ",")
        return StorageError(
            .unavailable,
            "etcd unavailable at \(list) (tried for \(String(format: "%.1f", seconds)) s): \(detail)")
    }

    var isClosed: Bool { state.withLock { $0.closed } }

    /// How many clients (connections) were made so far, replacements included.
    var clientsMade: Int { state.withLock { $0.nextID } }

    /// Shuts every client down and stops their connection tasks.
    func close() async {
        let entries: [Entry] = state.withLock { state in
            state.closed = true
            let entries = Array(state.entries.values)
            state.entries = [:]
            return entries
        }
        for entry in entries {
            entry.client.beginGracefulShutdown()
            entry.task.cancel()
        }
        for entry in entries { await entry.task.value }
    }

    // MARK: Calls

    /// Runs a read (or any call that is safe to repeat) against the current endpoint, failing
    /// over and retrying on transport failures until `configuration.unavailableTimeout`.
    func read<T: Sendable>(_ body: (Client) async throws -> T) async throws -> T {
        let clock = ContinuousClock()
        let start = clock.now
        var attempt = 0
        while true {
            let handle = try handle()
            do {
                let value = try await body(handle.client)
                succeeded(handle)
                return value
            } catch {
                switch Self.classify(error) {
                case .storage(let storageError):
                    throw storageError
                case .transient:
                    failed(handle, error)
                    attempt += 1
                    try await pause(attempt: attempt, since: start, clock: clock)
                }
            }
        }
    }

    /// Runs one attempt of a write. A transport failure is thrown as `AmbiguousWrite` (the
    /// write may or may not have been applied); the caller finds out with reads.
    func writeOnce<T: Sendable>(_ body: (Client) async throws -> T) async throws -> T {
        let handle = try handle()
        do {
            let value = try await body(handle.client)
            succeeded(handle)
            return value
        } catch {
            switch Self.classify(error) {
            case .storage(let storageError):
                throw storageError
            case .transient:
                failed(handle, error)
                throw AmbiguousWrite(cause: error)
            }
        }
    }

    /// Waits before the next attempt (longer once every endpoint has failed), or throws
    /// `.unavailable` when retrying has gone on too long.
    func pause(attempt: Int, since start: ContinuousClock.Instant, clock: ContinuousClock) async throws {
        let elapsed = start.duration(to: clock.now)
        if elapsed >= configuration.unavailableTimeout { throw unavailableError(after: elapsed) }
        if isClosed { throw EtcdStorage.closedError }
        let rounds = (attempt - 1) / max(endpoints.count, 1)
        let delay: Duration = attempt % max(endpoints.count, 1) == 0 || endpoints.count == 1
            ? min(.milliseconds(25) * (1 << min(rounds, 6)), .milliseconds(1000))
            : .milliseconds(5)
        try await Task.sleep(for: min(delay, configuration.unavailableTimeout - elapsed))
    }

    private func makeClient(_ endpoint: EtcdEndpoint) throws -> Client {
        var config = Transport.Config.defaults
        config.connection.keepalive = .init(time: .seconds(15), timeout: .seconds(10), allowWithoutCalls: true)
        config.connection.maxIdleTime = nil
        config.backoff = .init(initial: .milliseconds(50), max: .seconds(1), multiplier: 1.6, jitter: 0.2)
        let target: any ResolvableTarget
        if endpoint.host.contains(":") {
            target = .ipv6(address: endpoint.host, port: endpoint.port)
        } else if endpoint.host.split(separator: ".").count == 4, endpoint.host.allSatisfy({ $0.isNumber || $0 == "." }) {
            target = .ipv4(address: endpoint.host, port: endpoint.port)
        } else {
            target = .dns(host: endpoint.host, port: endpoint.port)
        }
        // etcd's PINGs are answered before they reach the HTTP/2 handler (see EtcdPingResponder).
        config.channelDebuggingCallbacks.onCreateTCPConnection = { channel in EtcdPingResponder.install(on: channel) }
        let transport = try Transport(target: target, transportSecurity: .plaintext, config: config)
        return GRPCClient(transport: transport)
    }
}

/// A write whose outcome is unknown: the connection failed after it may have been sent.
struct AmbiguousWrite: Error {
    var cause: any Error
}

extension EtcdConnection {
    enum Classified {
        /// A transport or availability failure: another attempt, maybe on another member, may work.
        case transient
        /// A definite answer from etcd, as a storage error.
        case storage(StorageError)
    }

    static func classify(_ error: any Error) -> Classified {
        if let storage = error as? StorageError { return .storage(storage) }
        if error is CancellationError { return .storage(StorageError(.unavailable, "cancelled")) }
        guard let rpc = error as? RPCError else {
            if error is RuntimeError { return .transient }
            return .storage(StorageError(.unavailable, "etcd call failed: \(error)"))
        }
        let message = rpc.message
        switch rpc.code {
        case .unavailable, .deadlineExceeded, .unknown, .internalError, .aborted:
            return .transient
        case .cancelled:
            return Task.isCancelled ? .storage(StorageError(.unavailable, "cancelled")) : .transient
        case .resourceExhausted:
            if message.contains("space exceeded") {
                return .storage(StorageError(.io, "etcd: \(message) (the NOSPACE alarm is raised; compact, defragment and disarm)"))
            }
            return .transient
        case .notFound where message.contains("lease not found"):
            return .storage(StorageError(.leaseNotFound, "etcd: \(message)"))
        case .outOfRange where message.contains("compacted"):
            return .storage(StorageError(.compacted, "etcd: \(message)"))
        case .outOfRange where message.contains("future revision"):
            return .storage(StorageError(.futureRevision, "etcd: \(message)"))
        case .invalidArgument where message.contains("too large"):
            return .storage(StorageError(
                .valueTooLarge,
                "etcd: \(message) (etcd's --max-request-bytes must exceed \(StorageLimits.maxValueBytes) bytes plus the key)"))
        case .invalidArgument, .failedPrecondition, .outOfRange, .notFound, .alreadyExists:
            return .storage(StorageError(.invalidArgument, "etcd: \(message)"))
        case .permissionDenied, .unauthenticated:
            return .storage(StorageError(.unavailable, "etcd refused the call (authentication is not supported): \(message)"))
        default:
            return .storage(StorageError(.unavailable, "etcd: \(rpc.code): \(message)"))
        }
    }

    static func describe(_ error: any Error) -> String {
        if let rpc = error as? RPCError {
            var text = "\(rpc.code): \(rpc.message)"
            if let cause = rpc.cause { text += " (\(cause))" }
            return text
        }
        return "\(error)"
    }
}
