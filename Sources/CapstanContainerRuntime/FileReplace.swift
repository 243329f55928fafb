import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Replacing a small state file whole: written to `<path>.tmp` and renamed over `path`, so a
/// crash leaves the old or the new contents. No fsync (which Foundation's atomic writes add,
/// stalling the calling thread on the disk's flush): the node's runtime records and IP
/// allocations must outlive the agent, not the host, whose restart ends the pods as well.
public enum FileReplace {
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    public static func write(_ bytes: [UInt8], to path: String) throws(Failure) {
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw Failure(description: "cannot write \(temporary): \(String(cString: strerror(errno)))") }
        let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        close(fd)
        guard written == bytes.count, rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw Failure(description: "cannot write \(path): \(reason)")
        }
    }
}
