#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// What the node agent reports about the machine it runs on: resources, addresses and the
/// system information of `NodeStatus.nodeInfo`. Read once by ``HostFacts/probe(rootDirectory:runtimeVersion:)``;
/// tests build it by hand.
public struct HostFacts: Sendable, Hashable {
    public var hostname: String
    /// The first non-loopback IPv4 address, or 127.0.0.1.
    public var internalIP: String
    public var cpuCount: Int
    public var memoryBytes: Int64
    /// Size of the file system that holds the agent's root directory.
    public var ephemeralStorageBytes: Int64
    public var kernelVersion: String
    public var osImage: String
    public var operatingSystem: String
    /// `amd64`, `arm64`, ... (Go's names, as Kubernetes uses them).
    public var architecture: String
    public var machineID: String
    public var bootID: String
    public var systemUUID: String
    /// `runc://1.1.5`, as kubelet writes `containerd://1.7.0`.
    public var containerRuntimeVersion: String

    public init(hostname: String, internalIP: String, cpuCount: Int, memoryBytes: Int64, ephemeralStorageBytes: Int64,
                kernelVersion: String = "", osImage: String = "", operatingSystem: String = "linux",
                architecture: String = "amd64", machineID: String = "", bootID: String = "", systemUUID: String = "",
                containerRuntimeVersion: String = "") {
        self.hostname = hostname
        self.internalIP = internalIP
        self.cpuCount = cpuCount
        self.memoryBytes = memoryBytes
        self.ephemeralStorageBytes = ephemeralStorageBytes
        self.kernelVersion = kernelVersion
        self.osImage = osImage
        self.operatingSystem = operatingSystem
        self.architecture = architecture
        self.machineID = machineID
        self.bootID = bootID
        self.systemUUID = systemUUID
        self.containerRuntimeVersion = containerRuntimeVersion
    }

    /// Reads the facts of this machine: CPUs from sysconf, memory from /proc/meminfo, storage
    /// from statvfs of `rootDirectory`, OS image from /etc/os-release, kernel from uname.
    public static func probe(rootDirectory: String, runtimeVersion: String) -> HostFacts {
        let name = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "localhost"
        var facts = HostFacts(
            hostname: name.lowercased(),
            internalIP: firstIPv4Address() ?? "127.0.0.1",
            cpuCount: max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))),
            memoryBytes: (try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8)).flatMap(parseMemTotal)
                ?? Int64(ProcessInfo.processInfo.physicalMemory),
            ephemeralStorageBytes: fileSystemSize(of: rootDirectory) ?? 0,
            containerRuntimeVersion: runtimeVersion)
        var u = utsname()
        if uname(&u) == 0 {
            facts.kernelVersion = withUnsafeBytes(of: u.release) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            let machine = withUnsafeBytes(of: u.machine) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            facts.architecture = goArchitecture(machine)
        }
        facts.osImage = (try? String(contentsOfFile: "/etc/os-release", encoding: .utf8)).flatMap(parsePrettyName) ?? "Linux"
        facts.machineID = readTrimmed("/etc/machine-id") ?? ""
        facts.bootID = readTrimmed("/proc/sys/kernel/random/boot_id") ?? ""
        facts.systemUUID = readTrimmed("/sys/class/dmi/id/product_uuid") ?? facts.machineID
        return facts
    }

    /// `MemTotal:       24615564 kB` → bytes.
    static func parseMemTotal(_ text: String) -> Int64? {
        for line in text.split(separator: "\n") where line.hasPrefix("MemTotal:") {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 2, let value = Int64(fields[1]) else { return nil }
            let unit = fields.count >= 3 ? fields[2].lowercased() : ""
            return unit == "kb" ? value * 1024 : value
        }
        return nil
    }

    /// `PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"` → the quoted value.
    static func parsePrettyName(_ text: String) -> String? {
        for line in text.split(separator: "\n") where line.hasPrefix("PRETTY_NAME=") {
            var value = line.dropFirst("PRETTY_NAME=".count)
            if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = value.dropFirst().dropLast() }
            return String(value)
        }
        return nil
    }

    static func goArchitecture(_ machine: String) -> String {
        switch machine {
        case "x86_64": return "amd64"
        case "aarch64", "arm64": return "arm64"
        case "i386", "i686": return "386"
        case "armv7l", "armv6l": return "arm"
        default: return machine
        }
    }

    static func fileSystemSize(of path: String) -> Int64? {
        var s = statvfs()
        guard statvfs(path, &s) == 0 else { return nil }
        return Int64(s.f_blocks) * Int64(s.f_frsize)
    }

    private static func readTrimmed(_ path: String) -> String? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return trimmed.isEmpty ? nil : trimmed
    }

    /// The node's address: the IPv4 address of the interface the default route leaves by (as
    /// kubelet picks it), else the first address of a non-loopback, non-pod interface by name.
    private static func firstIPv4Address() -> String? {
        let candidates = ipv4Addresses()
        if let routes = try? String(contentsOfFile: "/proc/net/route", encoding: .utf8),
           let interface = defaultRouteInterface(routeTable: routes),
           let match = candidates.first(where: { $0.name == interface }) {
            return match.address
        }
        // Bridges and veths of pods (ours and others') are not the node's address.
        let pods = ["capstan", "cst", "veth", "cni", "docker", "br-", "virbr"]
        return candidates.filter { c in !pods.contains { c.name.hasPrefix($0) } }
            .sorted { $0.name < $1.name }.first?.address
    }

    /// The interface of the default route (destination and mask 0, lowest metric) in the text
    /// of /proc/net/route.
    static func defaultRouteInterface(routeTable: String) -> String? {
        var best: (name: String, metric: Int)?
        for line in routeTable.split(separator: "\n").dropFirst() {
            let f = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard f.count >= 8, f[1] == "00000000", f[7] == "00000000",
                  let flags = Int(f[3], radix: 16), flags & 0x1 != 0, let metric = Int(f[6]) else { continue }
            if best == nil || metric < best!.metric { best = (String(f[0]), metric) }
        }
        return best?.name
    }

    /// IPv4 addresses of the interfaces that are up, loopback excluded.
    private static func ipv4Addresses() -> [(name: String, address: String)] {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0, let first = list else { return [] }
        defer { freeifaddrs(list) }
        var candidates: [(name: String, address: String)] = []
        var cursor: UnsafeMutablePointer<ifaddrs>? = first
        while let entry = cursor {
            defer { cursor = entry.pointee.ifa_next }
            guard let sa = entry.pointee.ifa_addr, sa.pointee.sa_family == UInt8(AF_INET) else { continue }
            let flags = Int32(entry.pointee.ifa_flags)
            guard flags & Int32(IFF_LOOPBACK) == 0, flags & Int32(IFF_UP) != 0 else { continue }
            let name = String(cString: entry.pointee.ifa_name)
            var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            guard getnameinfo(sa, socklen_t(MemoryLayout<sockaddr_in>.size), &host, socklen_t(host.count), nil, 0, NI_NUMERICHOST) == 0
            else { continue }
            candidates.append((name, String(decoding: host.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)))
        }
        return candidates
    }
}

extension HostUsage {
    /// Samples free memory (MemAvailable), free space under `rootDirectory` and free PIDs.
    public static func sample(rootDirectory: String) -> HostUsage {
        let meminfo = (try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8)) ?? ""
        var memory: Int64 = .max
        for line in meminfo.split(separator: "\n") where line.hasPrefix("MemAvailable:") {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if fields.count >= 2, let kb = Int64(fields[1]) { memory = kb * 1024 }
        }
        var storage: Int64 = .max
        var s = statvfs()
        if statvfs(rootDirectory, &s) == 0 { storage = Int64(s.f_bavail) * Int64(s.f_frsize) }
        var pids: Int64 = .max
        if let text = try? String(contentsOfFile: "/proc/sys/kernel/pid_max", encoding: .utf8),
           let max = Int64(text.trimmingCharacters(in: .whitespacesAndNewlines)),
           let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") {
            pids = max - Int64(entries.count(where: { $0.first?.isNumber == true }))
        }
        return HostUsage(memoryAvailableBytes: memory, storageAvailableBytes: storage, pidsAvailable: pids)
    }
}
