import Synchronization
import Testing
@testable import CapstanNodeAgent

extension StartGate {
    /// `body` between an acquire and its release, as a pod worker's start-up runs.
    func run<T>(priority: UInt64, isolation: isolated (any Actor)? = #isolation, _ body: () async throws -> T) async throws -> T {
        try await acquire(priority: priority)
        defer { release() }
        return try await body()
    }
}

@Suite struct StartGateTests {
    /// Records what ran, and how many ran at once.
    private final class Recorder: Sendable {
        private let state = Mutex((order: [UInt64](), running: 0, most: 0))
        func enter(_ priority: UInt64) {
            state.withLock { s in
                s.order.append(priority)
                s.running += 1
                s.most = max(s.most, s.running)
            }
        }
        func leave() { state.withLock { $0.running -= 1 } }
        var order: [UInt64] { state.withLock { $0.order } }
        var most: Int { state.withLock { $0.most } }
    }

    /// Waits until `gate` has `count` start-ups queued.
    private func waitForQueue(_ gate: StartGate, _ count: Int) async throws {
        for _ in 0..<2000 where gate.waiting < count { try await Task.sleep(for: .milliseconds(1)) }
        #expect(gate.waiting == count)
    }

    @Test func waitersAreAdmittedOldestPodFirstAndNeverMoreThanTheWidth() async throws {
        let gate = StartGate(width: 2)
        let recorder = Recorder()
        let releases = [Wakeup(), Wakeup()]
        // Two start-ups hold the slots until released.
        let holders = (0..<2).map { i in
            Task {
                try await gate.run(priority: 100 + UInt64(i)) {
                    recorder.enter(100 + UInt64(i))
                    await releases[i].wait(timeout: .seconds(10), clock: .system)
                    recorder.leave()
                }
            }
        }
        for _ in 0..<2000 where recorder.order.count < 2 { try await Task.sleep(for: .milliseconds(1)) }
        // Later arrivals queue in an order unlike their priorities.
        var waiters: [Task<Void, any Error>] = []
        for (queued, priority) in [UInt64(7), 3, 9, 1, 5].enumerated() {
            waiters.append(Task {
                try await gate.run(priority: priority) {
                    recorder.enter(priority)
                    try await Task.sleep(for: .milliseconds(2))
                    recorder.leave()
                }
            })
            try await waitForQueue(gate, queued + 1)
        }
        for release in releases { release.signal() }
        for task in holders { try await task.value }
        for task in waiters { try await task.value }
        #expect(Array(recorder.order.prefix(2)).sorted() == [100, 101])
        // The lowest priority waiting takes each freed slot; with two slots the next two go
        // together, so order is checked after the pair that was admitted at once.
        #expect(Array(recorder.order.dropFirst(2)) == [1, 3, 5, 7, 9])
        #expect(recorder.most <= 2)
        #expect(gate.waiting == 0)
    }

    @Test func aCancelledWaiterLeavesTheQueueAndThrows() async throws {
        let gate = StartGate(width: 1)
        let release = Wakeup()
        let holding = Atomic<Bool>(false)
        let holder = Task {
            try await gate.run(priority: 0) {
                holding.store(true, ordering: .relaxed)
                await release.wait(timeout: .seconds(10), clock: .system)
            }
        }
        for _ in 0..<2000 where !holding.load(ordering: .relaxed) { try await Task.sleep(for: .milliseconds(1)) }
        let ran = Atomic<Bool>(false)
        let waiter = Task { try await gate.run(priority: 1) { ran.store(true, ordering: .relaxed) } }
        try await waitForQueue(gate, 1)
        waiter.cancel()
        await #expect(throws: CancellationError.self) { try await waiter.value }
        #expect(gate.waiting == 0)
        let didRun = ran.load(ordering: .relaxed)
        #expect(!didRun)
        release.signal()
        try await holder.value
        // The slot the cancelled waiter never took is free again.
        let again = try await gate.run(priority: 2) { 42 }
        #expect(again == 42)
    }

    @Test func aThrowingStartUpFreesItsSlot() async throws {
        struct Failed: Error {}
        let gate = StartGate(width: 1)
        await #expect(throws: Failed.self) { try await gate.run(priority: 0) { throw Failed() } }
        let value = try await gate.run(priority: 1) { "admitted" }
        #expect(value == "admitted")
    }
}
