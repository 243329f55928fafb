import CapstanTesting
import Synchronization
import Testing
@testable import CapstanControllerRuntime

@Suite struct WorkQueueTests {
    @Test func getWaitsForAnAdd() async {
        let queue = WorkQueue<String>()
        async let key = queue.get()
        try? await Task.sleep(for: .milliseconds(20))
        queue.add("x")
        #expect(await key == "x")
    }

    @Test func delayedAddWakesTheWaiterWhenTheManualClockPassesIt() async throws {
        let manual = ManualClock()
        let queue = WorkQueue<String>(clock: ControllerClock(manual))
        queue.add("later", after: .seconds(30))
        let task = Task { await queue.get() }
        #expect(await eventually { manual.sleeperCount == 1 })
        manual.advance(by: .seconds(29))
        #expect(queue.count == 0)
        manual.advance(by: .seconds(1))
        #expect(await task.value == "later")
    }

    @Test func cancelledGetReturnsNil() async {
        let queue = WorkQueue<Int>()
        let task = Task { await queue.get() }
        try? await Task.sleep(for: .milliseconds(20))
        task.cancel()
        #expect(await task.value == nil)
    }

    @Test func runRetriesFailuresWithBackoffAndForgetsSuccesses() async throws {
        let queue = WorkQueue<String>(rateLimit: RateLimit(base: .milliseconds(1), maximum: .milliseconds(4)))
        let attempts = Mutex(0)
        queue.add("k")
        let task = Task {
            await queue.run(workers: 2) { _ in
                let n = attempts.withLock { $0 += 1; return $0 }
                if n < 3 { throw TestingFailure("fail \(n)") }
            }
        }
        #expect(await eventually { attempts.withLock { $0 } == 3 })
        #expect(await eventually { queue.failureCount("k") == 0 })
        task.cancel()
        await task.value
    }
}
