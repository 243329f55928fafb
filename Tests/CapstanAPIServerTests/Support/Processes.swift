import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The result of a finished process.
struct ProcessResult: Sendable, CustomStringConvertible {
    var exitCode: Int32
    var stdout: String
    var stderr: String
    var timedOut: Bool

    var description: String { "exit \(exitCode)\(timedOut ? " (timed out)" : "")\nstdout: \(stdout.prefix(1500))\nstderr: \(stderr.prefix(1500))" }
}

/// A child process whose output goes to files (no pipe can fill up and block it). It is
/// stopped only through its own PID.
final class ChildProcess: @unchecked Sendable {
    let process = Process()
    let stdoutPath: String
    let stderrPath: String
    private let lock = NSLock()
    private var exited = false

    init(_ executable: String, _ arguments: [String], directory: String, environment: [String: String]? = nil,
         stdin: String? = nil) throws {
        let id = UUID().uuidString.prefix(8)
        stdoutPath = directory + "/proc-\(id).out"
        stderrPath = directory + "/proc-\(id).err"
        _ = FileManager.default.createFile(atPath: stdoutPath, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        if let environment { process.environment = environment }
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: stdoutPath))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: stderrPath))
        if let stdin {
            let path = directory + "/proc-\(id).in"
            _ = FileManager.default.createFile(atPath: path, contents: Data(stdin.utf8))
            process.standardInput = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
        } else {
            process.standardInput = FileHandle.nullDevice
        }
        process.terminationHandler = { [weak self] _ in
            guard let self else { return }
            self.lock.withLock { self.exited = true }
        }
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }
    var hasExited: Bool { lock.withLock { exited } }
    var stdout: String { (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    /// Waits for the process to exit; past the deadline it is killed (by its PID) and reported as timed out.
    func wait(timeout: Duration) async -> ProcessResult {
        let deadline = ContinuousClock.now + timeout
        while !hasExited, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
        var timedOut = false
        if !hasExited {
            timedOut = true
            kill()
            while !hasExited { try? await Task.sleep(for: .milliseconds(10)) }
        }
        return ProcessResult(exitCode: process.terminationStatus, stdout: stdout, stderr: stderr, timedOut: timedOut)
    }

    /// Sends SIGTERM to this process (only this PID).
    func kill() {
        if !hasExited, process.isRunning {
            #if canImport(Glibc)
            _ = Glibc.kill(pid, SIGTERM)
            #else
            process.terminate()
            #endif
        }
    }
}

/// Finds an executable on PATH.
func which(_ name: String) -> String? {
    for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
        let path = "\(dir)/\(name)"
        if FileManager.default.isExecutableFile(atPath: path) { return path }
    }
    return nil
}

/// Runs a real kubectl binary against a server, with a fresh cache directory per instance.
struct Kubectl: Sendable {
    static let directory = "/usr/lib/google-cloud-sdk/bin"
    static let v133 = directory + "/kubectl.1.33"

    let binary: String
    let kubeconfig: String
    let cacheDir: String
    let workDir: String

    /// nil when the binary is not installed.
    static func available(_ binary: String = v133) -> Bool { FileManager.default.isExecutableFile(atPath: binary) }

    init(binary: String = Kubectl.v133, kubeconfig: String, workDir: String) {
        self.binary = binary
        self.kubeconfig = kubeconfig
        self.workDir = workDir
        self.cacheDir = workDir + "/kube-cache-\(UUID().uuidString.prefix(8))"
    }

    var environment: [String: String] {
        // No ambient configuration: HOME points into the work dir, no proxies, no KUBECONFIG.
        ["HOME": workDir, "PATH": "/usr/bin:/bin", "KUBECACHEDIR": cacheDir, "NO_PROXY": "127.0.0.1,localhost"]
    }

    func arguments(_ args: [String]) -> [String] {
        ["--kubeconfig", kubeconfig, "--cache-dir", cacheDir, "--request-timeout", "20s"] + args
    }

    /// Runs to completion (at most `timeout`).
    func run(_ args: String..., stdin: String? = nil, timeout: Duration = .seconds(30)) async throws -> ProcessResult {
        try await run(args, stdin: stdin, timeout: timeout)
    }

    func run(_ args: [String], stdin: String? = nil, timeout: Duration = .seconds(30)) async throws -> ProcessResult {
        let p = try ChildProcess(binary, arguments(args), directory: workDir, environment: environment, stdin: stdin)
        return await p.wait(timeout: timeout)
    }

    /// Starts kubectl in the background (e.g. `get -w`); the caller stops it with `kill()`.
    func start(_ args: String...) throws -> ChildProcess {
        try ChildProcess(binary, arguments(args), directory: workDir, environment: environment)
    }

    /// Runs and expects exit 0; returns stdout.
    @discardableResult
    func ok(_ args: String..., stdin: String? = nil, sourceLocation: SourceLocation = #_sourceLocation) async throws -> String {
        let r = try await run(args, stdin: stdin)
        #expect(r.exitCode == 0 && !r.timedOut, "kubectl \(args.joined(separator: " ")): \(r)", sourceLocation: sourceLocation)
        return r.stdout
    }
}

/// A TLS server with kubectl pointed at it; skips (returns without running `body`) when the
/// kubectl binary is missing.
func withKubectl(_ binary: String = Kubectl.v133, tokenFile: String? = nil,
                 _ body: (TestServer, Kubectl) async throws -> Void) async throws {
    guard Kubectl.available(binary) else {
        print("skipping: \(binary) is not installed")
        return
    }
    try await withServer(tls: true, tokenFile: tokenFile) { s in
        let kubectl = Kubectl(binary: binary, kubeconfig: try s.kubeconfig(), workDir: s.directory)
        try await body(s, kubectl)
    }
}
