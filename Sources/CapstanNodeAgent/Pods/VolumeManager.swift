#if canImport(Glibc)
import Glibc
#endif
import CapstanAPI
import CapstanAPIMachinery
import CapstanClient
import CapstanContainerRuntime
import Foundation

/// Prepares a pod's volumes under `<pod dir>/volumes/<name>` and turns a container's volumeMounts
/// into bind mounts: emptyDir (a directory; medium Memory is a tmpfs with the size limit),
/// hostPath (with its type checks), configMap, secret, downwardAPI and projected (configMap,
/// secret, downwardAPI; serviceAccountToken is skipped) written atomically through a `..data`
/// symlink swap, as kubelet's atomic writer does; subPath.
struct VolumeManager {
    struct VolumeError: Error, CustomStringConvertible { let description: String }

    let configuration: NodeAgentConfiguration
    let client: APIClient

    func mounts(for container: CoreV1.Container, pod: CoreV1.Pod, podIP: String?) async throws -> [Mount] {
        let volumes = Dictionary((pod.spec?.volumes ?? []).map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        var mounts: [Mount] = []
        for mount in container.volumeMounts ?? [] {
            guard let volume = volumes[mount.name] else { throw VolumeError(description: "volume \"\(mount.name)\" not found in the pod") }
            let (path, forceReadOnly) = try await prepare(volume, pod: pod, podIP: podIP)
            var hostPath = path
            if let sub = mount.subPath, !sub.isEmpty {
                guard !sub.hasPrefix("/"), !sub.split(separator: "/").contains("..") else {
                    throw VolumeError(description: "subPath \"\(sub)\" must be a relative path without '..'")
                }
                hostPath = path + "/" + sub
                if !FileManager.default.fileExists(atPath: hostPath) {
                    try FileManager.default.createDirectory(atPath: hostPath, withIntermediateDirectories: true)
                }
            }
            let propagation: MountPropagation = switch mount.mountPropagation {
            case "HostToContainer": .hostToContainer
            case "Bidirectional": .bidirectional
            default: .private
            }
            mounts.append(Mount(hostPath: hostPath, containerPath: mount.mountPath, readOnly: forceReadOnly || mount.readOnly == true,
                                propagation: propagation))
        }
        return mounts
    }

    /// The directory of the volume a bound claim names: a hostPath or local persistent volume.
    private func claimedPath(_ source: CoreV1.PersistentVolumeClaimVolumeSource, namespace: String) async throws -> String {
        let claim: CoreV1.PersistentVolumeClaim
        do {
            claim = try await client.get(CoreV1.PersistentVolumeClaim.self, name: source.claimName, namespace: namespace)
        } catch let error as APIError where error.code == 404 {
            throw VolumeError(description: "persistentvolumeclaim \"\(source.claimName)\" not found")
        }
        guard claim.status?.phase == "Bound", let name = claim.spec?.volumeName, !name.isEmpty else {
            throw VolumeError(description: "persistentvolumeclaim \"\(source.claimName)\" is not bound")
        }
        let volume = try await client.get(CoreV1.PersistentVolume.self, name: name, namespace: nil)
        if let hostPath = volume.spec?.hostPath {
            try Self.checkHostPath(hostPath)
            return hostPath.path
        }
        if let local = volume.spec?.local {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: local.path, isDirectory: &isDirectory) else {
                throw VolumeError(description: "local volume \"\(name)\": path \(local.path) does not exist")
            }
            return local.path
        }
        throw VolumeError(description: "persistent volume \"\(name)\" is neither hostPath nor local; this node mounts only those")
    }

    /// Rewrites the pod's configMap, secret, downwardAPI and projected volumes that changed (the
    /// atomic writer leaves identical content alone). Missing objects keep the last content.
    func refresh(pod: CoreV1.Pod, podIP: String?) async {
        for volume in pod.spec?.volumes ?? []
        where volume.configMap != nil || volume.secret != nil || volume.downwardAPI != nil || volume.projected != nil {
            _ = try? await prepare(volume, pod: pod, podIP: podIP)
        }
    }

    /// The volume's host directory (created or refreshed), and whether it is always read-only.
    private func prepare(_ volume: CoreV1.Volume, pod: CoreV1.Pod, podIP: String?) async throws -> (String, Bool) {
        let meta = pod.metadata
        let directory = configuration.podDirectory(namespace: meta?.namespace ?? "", name: meta?.name ?? "", uid: meta?.uid ?? "")
            + "/volumes/" + volume.name
        let fm = FileManager.default
        if let hostPath = volume.hostPath {
            try Self.checkHostPath(hostPath)
            return (hostPath.path, false)
        }
        if let claim = volume.persistentVolumeClaim {
            return (try await claimedPath(claim, namespace: meta?.namespace ?? "default"), claim.readOnly == true)
        }
        try fm.createDirectory(atPath: directory, withIntermediateDirectories: true)
        if let emptyDir = volume.emptyDir {
            if emptyDir.medium == "Memory", !Self.isMountPoint(directory) {
                var options = "mode=0777"
                if let size = emptyDir.sizeLimit, !size.isZero { options += ",size=\(size.value)" }
                let result = options.withCString { mount("tmpfs", directory, "tmpfs", 0, $0) }
                if result != 0 { throw VolumeError(description: "mounting tmpfs for emptyDir \(volume.name) failed: errno \(errno)") }
            } else {
                chmod(directory, 0o777)
            }
            return (directory, false)
        }
        let namespace = meta?.namespace ?? "default"
        var files: [String: (bytes: [UInt8], mode: Int32)] = [:]
        if let source = volume.configMap {
            try await addConfigMap(name: source.name ?? "", items: source.items, optional: source.optional, mode: source.defaultMode ?? 0o644,
                                   namespace: namespace, into: &files)
        } else if let source = volume.secret {
            try await addSecret(name: source.secretName ?? "", items: source.items, optional: source.optional, mode: source.defaultMode ?? 0o644,
                                namespace: namespace, into: &files)
        } else if let source = volume.downwardAPI {
            addDownward(source.items ?? [], mode: source.defaultMode ?? 0o644, pod: pod, podIP: podIP, into: &files)
        } else if let projected = volume.projected {
            let mode = projected.defaultMode ?? 0o644
            for source in projected.sources ?? [] {
                if let s = source.configMap {
                    try await addConfigMap(name: s.name ?? "", items: s.items, optional: s.optional, mode: mode, namespace: namespace, into: &files)
                }
                if let s = source.secret {
                    try await addSecret(name: s.name ?? "", items: s.items, optional: s.optional, mode: mode, namespace: namespace, into: &files)
                }
                if let s = source.downwardAPI { addDownward(s.items ?? [], mode: mode, pod: pod, podIP: podIP, into: &files) }
            }
        } else {
            throw VolumeError(description: "volume \"\(volume.name)\": this volume type is not supported by the capstan agent")
        }
        try AtomicWriter.write(files, to: directory)
        return (directory, true)
    }

    private func addConfigMap(name: String, items: [CoreV1.KeyToPath]?, optional: Bool?, mode: Int32, namespace: String,
                              into files: inout [String: (bytes: [UInt8], mode: Int32)]) async throws {
        let data: [String: [UInt8]]
        do {
            let object = try await client.get(CoreV1.ConfigMap.self, name: name, namespace: namespace)
            data = (object.data ?? [:]).mapValues { Array($0.utf8) }.merging(Self.decode(object.binaryData ?? [:])) { a, _ in a }
        } catch {
            if optional == true { return }
            throw VolumeError(description: "configmap \"\(name)\" not found")
        }
        try Self.add(data, items: items, mode: mode, kind: "configmap", name: name, into: &files)
    }

    private func addSecret(name: String, items: [CoreV1.KeyToPath]?, optional: Bool?, mode: Int32, namespace: String,
                           into files: inout [String: (bytes: [UInt8], mode: Int32)]) async throws {
        let data: [String: [UInt8]]
        do {
            data = Self.decode(try await client.get(CoreV1.Secret.self, name: name, namespace: namespace).data ?? [:])
        } catch {
            if optional == true { return }
            throw VolumeError(description: "secret \"\(name)\" not found")
        }
        try Self.add(data, items: items, mode: mode, kind: "secret", name: name, into: &files)
    }

    private func addDownward(_ items: [CoreV1.DownwardAPIVolumeFile], mode: Int32, pod: CoreV1.Pod, podIP: String?,
                             into files: inout [String: (bytes: [UInt8], mode: Int32)]) {
        let builder = ContainerConfigBuilder(pod: pod, podIP: podIP, hostIP: "")
        for item in items {
            var value = ""
            if let ref = item.fieldRef { value = builder.fieldValue(ref.fieldPath) }
            if let ref = item.resourceFieldRef {
                let container = pod.spec?.containers.first { $0.name == ref.containerName } ?? pod.spec?.containers.first
                if let container { value = ContainerConfigBuilder.resourceValue(ref.resource, container: container, divisor: ref.divisor) }
            }
            files[item.path] = (Array(value.utf8), item.mode ?? mode)
        }
    }

    static func add(_ data: [String: [UInt8]], items: [CoreV1.KeyToPath]?, mode: Int32, kind: String, name: String,
                    into files: inout [String: (bytes: [UInt8], mode: Int32)]) throws {
        if let items, !items.isEmpty {
            for item in items {
                guard let bytes = data[item.key] else { throw VolumeError(description: "\(kind) \"\(name)\" has no key \"\(item.key)\"") }
                files[item.path] = (bytes, item.mode ?? mode)
            }
        } else {
            for (key, bytes) in data { files[key] = (bytes, mode) }
        }
    }

    static func decode(_ data: [String: String]) -> [String: [UInt8]] {
        data.compactMapValues { Data(base64Encoded: $0).map { [UInt8]($0) } }
    }

    static func checkHostPath(_ source: CoreV1.HostPathVolumeSource) throws {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        let exists = fm.fileExists(atPath: source.path, isDirectory: &isDirectory)
        switch source.type ?? "" {
        case "DirectoryOrCreate":
            if !exists { try fm.createDirectory(atPath: source.path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755]) }
        case "FileOrCreate":
            if !exists { _ = fm.createFile(atPath: source.path, contents: nil, attributes: [.posixPermissions: 0o644]) }
        case "Directory":
            guard exists, isDirectory.boolValue else { throw VolumeError(description: "hostPath type check failed: \(source.path) is not a directory") }
        case "File":
            guard exists, !isDirectory.boolValue else { throw VolumeError(description: "hostPath type check failed: \(source.path) is not a file") }
        case "Socket", "CharDevice", "BlockDevice":
            guard exists else { throw VolumeError(description: "hostPath type check failed: \(source.path) does not exist") }
        default:
            break
        }
    }

    static func isMountPoint(_ path: String) -> Bool {
        var own = stat()
        var parent = stat()
        guard stat(path, &own) == 0, stat(path + "/..", &parent) == 0 else { return false }
        return own.st_dev != parent.st_dev
    }
}

/// Writes a set of files into a directory so readers never see a half-updated set: files go into
/// a fresh `..<timestamp>` directory, `..data` is swapped to it with one rename, and each
/// top-level name is a symlink through `..data`.
enum AtomicWriter {
    static func write(_ files: [String: (bytes: [UInt8], mode: Int32)], to directory: String) throws {
        let fm = FileManager.default
        if unchanged(files, in: directory + "/..data") { return }
        let stamp = "..\(Int(Date().timeIntervalSince1970 * 1e6))"
        let staging = directory + "/" + stamp
        try fm.createDirectory(atPath: staging, withIntermediateDirectories: true)
        for (path, file) in files {
            guard !path.hasPrefix("/"), !path.split(separator: "/").contains("..") else { continue }
            let target = staging + "/" + path
            try fm.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try Data(file.bytes).write(to: URL(fileURLWithPath: target))
            chmod(target, mode_t(file.mode & 0o777))
        }
        let previous = try? fm.destinationOfSymbolicLink(atPath: directory + "/..data")
        let temporary = directory + "/..data_tmp"
        try? fm.removeItem(atPath: temporary)
        try fm.createSymbolicLink(atPath: temporary, withDestinationPath: stamp)
        guard rename(temporary, directory + "/..data") == 0 else { throw VolumeManager.VolumeError(description: "swapping ..data failed: errno \(errno)") }
        let topLevel = Set(files.keys.compactMap { $0.split(separator: "/").first.map(String.init) })
        for name in topLevel where (try? fm.destinationOfSymbolicLink(atPath: directory + "/" + name)) == nil {
            try? fm.removeItem(atPath: directory + "/" + name)
            try fm.createSymbolicLink(atPath: directory + "/" + name, withDestinationPath: "..data/" + name)
        }
        // Names no longer present go away.
        for entry in (try? fm.contentsOfDirectory(atPath: directory)) ?? [] where !entry.hasPrefix("..") && !topLevel.contains(entry) {
            try? fm.removeItem(atPath: directory + "/" + entry)
        }
        if let previous, previous != stamp { try? fm.removeItem(atPath: directory + "/" + previous) }
    }

    /// Whether `data` holds exactly these files with these contents and modes.
    static func unchanged(_ files: [String: (bytes: [UInt8], mode: Int32)], in data: String) -> Bool {
        guard let existing = FileManager.default.enumerator(atPath: data) else { return false }
        var count = 0
        while let path = existing.nextObject() as? String {
            var info = stat()
            guard stat(data + "/" + path, &info) == 0 else { return false }
            if info.st_mode & S_IFMT == S_IFDIR { continue }
            count += 1
            guard let file = files[path], Int32(info.st_mode & 0o777) == file.mode & 0o777,
                  let bytes = FileManager.default.contents(atPath: data + "/" + path), [UInt8](bytes) == file.bytes else { return false }
        }
        return count == files.count
    }
}
