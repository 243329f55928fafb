import CCapstanHost
import CapstanContainerRuntime
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The runtime's state directory on a tmpfs of its own.
///
/// Bundles, records, namespace files and the OCI runtime's state live exactly as long as the
/// containers, so memory serves (containerd keeps the same under `/run`), and a pod's start
/// creates no inodes on the node's disk for them. The tmpfs outlives the agent, so a new agent
/// adopts the containers of the last one; it goes when the host restarts, with the containers.
public enum StateMount {
    /// Mounts a tmpfs at `path` unless one is there already (left by a previous agent, with
    /// the state of containers that still run, or because `path` lies on a tmpfs anyway).
    public static func prepare(_ path: String, sizeMB: Int = 64) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        let onTmpfs = capstan_is_tmpfs(path)
        guard onTmpfs >= 0 else {
            throw RuntimeError(.internalError, "cannot inspect \(path): \(String(cString: strerror(-onTmpfs)))")
        }
        if onTmpfs == 1 { return }
        let options = "mode=0700,size=\(sizeMB)m"
        guard mount("tmpfs", path, "tmpfs", UInt(MS_NOSUID | MS_NODEV), options) == 0 else {
            throw RuntimeError(.internalError, "mounting a tmpfs for the runtime state at \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// Unmounts and removes `path` once no sandbox or container is recorded in it (after the
    /// agent stopped its pods, or they were all deleted); else keeps it for the next agent.
    /// Returns whether it was released.
    @discardableResult
    public static func release(_ path: String) -> Bool {
        let fm = FileManager.default
        for directory in ["sandboxes", "containers"] {
            if let entries = try? fm.contentsOfDirectory(atPath: path + "/" + directory), !entries.isEmpty { return false }
        }
        discard(path)
        try? fm.removeItem(atPath: path)
        return true
    }

    /// Unmounts `path` if it is mounted, whatever it records (a cluster directory being reset).
    public static func discard(_ path: String) {
        if isMountPoint(path) { HostOps.unmount(path) }
    }

    /// Whether `path` is the root of a mount (its device differs from its parent's).
    static func isMountPoint(_ path: String) -> Bool {
        var own = stat(), parent = stat()
        guard stat(path, &own) == 0, stat(path + "/..", &parent) == 0 else { return false }
        return own.st_dev != parent.st_dev
    }
}
