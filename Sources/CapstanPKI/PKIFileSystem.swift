#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The narrow file-system edge of the PKI: reading small files, writing them atomically with
/// an exact mode, and creating private directories. Every failure is a ``PKIError`` naming the path.
enum PKIFileSystem {
    /// Returns the file's bytes, or `nil` when it does not exist.
    static func readIfPresent(_ path: String) throws -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            let code = errno
            if code == ENOENT { return nil }
            throw PKIError(.fileSystem, path: path, "cannot open for reading: \(errorString(code))")
        }
        defer { close(fd) }
        var result: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                let code = errno
                if code == EINTR { continue }
                throw PKIError(.fileSystem, path: path, "cannot read: \(errorString(code))")
            }
            if count == 0 { break }
            result.append(contentsOf: buffer[0..<count])
            if result.count > maximumFileSize {
                throw PKIError(.corruptFile, path: path, "file is larger than \(maximumFileSize) bytes")
            }
        }
        return result
    }

    /// Reads a file as UTF-8 text, or returns `nil` when it does not exist.
    static func readTextIfPresent(_ path: String) throws -> String? {
        guard let bytes = try readIfPresent(path) else { return nil }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw PKIError(.corruptFile, path: path, "file is not UTF-8 text")
        }
        return text
    }

    /// Writes `bytes` to a temporary file in the same directory with exactly `mode`,
    /// flushes it, then renames it over `path`, so readers see the old or the new file, never a part.
    static func writeAtomically(_ bytes: [UInt8], to path: String, mode: mode_t) throws {
        let directory = parentDirectory(of: path)
        let baseName = path.split(separator: "/").last.map(String.init) ?? path
        var suffix = SystemRandomNumberGenerator()
        let temporary = "\(directory)/.\(baseName).tmp-\(String(suffix.next() as UInt64, radix: 36))"

        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        if fd < 0 {
            throw PKIError(.fileSystem, path: path, "cannot create temporary file \(temporary): \(errorString(errno))")
        }
        var succeeded = false
        defer {
            if !succeeded { unlink(temporary) }
        }
        do {
            defer { close(fd) }
            // The mode given to open() is reduced by the umask; set it exactly.
            if fchmod(fd, mode) != 0 {
                throw PKIError(.fileSystem, path: path, "cannot set mode \(octal(mode)): \(errorString(errno))")
            }
            var offset = 0
            while offset < bytes.count {
                let written = bytes.withUnsafeBytes { raw in
                    write(fd, raw.baseAddress! + offset, raw.count - offset)
                }
                if written < 0 {
                    let code = errno
                    if code == EINTR { continue }
                    throw PKIError(.fileSystem, path: path, "cannot write: \(errorString(code))")
                }
                offset += written
            }
            if fsync(fd) != 0 {
                throw PKIError(.fileSystem, path: path, "cannot flush: \(errorString(errno))")
            }
        }
        if rename(temporary, path) != 0 {
            throw PKIError(.fileSystem, path: path, "cannot rename \(temporary) into place: \(errorString(errno))")
        }
        succeeded = true
        syncDirectory(directory)
    }

    /// Creates `path` (and missing parents) if needed. A directory created here gets `mode`;
    /// an existing one is left as it is.
    static func ensureDirectory(_ path: String, mode: mode_t) throws {
        var info = stat()
        if stat(path, &info) == 0 {
            guard (info.st_mode & S_IFMT) == S_IFDIR else {
                throw PKIError(.fileSystem, path: path, "exists but is not a directory")
            }
            return
        }
        let parent = parentDirectory(of: path)
        if parent != path && parent != "/" && parent != "." {
            try ensureDirectory(parent, mode: 0o755)
        }
        if mkdir(path, mode) != 0 {
            let code = errno
            if code == EEXIST { return }
            throw PKIError(.fileSystem, path: path, "cannot create directory: \(errorString(code))")
        }
        if chmod(path, mode) != 0 {
            throw PKIError(.fileSystem, path: path, "cannot set mode \(octal(mode)): \(errorString(errno))")
        }
    }

    static func parentDirectory(of path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return "." }
        if slash == trimmed.startIndex { return "/" }
        return String(trimmed[..<slash])
    }

    static func join(_ directory: String, _ name: String) -> String {
        directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }

    /// Certificates, keys, kubeconfigs and token files are small; anything bigger is not one.
    static let maximumFileSize = 4 * 1024 * 1024

    private static func syncDirectory(_ directory: String) {
        let fd = open(directory, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = fsync(fd)
        close(fd)
    }

    private static func errorString(_ code: Int32) -> String {
        String(cString: strerror(code))
    }

    private static func octal(_ mode: mode_t) -> String {
        "0" + String(mode, radix: 8)
    }
}
