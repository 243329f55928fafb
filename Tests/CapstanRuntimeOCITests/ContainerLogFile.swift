import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The reference for the shim's C log writer (ShimLogFormatTests): a container's CRI log file, shared by its stdout and stderr readers. Records are appended
/// whole; when the next record would pass `maxSize` the file is renamed to
/// `<path>.<YYYYMMDD-hhmmss>` and a new one is started, keeping at most `maxFiles` files
/// (the current one included), as the kubelet's containerLogMaxSize/MaxFiles do.
final class ContainerLogFile: Sendable {
    private struct State {
        var fd: Int32
        var size: Int64
    }

    let path: String
    let maxSize: Int64
    let maxFiles: Int
    private let state: Mutex<State>

    init(path: String, maxSize: Int64, maxFiles: Int) {
        self.path = path
        self.maxSize = maxSize
        self.maxFiles = max(1, maxFiles)
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o640)
        var info = stat()
        let size = fd >= 0 && fstat(fd, &info) == 0 ? Int64(info.st_size) : 0
        state = Mutex(State(fd: fd, size: size))
    }

    deinit {
        state.withLock { state in
            if state.fd >= 0 { close(state.fd) }
        }
    }

    func write(_ record: [UInt8]) {
        state.withLock { state in
            if state.size > 0, state.size + Int64(record.count) > maxSize { rotate(&state) }
            guard state.fd >= 0 else { return }
            record.withUnsafeBytes { bytes in
                var offset = 0
                while offset < bytes.count {
                    let written = Glibc.write(state.fd, bytes.baseAddress! + offset, bytes.count - offset)
                    if written < 0 && errno == EINTR { continue }
                    if written <= 0 { return }
                    offset += written
                }
            }
            state.size += Int64(record.count)
        }
    }

    private func rotate(_ state: inout State) {
        if state.fd >= 0 { close(state.fd) }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd-HHmmss"
        let stamp = formatter.string(from: Date())
        let directory = (path as NSString).deletingLastPathComponent
        let base = (path as NSString).lastPathComponent + "."
        // The part after `<base>.`: time, then the -N suffix as a number.
        func order(_ tail: String) -> (String, Int) {
            let time = String(tail.prefix(15))
            let rest = tail.dropFirst(15)
            return (time, rest.first == "-" ? Int(rest.dropFirst()) ?? 0 : 0)
        }
        var tails = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasPrefix(base) }
            .map { String($0.dropFirst(base.count)) }
        let highest = tails.filter { order($0).0 == stamp }.map { order($0).1 }.max()
        let tail = highest.map { stamp + "-\($0 + 1)" } ?? stamp
        if rename(path, path + "." + tail) == 0 { tails.append(tail) }
        for old in tails.sorted(by: { order($0) < order($1) }).dropLast(maxFiles - 1) {
            try? FileManager.default.removeItem(atPath: directory + "/" + base + old)
        }
        state.fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o640)
        state.size = 0
    }
}
