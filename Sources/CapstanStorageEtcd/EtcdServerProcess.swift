import CapstanStorage
import Foundation
import GRPCCore
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A throwaway etcd cluster of `etcd` processes from PATH, on loopback, with free ports and a
/// temporary data directory: for tests, `capstan bench storage` and local experiments.
///
/// Members are stopped by PID (never by name); `remove()` stops them all and deletes the data
/// directory.
public final class EtcdServerProcess: Sendable {
    public struct Member: Sendable {
        public let name: String
        public let clientPort: Int
        public let peerPort: Int
        public let dataDirectory: String
        public var clientURL: String { "http://127.0.0.1:\(clientPort)" }
        public var endpoint: EtcdEndpoint { EtcdEndpoint(host: "127.0.0.1", port: clientPort) }
    }

    public let members: [Member]
    /// The directory holding every member's data and log.
    public let directory: String
    private let executable: String
    private let arguments: [[String]]
    private let processes: Mutex<[Process?]>

    /// `etcd://127.0.0.1:p1,127.0.0.1:p2,...`
    public var endpoints: String {
        "etcd://" + members.map { "127.0.0.1:\($0.clientPort)" }.joined(separator: ",")
    }

    /// Starts `memberCount` members and waits until every one answers a linearizable read.
    ///
    /// - Parameters:
    ///   - parentDirectory: where the data directory is made (default: the system temp dir).
    ///   - executable: the etcd binary, looked up in PATH unless it contains a slash.
    ///   - fastElections: shorter heartbeat and election timeouts (50 ms / 500 ms) so a killed
    ///     leader is replaced quickly; for tests.
    public init(
        memberCount: Int = 1,
        parentDirectory: String? = nil,
        executable: String = "etcd",
        fastElections: Bool = false,
        timeout: Duration = .seconds(30)
    ) async throws {
        guard memberCount > 0 else { throw StorageError.invalidArgument("an etcd cluster needs a member") }
        guard let path = Self.find(executable) else {
            throw StorageError(
                .unavailable,
                "no '\(executable)' executable in PATH (install Debian's etcd-server: apt-get install etcd-server)")
        }
        self.executable = path
        let parent = parentDirectory ?? FileManager.default.temporaryDirectory.path
        directory = parent + "/capstan-etcd-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)

        var ports = Set<Int>()
        var members: [Member] = []
        for index in 0..<memberCount {
            let client = try Self.freePort(excluding: &ports)
            let peer = try Self.freePort(excluding: &ports)
            members.append(Member(
                name: "m\(index)", clientPort: client, peerPort: peer, dataDirectory: directory + "/m\(index).etcd"))
        }
        self.members = members
        let cluster = members.map { "\($0.name)=http://127.0.0.1:\($0.peerPort)" }.joined(separator: ",")
        let token = "capstan-\(UUID().uuidString.prefix(8))"
        arguments = members.map { member in
            var arguments = [
                "--name", member.name,
                "--data-dir", member.dataDirectory,
                "--listen-client-urls", member.clientURL,
                "--advertise-client-urls", member.clientURL,
                "--listen-peer-urls", "http://127.0.0.1:\(member.peerPort)",
                "--initial-advertise-peer-urls", "http://127.0.0.1:\(member.peerPort)",
                "--initial-cluster", cluster,
                "--initial-cluster-state", "new",
                "--initial-cluster-token", token,
                "--max-request-bytes", "\(3 << 20)",
                "--logger", "zap",
                "--log-outputs", "stderr",
            ]
            if fastElections {
                arguments += ["--heartbeat-interval", "50", "--election-timeout", "500"]
            }
            return arguments
        }
        processes = Mutex(Array(repeating: nil, count: memberCount))
        do {
            for index in members.indices { try launch(index) }
            for index in members.indices { try await waitUntilReady(index, timeout: timeout) }
        } catch {
            await remove()
            throw error
        }
    }

    /// The process id of a running member, nil if stopped.
    public func pid(of member: Int) -> Int32? {
        processes.withLock { $0[member]?.processIdentifier }
    }

    /// Kills a member with SIGKILL (by its PID) and reaps it.
    public func kill(member: Int) async {
        guard let process = processes.withLock({ processes -> Process? in
            defer { processes[member] = nil }
            return processes[member]
        }) else { return }
        let pid = process.processIdentifier
        if process.isRunning { sendSignal(pid, SIGKILL) }
        await Self.waitForExit(process)
    }

    /// Starts a stopped member again on its data directory and waits until it is ready.
    public func restart(member: Int, timeout: Duration = .seconds(30)) async throws {
        try launch(member)
        try await waitUntilReady(member, timeout: timeout)
    }

    /// Stops every member (SIGTERM, then SIGKILL after 5 s) and deletes the data directory.
    public func remove() async {
        let running: [Process] = processes.withLock { processes in
            defer { processes = processes.map { _ in nil } }
            return processes.compactMap { $0 }
        }
        for process in running where process.isRunning { sendSignal(process.processIdentifier, SIGTERM) }
        for process in running {
            let clock = ContinuousClock()
            let deadline = clock.now + .seconds(5)
            while process.isRunning && clock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
            if process.isRunning { sendSignal(process.processIdentifier, SIGKILL) }
            await Self.waitForExit(process)
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// The member's log (etcd writes it to stderr, kept in `<directory>/<name>.log`).
    public func log(of member: Int) -> String {
        (try? String(contentsOfFile: directory + "/\(members[member].name).log", encoding: .utf8)) ?? ""
    }

    private func launch(_ index: Int) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments[index]
        let logPath = directory + "/\(members[index].name).log"
        if !FileManager.default.fileExists(atPath: logPath) {
            _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        }
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        try log.seekToEnd()
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
        try? log.close()
        processes.withLock { $0[index] = process }
    }

    /// Polls the member with a linearizable Range until it answers (it has joined a cluster
    /// with a leader).
    private func waitUntilReady(_ index: Int, timeout: Duration) async throws {
        var configuration = EtcdStorage.Configuration(endpoints: [members[index].endpoint])
        configuration.requestTimeout = .seconds(1)
        configuration.unavailableTimeout = .milliseconds(200)
        let probe = try EtcdStorage(configuration: configuration)
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        var lastError: any Error = StorageError(.unavailable, "no answer")
        while clock.now < deadline {
            guard processes.withLock({ $0[index]?.isRunning ?? false }) else {
                await probe.close()
                throw StorageError(
                    .unavailable,
                    "etcd member \(members[index].name) exited while starting: \(log(of: index).suffix(2000))")
            }
            do {
                _ = try await probe.currentRevision()
                await probe.close()
                return
            } catch {
                lastError = error
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        await probe.close()
        throw StorageError(
            .unavailable,
            "etcd member \(members[index].name) not ready after \(timeout): \(lastError); log: \(log(of: index).suffix(2000))")
    }

    private static func waitForExit(_ process: Process) async {
        while process.isRunning { try? await Task.sleep(for: .milliseconds(10)) }
    }

    private static func find(_ executable: String) -> String? {
        if executable.contains("/") { return FileManager.default.isExecutableFile(atPath: executable) ? executable : nil }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(executable)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then released).
    private static func freePort(excluding taken: inout Set<Int>) throws -> Int {
        for _ in 0..<20 {
            #if canImport(Glibc)
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            #else
            let fd = socket(AF_INET, SOCK_STREAM, 0)
            #endif
            guard fd >= 0 else { throw StorageError(.io, "socket() failed: errno \(errno)") }
            defer { close(fd) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = 0
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let bound = withUnsafeMutablePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                    bind(fd, socketAddress, length) == 0 && getsockname(fd, socketAddress, &length) == 0
                }
            }
            guard bound else { throw StorageError(.io, "bind to 127.0.0.1:0 failed: errno \(errno)") }
            let port = Int(UInt16(bigEndian: address.sin_port))
            if taken.insert(port).inserted { return port }
        }
        throw StorageError(.io, "no free loopback port found")
    }
}

/// Sends `signal` to the process `pid` (a member this type started).
private func sendSignal(_ pid: Int32, _ signal: Int32) {
    _ = kill(pid, signal)
}
