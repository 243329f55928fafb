import CCapstanHost
import CapstanContainerRuntime
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The agent's side of `capstan-shim` (Sources/CCapstanShim), the small C process that is each
/// container's parent. Everything the shim and the agent share lives in the bundle:
/// - `shim.lock`: the shim holds an exclusive flock on it while it runs; a shared lock that
///   can be taken means the shim is gone (also when it is not this process's child, after an
///   agent restart);
/// - `exit`: written atomically once the container's init exited (`exit_code`, `signal`,
///   `oom_killed`, `finished_at` lines), before the shim runs the OCI runtime's `delete` and ends;
/// - `attach.sock`: for containers with stdin, bytes sent on a connection go to the container's
///   stdin; the end of a connection closes that stdin when the container has `stdinOnce`;
/// - `shim.pid` and `shim.log` (the shim's own errors), for people.
enum Shim {
    static let binaryName = "capstan-shim"

    /// `capstan-shim` next to this process's executable (as `swift build` and the release
    /// build leave it), else on PATH.
    static func locate() -> String? {
        let fm = FileManager.default
        if let executable = try? fm.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            let candidate = (executable as NSString).deletingLastPathComponent + "/" + binaryName
            if fm.isExecutableFile(atPath: candidate) { return candidate }
        }
        return Subprocess.find(onPath: binaryName)
    }

    /// How the container's init ended, as the shim recorded it.
    struct Exit: Equatable {
        var code: Int32
        var signal: Int32
        var oomKilled: Bool
        var finishedAt: Date
    }

    static func readExit(bundle: String) -> Exit? {
        guard let text = try? String(contentsOfFile: bundle + "/exit", encoding: .utf8) else { return nil }
        var fields: [Substring: Substring] = [:]
        for line in text.split(separator: "\n") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            fields[line[..<equals]] = line[line.index(after: equals)...]
        }
        guard let code = fields["exit_code"].flatMap({ Int32($0) }) else { return nil }
        let finished = fields["finished_at"].flatMap { Double($0) }.map { Date(timeIntervalSince1970: $0) } ?? Date()
        return Exit(code: code, signal: fields["signal"].flatMap { Int32($0) } ?? 0, oomKilled: fields["oom_killed"] == "1",
                    finishedAt: finished)
    }

    /// Whether a shim runs for the bundle: nil when none was ever started there.
    static func isRunning(bundle: String) -> Bool? {
        let fd = open(bundle + "/shim.lock", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        return flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK
    }

    /// Returns once no shim holds the bundle's lock (waits on a thread of its own).
    static func waitForEnd(bundle: String) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let thread = Thread {
                let fd = open(bundle + "/shim.lock", O_RDONLY | O_CLOEXEC)
                if fd >= 0 {
                    while flock(fd, LOCK_SH) != 0 && errno == EINTR {}
                    close(fd)
                }
                continuation.resume()
            }
            thread.stackSize = 64 << 10
            thread.start()
        }
    }

    /// A connection to the shim's stdin socket (through /proc/self/fd when the path is too
    /// long for a socket address).
    static func connectStdin(bundle: String) throws(RuntimeError) -> Int32 {
        let directory = capstan_open_directory_path(bundle)
        guard directory >= 0 else { throw RuntimeError(.notFound, "bundle \(bundle) is gone") }
        defer { close(directory) }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw RuntimeError(.internalError, "socket: \(String(cString: strerror(errno)))") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        var path = Array((bundle + "/attach.sock").utf8)
        if path.count >= capacity { path = Array("/proc/self/fd/\(directory)/attach.sock".utf8) }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: path)
            raw[path.count] = 0
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw RuntimeError(.failedPrecondition, "the container's stdin is closed (\(reason))")
        }
        return fd
    }

    /// The shim's own error output, when it wrote any.
    static func errors(bundle: String) -> String? {
        guard let text = try? String(contentsOfFile: bundle + "/shim.log", encoding: .utf8) else { return nil }
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return trimmed.isEmpty ? nil : trimmed
    }
}
