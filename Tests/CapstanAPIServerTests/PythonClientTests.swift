import Foundation
import Testing

/// Whether python3 with the official `kubernetes` package is installed.
let pythonKubernetesAvailable: Bool = {
    guard let python = which("python3") else { return false }
    let p = Process()
    p.executableURL = URL(fileURLWithPath: python)
    p.arguments = ["-c", "import kubernetes"]
    p.standardOutput = FileHandle.nullDevice
    p.standardError = FileHandle.nullDevice
    guard (try? p.run()) != nil else { return false }
    p.waitUntilExit()
    return p.terminationStatus == 0
}()

@Suite("The official Python client", .tags(.integration),
       .enabled(if: pythonKubernetesAvailable, "python3 with the `kubernetes` package is not installed (pip install kubernetes)"))
struct PythonClientTests {
    @Test func crudPatchAndWatch() async throws {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("python/client_test.py").path
        try await withServer(tls: true) { s in
            let kubeconfig = try s.kubeconfig()
            let env = ["HOME": s.directory, "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
                       "PYTHONDONTWRITEBYTECODE": "1", "NO_PROXY": "127.0.0.1,localhost"]
            let p = try ChildProcess(which("python3")!, [script, kubeconfig], directory: s.directory, environment: env)
            let r = await p.wait(timeout: .seconds(60))
            #expect(r.exitCode == 0 && !r.timedOut, "\(r)")
            #expect(r.stdout.contains("ALL OK"), "\(r)")
        }
    }
}
