import Testing
@testable import CapstanControllerRuntime

@Suite struct WorkQueueCoreTests {
    @Test func addedKeysAreDeduplicatedAndKeepOrder() {
        var q = WorkQueueCore<String>()
        for key in ["a", "b", "a", "c", "b"] { q.add(key) }
        #expect(q.count == 3)
        #expect(q.pop() == "a")
        #expect(q.pop() == "b")
        #expect(q.pop() == "c")
        #expect(q.pop() == nil)
    }

    @Test func keyReaddedWhileProcessingIsQueuedAgainAfterDone() {
        var q = WorkQueueCore<String>()
        q.add("a")
        #expect(q.pop() == "a")
        q.add("a")
        q.add("a")
        #expect(q.pop() == nil, "a key being processed is not handed out twice")
        q.done("a")
        #expect(q.pop() == "a")
        q.done("a")
        #expect(q.pop() == nil)
    }

    @Test(arguments: [(1, 5), (2, 10), (3, 20), (10, 2560)])
    func backoffDoublesFromFiveMilliseconds(failures: Int, milliseconds: Int64) {
        #expect(RateLimit().delay(failures: failures) == .milliseconds(milliseconds))
    }

    @Test func backoffIsCappedAndForgetResets() {
        var q = WorkQueueCore<String>()
        for _ in 0..<40 { q.addRateLimited("a", now: .zero) }
        #expect(RateLimit().delay(failures: 40) == .seconds(1000))
        #expect(q.failureCount("a") == 40)
        q.forget("a")
        #expect(q.failureCount("a") == 0)
        #expect(q.addRateLimited("a", now: .zero) == .milliseconds(5))
    }

    @Test func delayedKeysBecomeReadyAtTheirInstantEarliestWins() {
        var q = WorkQueueCore<String>()
        q.add("a", after: .seconds(10), now: .zero)
        q.add("a", after: .seconds(3), now: .zero)
        q.add("b", after: .seconds(5), now: .zero)
        #expect(q.nextDeadline() == .seconds(3))
        q.promote(now: .seconds(2))
        #expect(q.pop() == nil)
        q.promote(now: .seconds(3))
        #expect(q.pop() == "a")
        #expect(q.nextDeadline() == .seconds(5))
        q.promote(now: .seconds(11))
        #expect(q.pop() == "b")
        #expect(q.pop() == nil, "the superseded 10 s entry of a does not fire")
        #expect(q.nextDeadline() == nil)
    }

    @Test func shutDownRefusesNewKeysButDrains() {
        var q = WorkQueueCore<Int>()
        q.add(1)
        q.shutDown()
        q.add(2)
        #expect(q.pop() == 1)
        #expect(q.pop() == nil)
    }
}
