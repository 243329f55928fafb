import CapstanStorage
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An exclusive `flock` on `<database>.lock`, so a second process cannot open the same
/// database (the writer's in-memory state and in-process watches assume one writer process).
/// The kernel drops the lock when the process dies, even by SIGKILL.
final class FileLock: Sendable {
    let path: String
    private let descriptor: Atomic<Int32>

    init(path: String, database: String) throws(StorageError) {
        self.path = path
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw StorageError(.io, "cannot create lock file \(path): \(String(cString: strerror(errno)))")
        }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let code = errno
            close(fd)
            if code == EWOULDBLOCK {
                throw StorageError(.unavailable, "database \(database) is in use by another process (lock file \(path) is held)")
            }
            throw StorageError(.io, "cannot lock \(path): \(String(cString: strerror(code)))")
        }
        self.descriptor = Atomic(fd)
    }

    /// Unlocks, then closes. The lock belongs to the open file, which a child of this process
    /// shares for as long as it holds a copy of the descriptor (a child made with clone or
    /// vfork, until it execs or exits): closing alone would leave the database locked until then.
    func release() {
        let fd = descriptor.exchange(-1, ordering: .acquiringAndReleasing)
        if fd >= 0 {
            flock(fd, LOCK_UN)
            close(fd)
        }
    }

    deinit { release() }
}
