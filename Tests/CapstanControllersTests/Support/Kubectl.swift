import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Runs a real kubectl binary against an in-process server: output to files (no pipe can fill
/// up), no ambient configuration, killed only through its own PID when it overruns.
struct Kubectl: Sendable {
    static let binary = "/usr/lib/google-cloud-sdk/bin/kubectl.1.33"
    static var available: Bool { FileManager.default.isExecutableFile(atPath: binary) }

    struct Result: Sendable, CustomStringConvertible {
        var exitCode: Int32
        var stdout: String
        var stderr: String
        var timedOut: Bool
        var succeeded: Bool { exitCode == 0 && !timedOut }
        var description: String { "exit \(exitCode)\(timedOut ? " (timed out)" : "")\nstdout: \(stdout.suffix(2000))\nstderr: \(stderr.suffix(2000))" }
    }

    let kubeconfig: String
    let workDir: String

    func run(_ args: String..., timeout: Duration = .seconds(60)) async throws -> Result {
        let id = UUID().uuidString.prefix(8)
        let out = workDir + "/kubectl-\(id).out", err = workDir + "/kubectl-\(id).err"
        _ = FileManager.default.createFile(atPath: out, contents: nil)
        _ = FileManager.default.createFile(atPath: err, contents: nil)
        defer {
            try? FileManager.default.removeItem(atPath: out)
            try? FileManager.default.removeItem(atPath: err)
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = ["--kubeconfig", kubeconfig, "--cache-dir", workDir + "/kube-cache", "--request-timeout", "20s"] + args
        process.currentDirectoryURL = URL(fileURLWithPath: workDir)
        process.environment = ["HOME": workDir, "PATH": "/usr/bin:/bin", "NO_PROXY": "127.0.0.1,localhost"]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: out))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: err))
        let exited = Atomic<Bool>(false)
        process.terminationHandler = { _ in exited.store(true, ordering: .sequentiallyConsistent) }
        try process.run()
        let deadline = ContinuousClock.now + timeout
        while !exited.load(ordering: .sequentiallyConsistent), ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        let timedOut = !exited.load(ordering: .sequentiallyConsistent)
        if timedOut {
            #if canImport(Glibc)
            _ = Glibc.kill(process.processIdentifier, SIGKILL)
            #else
            process.terminate()
            #endif
            while !exited.load(ordering: .sequentiallyConsistent) { try? await Task.sleep(for: .milliseconds(10)) }
        }
        let read = { (path: String) in (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }
        return Result(exitCode: process.terminationStatus, stdout: read(out), stderr: read(err), timedOut: timedOut)
    }
}
