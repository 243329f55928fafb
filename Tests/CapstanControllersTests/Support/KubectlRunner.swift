import Foundation

/// Runs the real kubectl (1.33 where installed) against a test server's kubeconfig. Output goes
/// to files in `workDir`, HOME and the cache live there too (no ambient configuration).
struct KubectlRunner: Sendable {
    static let pinned = "/usr/lib/google-cloud-sdk/bin/kubectl.1.33"

    /// The kubectl binary, nil when none is installed.
    static var binary: String? { FileManager.default.isExecutableFile(atPath: pinned) ? pinned : nil }

    let binary: String
    let kubeconfig: String
    let workDir: String

    struct Result: Sendable, CustomStringConvertible {
        var status: Int32
        var stdout: String
        var stderr: String
        var description: String { "exit \(status)\nstdout: \(stdout.prefix(2000))\nstderr: \(stderr.prefix(2000))" }
    }

    /// Runs kubectl to completion (its own `--request-timeout` and the command's `--timeout` bound it).
    func run(_ arguments: String...) async throws -> Result {
        let id = UUID().uuidString.prefix(8)
        let out = URL(fileURLWithPath: workDir + "/kubectl-\(id).out"), err = URL(fileURLWithPath: workDir + "/kubectl-\(id).err")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["--kubeconfig", kubeconfig, "--cache-dir", workDir + "/kube-cache", "--request-timeout", "20s"] + arguments
        process.environment = ["HOME": workDir, "PATH": "/usr/bin:/bin", "NO_PROXY": "127.0.0.1,localhost"]
        process.currentDirectoryURL = URL(fileURLWithPath: workDir)
        process.standardInput = FileHandle.nullDevice
        let outHandle = try FileHandle(forWritingTo: out), errHandle = try FileHandle(forWritingTo: err)
        process.standardOutput = outHandle
        process.standardError = errHandle
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { p in continuation.resume(returning: p.terminationStatus) }
            do {
                try process.run()
            } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: error)
            }
        }
        try? outHandle.close()
        try? errHandle.close()
        return Result(status: status, stdout: (try? String(contentsOf: out, encoding: .utf8)) ?? "",
                      stderr: (try? String(contentsOf: err, encoding: .utf8)) ?? "")
    }
}
