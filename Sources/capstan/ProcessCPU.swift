import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// CPU time (user + system) a process has used so far, read from `/proc/<pid>/stat`: for
/// benchmarks that report CPU per operation of the client and of a server it started.
struct ProcessCPU: Sendable {
    /// The process to read; nil for this process.
    var pid: Int32?

    /// CPU seconds used so far, or nil where `/proc` cannot be read (not Linux, process gone).
    func seconds() -> Double? {
        let path = "/proc/\(pid.map(String.init) ?? "self")/stat"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        // The command name (field 2) is in parentheses and may contain spaces: count fields
        // from the last ')'. utime and stime are fields 14 and 15.
        guard let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        #if canImport(Glibc)
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        #else
        let ticks = 100.0
        #endif
        return (user + system) / ticks
    }
}
