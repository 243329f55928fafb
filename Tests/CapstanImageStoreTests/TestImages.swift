import Foundation
import Synchronization

/// Builds the busybox test images once per test process with scripts/build-test-image.sh.
enum TestImages {
    private static let built = Mutex<String?>(nil)

    /// Directory with `oci/`, `busybox-oci.tar`, `busybox-docker.tar`; nil when busybox-static is missing.
    static func directory() throws -> String? {
        guard FileManager.default.isExecutableFile(atPath: "/bin/busybox") else { return nil }
        return try built.withLock { built in
            if let built { return built }
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("capstan-test-images-\(getpid())").path
            let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("scripts/build-test-image.sh").path
            try Shell.run([script, directory])
            built = directory
            removeAtExit(directory)
            return directory
        }
    }
}

enum Shell {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Runs a command and returns its stdout; throws with stderr on a non-zero exit.
    @discardableResult
    static func run(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let output = out.fileHandleForReading.readDataToEndOfFile()
        let errors = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(description: "\(arguments.joined(separator: " ")) failed: \(String(decoding: errors, as: UTF8.self))")
        }
        return String(decoding: output, as: UTF8.self)
    }

    static func available(_ tool: String) -> Bool {
        (try? run(["sh", "-c", "command -v \(tool)"])) != nil
    }
}

/// A Debian `docker-registry` on a loopback port, serving from a temporary directory.
final class LocalRegistry: Sendable {
    let address: String
    let directory: String
    private let process: Process

    private init(address: String, directory: String, process: Process) {
        self.address = address
        self.directory = directory
        self.process = process
    }

    static var available: Bool { Shell.available("docker-registry") && Shell.available("skopeo") }

    /// A bcrypt htpasswd line for basic auth (nil when python3's crypt module is missing).
    static func htpasswd(user: String, password: String) -> String? {
        guard let hash = try? Shell.run(["python3", "-W", "ignore", "-c", "import crypt,sys; print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)))", password]) else { return nil }
        let trimmed = hash.trimmingCharacters(in: .whitespacesAndNewlines)
        return trimmed.hasPrefix("$2") ? "\(user):\(trimmed)" : nil
    }

    /// Starts a registry; with `htpasswd` it requires basic auth.
    static func start(htpasswd: String? = nil) async throws -> LocalRegistry {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("capstan-registry-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for _ in 0 ..< 5 {
            let port = Int.random(in: 20000 ..< 40000)
            let config = """
            version: 0.1
            log: {level: error}
            storage:
              filesystem: {rootdirectory: \(directory)/data}
              delete: {enabled: true}
            http: {addr: 127.0.0.1:\(port)}
            """ + (htpasswd == nil ? "" : "\nauth:\n  htpasswd: {realm: capstan-test, path: \(directory)/htpasswd}\n")
            if let htpasswd { try (htpasswd + "\n").write(toFile: directory + "/htpasswd", atomically: true, encoding: .utf8) }
            try config.write(toFile: directory + "/config.yml", atomically: true, encoding: .utf8)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["docker-registry", "serve", directory + "/config.yml"]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle(forWritingAtPath: "/dev/null")
            try process.run()
            let registry = LocalRegistry(address: "127.0.0.1:\(port)", directory: directory, process: process)
            for _ in 0 ..< 100 {
                if !process.isRunning { break }
                if let code = try? Shell.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(port)/v2/"]), code == "200" || code == "401" { return registry }
                try await Task.sleep(for: .milliseconds(20))
            }
            registry.stop()
        }
        throw Shell.Failure(description: "docker-registry did not start")
    }

    /// Pushes `oci:LAYOUT:TAG` (or any skopeo source) to `repository:tag`.
    func push(_ source: String, as target: String, credentials: String? = nil) throws {
        try Shell.run(["skopeo", "copy", "-q", "--dest-tls-verify=false"] + (credentials.map { ["--dest-creds", $0] } ?? []) + [source, "docker://\(address)/\(target)"])
    }

    func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: directory)
    }
}

func withTemporaryRoot<T>(_ body: (String) async throws -> T) async throws -> T {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("capstan-images-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: root) }
    return try await body(root)
}

/// Test images are shared by the tests of one process and removed when it exits.
nonisolated(unsafe) private var directoriesToRemove: [String] = []

private func removeAtExit(_ directory: String) {
    directoriesToRemove.append(directory)
    atexit {
        for directory in directoriesToRemove { try? FileManager.default.removeItem(atPath: directory) }
    }
}
