import Synchronization

/// A first-in first-out queue of jobs shared by a fixed number of worker tasks: the bound on
/// concurrent writes. `finish()` wakes every waiting worker with nil; pending jobs are dropped.
final class JobQueue<Job: Sendable>: Sendable {
    private struct State {
        var items: [Job] = []
        var head = 0
        var waiters: [CheckedContinuation<Job?, Never>] = []
        var finished = false
    }

    private let state = Mutex(State())

    func push(_ job: Job) {
        let waiter = state.withLock { s -> CheckedContinuation<Job?, Never>? in
            if s.finished { return nil }
            if !s.waiters.isEmpty { return s.waiters.removeFirst() }
            s.items.append(job)
            return nil
        }
        waiter?.resume(returning: job)
    }

    /// The next job, or nil once finished.
    func next() async -> Job? {
        await withCheckedContinuation { (c: CheckedContinuation<Job?, Never>) in
            let ready: Job?? = state.withLock { s in
                if s.head < s.items.count {
                    let job = s.items[s.head]
                    s.head += 1
                    if s.head > 1024, s.head * 2 > s.items.count {
                        s.items.removeFirst(s.head)
                        s.head = 0
                    }
                    return .some(job)
                }
                if s.finished { return .some(nil) }
                s.waiters.append(c)
                return .none
            }
            if let ready { c.resume(returning: ready) }
        }
    }

    /// Jobs waiting for a worker.
    var pending: Int { state.withLock { $0.items.count - $0.head } }

    func finish() {
        let waiters = state.withLock { s in
            s.finished = true
            s.items = []
            s.head = 0
            defer { s.waiters = [] }
            return s.waiters
        }
        for w in waiters { w.resume(returning: nil) }
    }
}
