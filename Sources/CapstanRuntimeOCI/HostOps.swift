import CapstanContainerRuntime
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Host-side operations of the runtime: overlay mounts, persistent namespaces, cgroup files.
enum HostOps {
    // MARK: Overlay

    /// Mounts `layers` (bottom first) with a writable upper dir at `target`.
    static func mountOverlay(layers: [String], upper: String, work: String, target: String) throws(RuntimeError) {
        for directory in [upper, work, target] {
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            } catch {
                throw RuntimeError(.createFailed, "cannot create \(directory): \(error)")
            }
        }
        guard !layers.isEmpty else {
            throw RuntimeError(.createFailed, "image has no layers")
        }
        let options = "lowerdir=\(layers.reversed().joined(separator: ":")),upperdir=\(upper),workdir=\(work)"
        guard options.utf8.count < 4000 else {
            throw RuntimeError(.createFailed, "too many image layers for one overlay mount (\(layers.count))")
        }
        guard mount("overlay", target, "overlay", 0, options) == 0 else {
            throw RuntimeError(.createFailed, "mounting the overlay rootfs at \(target): \(String(cString: strerror(errno)))")
        }
    }

    /// Lazily unmounts `target` if it is a mount point; missing targets are fine.
    static func unmount(_ target: String) {
        if umount2(target, Int32(MNT_DETACH)) != 0 && errno != EINVAL && errno != ENOENT {
            // Nothing more to do: a busy mount is detached; anything else is left for the next cleanup.
        }
    }

    // MARK: Namespaces

    /// Creates persistent namespaces bind-mounted on the given files, with `lo` up in a new
    /// network namespace and the host name in a new UTS namespace (see `PodNamespaces`).
    static func createNamespaces(network: String?, ipc: String?, uts: String?, hostname: String) throws(RuntimeError) {
        do {
            try PodNamespaces.create(network: network, ipc: ipc, uts: uts, hostname: hostname)
        } catch {
            throw RuntimeError(.internalError, "creating the pod namespaces: \(error)")
        }
    }

    /// Unmounts and deletes namespace files (missing ones are fine).
    static func removeNamespaces(_ paths: [String]) {
        for path in paths { PodNamespaces.remove(path) }
    }

    // MARK: Cgroups

    /// Whether the container's memory cgroup saw an OOM kill (cgroup v1 `memory.oom_control`
    /// or v2 `memory.events`; the hybrid layout has memory in v1).
    static func sawOOMKill(cgroupsPath: String) -> Bool {
        let candidates = [
            "/sys/fs/cgroup/memory\(cgroupsPath)/memory.oom_control",
            "/sys/fs/cgroup/unified\(cgroupsPath)/memory.events",
            "/sys/fs/cgroup\(cgroupsPath)/memory.events",
        ]
        for path in candidates {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { continue }
            for line in text.split(separator: "\n") {
                let fields = line.split(separator: " ")
                if fields.count == 2, fields[0] == "oom_kill", let count = Int(fields[1]), count > 0 { return true }
            }
        }
        return false
    }

    /// Removes an (empty) cgroup directory from every hierarchy, children first.
    static func removeCgroup(_ path: String) {
        guard let controllers = try? FileManager.default.contentsOfDirectory(atPath: "/sys/fs/cgroup") else { return }
        for controller in controllers {
            let base = "/sys/fs/cgroup/\(controller)\(path)"
            removeTree(base)
        }
        removeTree("/sys/fs/cgroup\(path)")
    }

    private static func removeTree(_ directory: String) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else { return }
        for child in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] {
            var childIsDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: directory + "/" + child, isDirectory: &childIsDirectory), childIsDirectory.boolValue {
                removeTree(directory + "/" + child)
            }
        }
        rmdir(directory)
    }

    // MARK: Subreaper

    /// Makes this process the reaper of orphaned descendants (container init processes).
    static func becomeSubreaper() -> Bool {
        c_prctl(36 /* PR_SET_CHILD_SUBREAPER */, 1, 0, 0, 0) == 0
    }
}

@_silgen_name("prctl")
private func c_prctl(_ option: Int32, _ arg2: UInt, _ arg3: UInt, _ arg4: UInt, _ arg5: UInt) -> Int32
