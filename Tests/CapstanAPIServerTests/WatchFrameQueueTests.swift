@testable import CapstanAPIServer
import Testing

@Suite("Watch frame queue")
struct WatchFrameQueueTests {
    @Test func takesEverythingQueuedInOrder() async {
        let q = WatchFrameQueue<Int>()
        for i in 0..<5 { q.push(i) }
        #expect(await q.take() == [0, 1, 2, 3, 4])
        q.push(5)
        #expect(await q.take() == [5])
    }

    @Test func drainsThenEndsAfterFinish() async {
        let q = WatchFrameQueue<Int>()
        q.push(1)
        q.push(2)
        q.finish()
        q.push(3)  // ignored once finished
        #expect(await q.take() == [1, 2])
        #expect(await q.take() == nil)
        #expect(await q.take() == nil)
    }

    @Test func aWaitingTakeWakesForAPushAndForFinish() async {
        let q = WatchFrameQueue<Int>()
        let (started, startedContinuation) = AsyncStream<Void>.makeStream()
        let taker = Task { () -> [[Int]] in
            var got: [[Int]] = []
            startedContinuation.yield()
            while let batch = await q.take() { got.append(batch) }
            return got
        }
        var it = started.makeAsyncIterator()
        _ = await it.next()
        q.push(7)
        q.finish()
        let got = await taker.value
        #expect(got.flatMap { $0 } == [7])
    }

    @Test func cancellingAWaitingTakeReturnsNil() async {
        let q = WatchFrameQueue<Int>()
        let taker = Task { await q.take() }
        taker.cancel()
        #expect(await taker.value == nil)
    }
}
