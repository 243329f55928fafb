import CapstanContainerRuntime
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Writes chunks to a file descriptor in order on a thread of its own (writes may block),
/// with SIGPIPE blocked there so a reader that went away gives EPIPE, not a dead process.
final class FDWriter: Sendable {
    private struct State {
        var queue: [(bytes: [UInt8], done: CheckedContinuation<Bool, Never>)] = []
        var closing = false
        var failed = false
    }

    private let condition = NSCondition()
    private let state = Mutex(State())

    init(_ fd: Int32) {
        let thread = Thread { [self] in
            var blocked = sigset_t()
            sigemptyset(&blocked)
            sigaddset(&blocked, SIGPIPE)
            pthread_sigmask(SIG_BLOCK, &blocked, nil)
            while true {
                condition.lock()
                var next: (bytes: [UInt8], done: CheckedContinuation<Bool, Never>)?
                var closing = false
                while true {
                    (next, closing) = state.withLock { state in
                        state.queue.isEmpty ? (nil, state.closing) : (state.queue.removeFirst(), false)
                    }
                    if next != nil || closing { break }
                    condition.wait()
                }
                condition.unlock()
                guard let (bytes, done) = next else { break }
                var offset = 0
                var ok = !state.withLock { $0.failed }
                while ok, offset < bytes.count {
                    let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, bytes.count - offset) }
                    if written < 0 && errno == EINTR { continue }
                    if written <= 0 { ok = false; break }
                    offset += written
                }
                if !ok { state.withLock { $0.failed = true } }
                done.resume(returning: ok)
            }
            Glibc.close(fd)
            // Writers that queued after the close are told it failed.
            let rest = state.withLock { state in
                defer { state.queue.removeAll() }
                return state.queue
            }
            rest.forEach { $0.done.resume(returning: false) }
        }
        thread.stackSize = 64 << 10
        thread.start()
    }

    func write(_ bytes: [UInt8]) async throws {
        let ok = await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            condition.lock()
            let accepted = state.withLock { state -> Bool in
                guard !state.closing, !state.failed else { return false }
                state.queue.append((bytes, continuation))
                return true
            }
            condition.signal()
            condition.unlock()
            if !accepted { continuation.resume(returning: false) }
        }
        if !ok { throw RuntimeError(.failedPrecondition, "stdin is closed") }
    }

    func close() {
        condition.lock()
        state.withLock { $0.closing = true }
        condition.signal()
        condition.unlock()
    }
}
