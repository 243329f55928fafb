import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Whole files of `/proc`. Their size reads as 0 and each read(2) returns at most a page of
/// whole lines, so Foundation's `String(contentsOfFile:)` stops after the first 4 KB: a
/// `mountinfo` with many mounts loses its tail. This reads until end of file.
public enum ProcFile {
    public static func read(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16384)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0, errno == EINTR { continue }
            guard n >= 0 else { return nil }
            if n == 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
