import CCapstanHost
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A container's init process, held by a pidfd once it is known to be that container's.
///
/// The shim reaps the init when it exits; until the agent hears of it, the PID may already
/// belong to another process. A signal through the pidfd reaches the container's init or
/// nothing. Kernels without pidfds (before 5.3) fall back to signalling the PID.
final class ContainerProcess: Sendable {
    let pid: Int32
    /// The pidfd, or -1 where the kernel has none.
    private let fd: Int32

    private init(pid: Int32, fd: Int32) {
        self.pid = pid
        self.fd = fd
    }

    deinit {
        if fd >= 0 { close(fd) }
    }

    /// The process `pid`, when it is (still) in the container's cgroup `cgroupsPath`; nil when it
    /// has gone or the PID now belongs to another process.
    static func open(pid: Int32, cgroupsPath: String) -> ContainerProcess? {
        let fd = capstan_pidfd_open(pid)
        if fd == -ENOSYS { return ContainerProcess(pid: pid, fd: -1) }
        guard fd >= 0 else { return nil }
        // The pidfd names one process for good; check that it is the container's (read after
        // the open: had the PID been reused before it, the cgroup would not match).
        guard isIn(pid: pid, cgroupsPath: cgroupsPath) else {
            close(fd)
            return nil
        }
        return ContainerProcess(pid: pid, fd: fd)
    }

    /// Whether `/proc/<pid>/cgroup` puts the process at `cgroupsPath` (in any hierarchy).
    static func isIn(pid: Int32, cgroupsPath: String) -> Bool {
        guard let text = ProcFile.read("/proc/\(pid)/cgroup") else { return false }
        return text.split(separator: "\n").contains { $0.hasSuffix(":" + cgroupsPath) }
    }

    /// Sends `signal`; false when the process has exited.
    @discardableResult
    func signal(_ signal: Int32) -> Bool {
        if fd < 0 { return kill(pid, signal) == 0 }
        return capstan_pidfd_send_signal(fd, signal) == 0
    }
}
