import ArgumentParser
import CapstanAPI
import CapstanClient
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `capstan bench up`: from process start to the node Ready and a `kubectl get nodes`
/// answered, over several fresh starts of `capstan up` (a child process, as users run it);
/// then the idle RSS of the whole `capstan up` process.
struct BenchUpCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "up",
        abstract: "Measure capstan up: time to a Ready node answered by the API, and idle memory.")

    @Option(name: .long, help: "Fresh starts to measure.")
    var runs = 5

    @Option(name: .long, help: "Node runtime: runc, crun or sim (default: runc when root and installed, else sim).")
    var runtime: String?

    @Option(name: .long, help: "Seconds to let the cluster settle before reading its idle RSS.")
    var settle = 5.0

    @Option(name: .long, help: "kubectl to answer `get nodes` (default: kubectl on PATH; without it the API is asked directly).")
    var kubectl: String?

    func run() async throws {
        let runtime = self.runtime ?? ((getuid() == 0 && UpCommand.which("runc") != nil) ? "runc" : "sim")
        let kubectlPath = kubectl ?? UpCommand.which("kubectl")
        print("bench up: runtime=\(runtime) runs=\(runs) kubectl=\(kubectlPath ?? "none (API client)")")
        var readies: [Double] = []
        var rss: [Double] = []
        for run in 1...max(1, runs) {
            let result = try await measureOnce(runtime: runtime, kubectl: kubectlPath, readRSS: true)
            readies.append(result.readyMS)
            rss.append(result.rssMB)
            print(String(format: "run %d: node Ready and get nodes answered after %.0f ms; idle RSS %.1f MB", run, result.readyMS, result.rssMB))
        }
        let ready = Percentile.median(readies), memory = Percentile.median(rss)
        print(String(format: "median: ready %.0f ms, idle RSS %.1f MB", ready, memory))
        print(String(format: "RESULT ready_ms=%.0f idle_rss_mb=%.1f runtime=%@ runs=%d", ready, memory, runtime, readies.count))
    }

    struct Result {
        var readyMS: Double
        var rssMB: Double
    }

    func measureOnce(runtime: String, kubectl: String?, readRSS: Bool) async throws -> Result {
        let id = String(UInt32.random(in: 0..<UInt32.max), radix: 16)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("capstan-bench-up-\(id)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let bridge = "cbu\(id.prefix(8))"
        let port = try Self.freePort()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        process.arguments = ["up", "--data-dir", dir, "--port", String(port), "--agent-port", "0", "--runtime", runtime,
                             "--bridge", bridge, "--pod-cidr", "10.249.\(Int.random(in: 0..<250)).0/24"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        let start = ContinuousClock.now
        try process.run()
        defer {
            if process.isRunning {
                process.interrupt()
                process.waitUntilExit()
            }
            if runtime != "sim" { _ = try? Self.runQuietly("/sbin/ip", ["link", "del", bridge]) }
        }
        let kubeconfig = dir + "/kubeconfig"
        var readyAt: Duration?
        let deadline = start + .seconds(60)
        while readyAt == nil, ContinuousClock.now < deadline, process.isRunning {
            if FileManager.default.fileExists(atPath: kubeconfig), try await nodeReady(kubeconfig: kubeconfig, kubectl: kubectl) {
                readyAt = ContinuousClock.now - start
                break
            }
            try await Task.sleep(for: .milliseconds(5))
        }
        guard let readyAt else { throw ValidationError("capstan up did not report a Ready node within 60 s") }
        var rssMB = 0.0
        if readRSS {
            try await Task.sleep(for: .seconds(settle))
            rssMB = Self.rssMB(pid: process.processIdentifier)
        }
        process.interrupt()
        process.waitUntilExit()
        return Result(readyMS: Double(readyAt.components.seconds) * 1000 + Double(readyAt.components.attoseconds) / 1e15,
                      rssMB: rssMB)
    }

    /// `kubectl get nodes` (or a list through the API client) shows a Ready node.
    func nodeReady(kubeconfig: String, kubectl: String?) async throws -> Bool {
        if let kubectl {
            let out = (try? Self.runQuietly(kubectl, ["--kubeconfig", kubeconfig, "get", "nodes", "--no-headers"])) ?? ""
            return out.split(separator: "\n").contains { $0.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first == "Ready" }
        }
        guard let config = try? Kubeconfig.load(path: kubeconfig).configuration() else { return false }
        let client = try APIClient(configuration: config)
        defer { Task { await client.shutdown() } }
        guard let nodes = try? await client.list(CoreV1.Node.self) else { return false }
        return nodes.items.contains { $0.status?.conditions?.contains { $0.type == "Ready" && $0.status == "True" } == true }
    }

    static func runQuietly(_ executable: String, _ arguments: [String]) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    static func rssMB(pid: Int32) -> Double {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kb = line.split(separator: " ").compactMap({ Double($0) }).first
        else { return 0 }
        return kb / 1024
    }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ValidationError("socket() failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw ValidationError("bind() failed") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
