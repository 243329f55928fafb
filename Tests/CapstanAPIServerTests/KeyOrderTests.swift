import CapstanRegistry
import Testing

@Suite("Watch cache key order")
struct KeyOrderTests {
    @Test func randomChangesMatchASortedReference() {
        var x: UInt64 = 42
        func next() -> UInt64 { x = x &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407; return x >> 33 }
        var order = KeyOrder()
        var reference = Set<String>()
        for step in 0..<4000 {
            let key = "/registry/core/pods/ns\(next() % 3)/p\(next() % 300)"
            if reference.contains(key) {
                if next() % 2 == 0 { order.remove(key); reference.remove(key) }
            } else {
                order.insert(key)
                reference.insert(key)
            }
            if step % 97 == 0 || step == 3999 {
                #expect(order.keys() == reference.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
                #expect(order.count == reference.count)
            }
        }
    }

    @Test func removedThenReinsertedKeysAppearOnce() {
        var order = KeyOrder()
        for k in ["b", "a", "c"] { order.insert(k) }
        #expect(order.keys() == ["a", "b", "c"])
        order.remove("b"); order.insert("b")
        order.insert("d"); order.remove("d")
        #expect(order.keys() == ["a", "b", "c"])
        #expect(order.count == 3)
    }

    @Test func prefixRangesAreExact() {
        var order = KeyOrder()
        for k in ["/r/a-b/x", "/r/a/x", "/r/a/y", "/r/a0", "/r/b/x", "/r/a/"] { order.insert(k) }
        let range = order.range(prefix: "/r/a/")
        #expect(range.map { order[$0] } == ["/r/a/", "/r/a/x", "/r/a/y"])
        #expect(order.range(prefix: "/r/c/").isEmpty)
        #expect(order.range(prefix: "/r/").count == 6)
        #expect(order.position(of: "/r/a/x\u{0}", in: range) == range.lowerBound + 2)
    }

    @Test func byteOrderIsUTF8Order() {
        #expect(KeyOrder.precedes("a", "b"))
        #expect(KeyOrder.precedes("a", "ab"))
        #expect(!KeyOrder.precedes("ab", "ab"))
        #expect(KeyOrder.precedes("Z", "a"))
        #expect(KeyOrder.precedes("z", "é"))
        #expect(KeyOrder.precedes("", "a"))
    }
}
