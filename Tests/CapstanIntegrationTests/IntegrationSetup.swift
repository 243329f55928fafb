import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A temporary place for one `capstan up` cluster: data directory, free port, a bridge name and
/// pod CIDR of its own, and the real `capstan` and `kubectl` binaries. Everything it made is
/// removed by ``removeEverything()`` (processes are stopped by their PIDs).
final class IntegrationSetup: @unchecked Sendable {
    let root: String
    let dataDirectory: String
    let port: Int
    let bridge: String
    let podCIDR: String
    let podPrefix: String
    let capstan: String
    let kubectl: Kubectl

    /// The package root, from this file's path (`Tests/CapstanIntegrationTests/...`).
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    /// Nil (with the reason printed) when this machine cannot run the test.
    static func make(needsRuntime: Bool = true) throws -> IntegrationSetup? {
        let binary = packageRoot + "/.build/debug/capstan"
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            print("skipping: \(binary) is not built (swift build)")
            return nil
        }
        guard let kubectl = Kubectl.find() else {
            print("skipping: no kubectl")
            return nil
        }
        if needsRuntime {
            guard getuid() == 0 else { print("skipping: real containers need root"); return nil }
            guard which("runc") != nil, which("ip") != nil, FileManager.default.isExecutableFile(atPath: "/bin/busybox") else {
                print("skipping: runc, ip and busybox-static are needed (scripts/test installs them)")
                return nil
            }
        }
        let id = String(UInt32.random(in: 0..<UInt32.max), radix: 16)
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("capstan-up-\(id)").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let a = Int.random(in: 200..<250), b = Int.random(in: 0..<250)
        return IntegrationSetup(root: root, port: try freePort(), bridge: "cst\(id.prefix(8))",
                                podCIDR: "10.\(a).\(b).0/24", podPrefix: "10.\(a).\(b).", capstan: binary,
                                kubeconfig: root + "/data/kubeconfig", kubectlBinary: kubectl)
    }

    private init(root: String, port: Int, bridge: String, podCIDR: String, podPrefix: String, capstan: String,
                 kubeconfig: String, kubectlBinary: String) {
        self.root = root
        self.dataDirectory = root + "/data"
        self.port = port
        self.bridge = bridge
        self.podCIDR = podCIDR
        self.podPrefix = podPrefix
        self.capstan = capstan
        self.kubectl = Kubectl(binary: kubectlBinary, kubeconfig: kubeconfig)
    }

    /// Starts `capstan up` on this setup's directory, port, bridge and pod CIDR.
    func startUp(runtime: String? = nil) throws -> ChildProcess {
        var arguments = ["up", "--data-dir", dataDirectory, "--port", String(port), "--agent-port", "0",
                         "--bridge", bridge, "--pod-cidr", podCIDR]
        if let runtime { arguments += ["--runtime", runtime] }
        return try ChildProcess.start(capstan, arguments, outputPath: root + "/up-\(UUID().uuidString.prefix(6)).log")
    }

    /// Builds the busybox test image (scripts/build-test-image.sh) and imports it into the node's store.
    func importTestImage() throws {
        let images = root + "/image"
        try run("/bin/bash", [Self.packageRoot + "/scripts/build-test-image.sh", images])
        try run(capstan, ["image", "import", "--root", dataDirectory + "/agent/images", "--base-name", "capstan.test/busybox",
                          images + "/busybox-oci.tar"])
    }

    let deployment = """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: hello}
        spec:
          replicas: 2
          selector: {matchLabels: {app: hello}}
          template:
            metadata: {labels: {app: hello}}
            spec:
              terminationGracePeriodSeconds: 2
              containers:
              - name: main
                image: capstan.test/busybox:latest
                imagePullPolicy: Never
                command: ["sh", "-c", "echo hello from capstan; while true; do sleep 1; done"]
        """

    /// Container IDs runc still knows in this cluster's runtime root.
    func runningContainers() -> [String] {
        let out = (try? capture("runc", ["--root", dataDirectory + "/agent/state/runtime", "list", "-q"])) ?? ""
        return out.split(separator: "\n").map(String.init)
    }

    /// Mount points under the root directory.
    func leftoverMounts() -> [String] {
        // Through cat: Foundation reads only the first 4 KB of a /proc file (its size reads as 0).
        let info = (try? capture("cat", ["/proc/self/mountinfo"])) ?? ""
        return info.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ")
            return fields.count > 4 && fields[4].hasPrefix(root) ? String(fields[4]) : nil
        }
    }

    /// Network namespaces named after this setup's bridge.
    func leftoverNetworkNamespaces() -> [String] {
        let out = (try? capture("ip", ["netns", "list"])) ?? ""
        return out.split(separator: "\n").compactMap { line in
            let name = line.split(separator: " ").first.map(String.init) ?? ""
            return name.hasPrefix(bridge + "-") ? name : nil
        }
    }

    /// Removes what the cluster may have left: containers, mounts, namespaces, the bridge, files.
    func removeEverything() {
        for id in runningContainers() {
            _ = try? capture("runc", ["--root", dataDirectory + "/agent/state/runtime", "delete", "--force", id])
        }
        for mount in leftoverMounts().sorted(by: { $0.count > $1.count }) { _ = umount2(mount, Int32(MNT_DETACH)) }
        for ns in leftoverNetworkNamespaces() { _ = try? capture("ip", ["netns", "del", ns]) }
        _ = try? capture("ip", ["link", "del", bridge])
        try? FileManager.default.removeItem(atPath: root)
    }

    // MARK: Processes

    func run(_ executable: String, _ arguments: [String]) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        let log = root + "/run-\(UUID().uuidString.prefix(6)).log"
        FileManager.default.createFile(atPath: log, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        p.standardOutput = handle
        p.standardError = handle
        try p.run()
        p.waitUntilExit()
        try? handle.close()
        guard p.terminationStatus == 0 else {
            throw IntegrationError("\(executable) \(arguments.joined(separator: " ")) failed: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
        }
    }

    /// Runs a command to its end; its exit status and its output (stdout and stderr).
    func captureStatus(_ executable: String, _ arguments: [String]) throws -> (Int32, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    func capture(_ executable: String, _ arguments: [String]) throws -> String {
        guard let path = which(executable) ?? (executable.contains("/") ? executable : nil) else { throw IntegrationError("no \(executable)") }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = arguments
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }
}

struct IntegrationError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

func which(_ name: String) -> String? {
    for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin").split(separator: ":") + ["/usr/sbin", "/sbin"] {
        let path = "\(dir)/\(name)"
        if FileManager.default.isExecutableFile(atPath: path) { return path }
    }
    return nil
}

func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw IntegrationError("socket failed") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard bound == 0 else { throw IntegrationError("bind failed") }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// `GET path` over HTTP/1.0 to 127.0.0.1:`port` (blocking, 10 s receive timeout): the status
/// code and the body, or nil when the connection fails or is closed without a response.
func httpGet(port: Int, path: String) -> (status: Int, body: [UInt8])? {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var timeout = timeval(tv_sec: 10, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = UInt16(port).bigEndian
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard connected == 0 else { return nil }
    let request = Array("GET \(path) HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".utf8)
    guard request.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, 0) }) == request.count else { return nil }
    var response: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if count <= 0 { break }
        response += buffer[0 ..< count]
    }
    guard let end = response.firstRange(of: Array("\r\n\r\n".utf8)) else { return nil }
    let statusLine = String(decoding: response[..<end.lowerBound], as: UTF8.self).split(separator: " ")
    guard statusLine.count >= 2, let status = Int(statusLine[1]) else { return nil }
    return (status, Array(response[end.upperBound...]))
}

/// A long-running child (capstan up) whose output goes to a file; stopped by its PID only.
final class ChildProcess: @unchecked Sendable {
    let process = Process()
    let outputPath: String

    private init(outputPath: String) { self.outputPath = outputPath }

    static func start(_ executable: String, _ arguments: [String], outputPath: String) throws -> ChildProcess {
        let child = ChildProcess(outputPath: outputPath)
        FileManager.default.createFile(atPath: outputPath, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        child.process.executableURL = URL(fileURLWithPath: executable)
        child.process.arguments = arguments
        child.process.standardOutput = handle
        child.process.standardError = handle
        try child.process.run()
        try? handle.close()
        return child
    }

    var output: String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }
    var exitCode: Int32? { process.isRunning ? nil : process.terminationStatus }

    func waitForOutput(_ text: String, timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if output.contains(text) { return true }
            if !process.isRunning { return output.contains(text) }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return output.contains(text)
    }

    func waitForExit(timeout: Duration) async {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
    }

    /// Ctrl-C (SIGINT), as a user stops it; SIGKILL by PID if it has not exited within 30 s.
    func stop() async {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGINT)
        await waitForExit(timeout: .seconds(30))
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            await waitForExit(timeout: .seconds(5))
        }
    }
}

/// Runs the real kubectl against one kubeconfig.
struct Kubectl: Sendable {
    let binary: String
    let kubeconfig: String

    static func find() -> String? {
        let pinned = "/usr/lib/google-cloud-sdk/bin/kubectl.1.33"
        if FileManager.default.isExecutableFile(atPath: pinned) { return pinned }
        return which("kubectl")
    }

    /// Runs kubectl; throws with its output unless it exits 0.
    @discardableResult
    func ok(_ arguments: String..., stdin: String? = nil) throws -> String {
        let (status, out, err) = try run(arguments, stdin: stdin)
        guard status == 0 else { throw IntegrationError("kubectl \(arguments.joined(separator: " ")): exit \(status)\n\(out)\n\(err)") }
        return out
    }

    /// Runs kubectl to its end, or (with `timeout`) stops it by its PID with SIGINT after that
    /// long, as Ctrl-C would (for commands that do not end on their own, like attach).
    func run(_ arguments: [String], stdin: String? = nil, timeout: Duration? = nil) throws -> (Int32, String, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = ["--kubeconfig", kubeconfig, "--request-timeout=20s"] + arguments
        let out = Pipe(), err = Pipe(), input = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = input
        try p.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        if timeout == nil { try? input.fileHandleForWriting.close() }
        if let timeout {
            let pid = p.processIdentifier
            let deadline = DispatchTime.now() + .milliseconds(Int(timeout.components.seconds * 1000))
            DispatchQueue.global().asyncAfter(deadline: deadline) {
                if p.isRunning { kill(pid, SIGINT) }
                try? input.fileHandleForWriting.close()
            }
        }
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    /// Polls `kubectl <arguments>` until its output satisfies `condition`.
    func eventually(_ arguments: String..., timeout: Duration = .seconds(30), _ condition: (String) -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let (status, out, _) = try? run(arguments), status == 0, condition(out) { return true }
            try? await Task.sleep(for: .milliseconds(200))
        }
        return false
    }
}
