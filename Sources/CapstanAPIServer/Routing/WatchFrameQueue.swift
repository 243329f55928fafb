import Synchronization

/// The frames waiting to be written to one watch's connection. Producers (the event forwarder,
/// the bookmark timer) push; the writer takes everything queued at once, so a burst of events
/// leaves in one write (one hand-over to the event loop, one flush) instead of one per event.
final class WatchFrameQueue<Frame: Sendable>: Sendable {
    private struct State {
        var frames: [Frame] = []
        var finished = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())

    init() {}

    /// Queues a frame; ignored once finished.
    func push(_ frame: Frame) {
        let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
            guard !s.finished else { return nil }
            s.frames.append(frame)
            defer { s.waiter = nil }
            return s.waiter
        }
        waiter?.resume()
    }

    /// No more frames: `take` returns what is still queued, then nil.
    func finish() {
        let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
            s.finished = true
            defer { s.waiter = nil }
            return s.waiter
        }
        waiter?.resume()
    }

    /// Every frame queued, in order, waiting for one if there is none; nil once finished and
    /// drained, or when the task is cancelled. One consumer at a time.
    func take() async -> [Frame]? {
        while true {
            let batch = state.withLock { s -> [Frame]? in
                if !s.frames.isEmpty {
                    defer { s.frames = [] }
                    return s.frames
                }
                return s.finished ? [] : nil
            }
            if let batch { return batch.isEmpty ? nil : batch }
            if Task.isCancelled { return nil }
            await withTaskCancellationHandler {
                await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                    let ready = state.withLock { s -> Bool in
                        // Checked under the lock: a cancellation that came first has set the flag.
                        if !s.frames.isEmpty || s.finished || Task.isCancelled { return true }
                        s.waiter = c
                        return false
                    }
                    if ready { c.resume() }
                }
            } onCancel: {
                let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
                    defer { s.waiter = nil }
                    return s.waiter
                }
                waiter?.resume()
            }
        }
    }
}
