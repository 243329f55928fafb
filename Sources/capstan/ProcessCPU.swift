import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// CPU time (user + system) a process has used so far, read from `/proc/<pid>/stat`: for
/// benchmarks that report CPU per operation of the client and of a server it started.
struct ProcessCPU: Sendable {
    /// The process to read; nil for this process.
    var pid: Int32?

    /// The unit of /proc's CPU times.
    static var ticksPerSecond: Double {
        #if canImport(Glibc)
        Double(sysconf(Int32(_SC_CLK_TCK)))
        #else
        100
        #endif
    }

    /// CPU seconds used so far, or nil where `/proc` cannot be read (not Linux, process gone).
    func seconds() -> Double? {
        let path = "/proc/\(pid.map(String.init) ?? "self")/stat"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        // The command name (field 2) is in parentheses and may contain spaces: count fields
        // from the last ')'. utime and stime are fields 14 and 15.
        guard let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Self.ticksPerSecond
    }
}

/// Busy CPU time of the whole machine (every core, user + system + interrupts), from
/// `/proc/stat`: what a benchmark's helpers (OCI runtimes, `ip`, shims) cost besides the
/// processes it can name.
enum MachineCPU {
    /// Busy CPU seconds since boot, or nil where `/proc/stat` cannot be read.
    static func busySeconds() -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
              let line = text.split(separator: "\n").first, line.hasPrefix("cpu ") else { return nil }
        // user nice system idle iowait irq softirq steal ...
        let values = line.split(separator: " ").dropFirst().compactMap { Double($0) }
        guard values.count >= 8 else { return nil }
        let busy = values[0] + values[1] + values[2] + values[5] + values[6] + values[7]
        return busy / ProcessCPU.ticksPerSecond
    }
}
