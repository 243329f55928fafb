import Synchronization

/// Lets a few pods start at once (make the sandbox, create and start the containers), the pod
/// the agent saw first going first. A pod worker holds its slot from its first start-up action
/// until it has nothing left to start (see ``PodWorker``).
///
/// Starting a container is CPU work (the OCI runtime's processes, namespaces, mounts). When more
/// pods arrive than the machine has cores, running every start at once shares the CPU between
/// them and each pod waits for the whole burst; admitting them a few at a time, oldest first, lets
/// the first pods run early, in the order they arrived (the agent's default width is three per
/// core; see ``NodeAgentConfiguration/parallelStarts``). Waiting for images, volumes and the API
/// happens outside the gate.
final class StartGate: Sendable {
    private struct Waiter {
        let priority: UInt64
        let ticket: UInt64
        let continuation: CheckedContinuation<Bool, Never>
    }

    private struct State {
        var available: Int
        /// Kept in descending (priority, ticket) order: the next to admit is the last.
        var waiters: [Waiter] = []
        var nextTicket: UInt64 = 0

        func insertionIndex(priority: UInt64, ticket: UInt64) -> Int {
            var low = 0, high = waiters.count
            while low < high {
                let middle = (low + high) / 2
                let w = waiters[middle]
                if (w.priority, w.ticket) > (priority, ticket) { low = middle + 1 } else { high = middle }
            }
            return low
        }
    }

    private let state: Mutex<State>

    /// `width`: how many start-ups run at once (at least 1).
    init(width: Int) {
        state = Mutex(State(available: max(1, width)))
    }

    /// Start-ups waiting for a slot.
    var waiting: Int { state.withLock { $0.waiters.count } }

    /// Waits for a slot, the lowest `priority` waiting first; every acquire needs one `release`.
    /// Throws `CancellationError` (holding nothing) if the task is cancelled while it waits.
    func acquire(priority: UInt64) async throws {
        let ticket: UInt64? = state.withLock { state in
            if state.available > 0 {
                state.available -= 1
                return nil
            }
            defer { state.nextTicket += 1 }
            return state.nextTicket
        }
        guard let ticket else { return }
        let admitted = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                let admitNow = state.withLock { state -> Bool? in
                    // A slot freed between the check above and now.
                    if state.available > 0 {
                        state.available -= 1
                        return true
                    }
                    if Task.isCancelled { return false }
                    let index = state.insertionIndex(priority: priority, ticket: ticket)
                    state.waiters.insert(Waiter(priority: priority, ticket: ticket, continuation: continuation), at: index)
                    return nil
                }
                if let admitNow { continuation.resume(returning: admitNow) }
            }
        } onCancel: {
            let waiter = state.withLock { state -> Waiter? in
                guard let index = state.waiters.firstIndex(where: { $0.ticket == ticket }) else { return nil }
                return state.waiters.remove(at: index)
            }
            waiter?.continuation.resume(returning: false)
        }
        if !admitted { throw CancellationError() }
    }

    /// Frees a slot: the next waiter takes it.
    func release() {
        let next = state.withLock { state -> Waiter? in
            if let next = state.waiters.popLast() { return next }
            state.available += 1
            return nil
        }
        // The slot passes straight to the next waiter.
        next?.continuation.resume(returning: true)
    }
}
