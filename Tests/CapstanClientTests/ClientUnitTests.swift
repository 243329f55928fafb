import CapstanAPI
import CapstanAPIMachinery
@testable import CapstanClient
import Testing

@Suite("Connection pool state machine", .tags(.unit))
struct ConnectionPoolStateMachineTests {
    typealias Machine = ConnectionPool.StateMachine<Int, String>

    @Test func opensUpToTheLimitThenQueues() {
        var m = Machine(maxConnections: 2)
        #expect(m.lease(1) == .queueAndConnect)
        #expect(m.lease(2) == .queueAndConnect)
        #expect(m.lease(3) == .queue)
        #expect(m.total == 2 && m.waiting == 3)
        // Connections go to the longest waiters.
        #expect(m.connected(100) == .deliver(100, to: 1))
        #expect(m.connected(101) == .deliver(101, to: 2))
        // A returned connection goes to the next waiter, then to the idle set.
        #expect(m.release(100, reusable: true) == .deliver(100, to: 3))
        #expect(m.release(100, reusable: true) == .park)
        #expect(m.release(101, reusable: true) == .park)
        #expect(m.idle == [100, 101] && m.leased == 0)
        // Warm connections are reused last in, first out.
        #expect(m.lease(4) == .use(101))
        #expect(m.leaseIdle() == 100)
        #expect(m.leaseIdle() == nil)
    }

    @Test func brokenConnectionIsReplacedForWaiters() {
        var m = Machine(maxConnections: 1)
        #expect(m.lease(1) == .queueAndConnect)
        #expect(m.connected(7) == .deliver(7, to: 1))
        #expect(m.lease(2) == .queue)
        #expect(m.release(7, reusable: false) == .closeAndConnect(7))
        #expect(m.connecting == 1)
        #expect(m.connected(8) == .deliver(8, to: 2))
        #expect(m.release(8, reusable: false) == .close(8))
        #expect(m.total == 0)
    }

    @Test func connectFailureFailsOneUncoveredWaiter() {
        var m = Machine(maxConnections: 1)
        #expect(m.lease(1) == .queueAndConnect)
        #expect(m.lease(2) == .queue)
        #expect(m.connectFailed() == .fail([1]))
        #expect(m.total == 0 && m.waiting == 1)
        // The next lease opens a new connection for the remaining waiter and itself.
        #expect(m.lease(3) == .queueAndConnect)
    }

    @Test func cancelledWaiterLeavesTheQueue() {
        var m = Machine(maxConnections: 1)
        #expect(m.lease(1) == .queueAndConnect)
        #expect(m.lease(2) == .queue)
        let first = m.cancel(1)
        let second = m.cancel(1)
        #expect(first && !second)
        #expect(m.connected(5) == .deliver(5, to: 2))
    }

    @Test func idleConnectionClosedByServerIsForgotten() {
        var m = Machine(maxConnections: 2)
        _ = m.lease(1)
        _ = m.connected(5)
        #expect(m.release(5, reusable: true) == .park)
        m.idleClosed(5)
        #expect(m.total == 0 && m.leaseIdle() == nil)
    }

    @Test func burstConnectionsBeyondMaxIdleCloseAsTheyComeBack() {
        var m = Machine(maxConnections: 4, maxIdle: 2)
        for waiter in 1...4 { #expect(m.lease(waiter) == .queueAndConnect) }
        for connection in 10...13 { #expect(m.connected(connection) == .deliver(connection, to: connection - 9)) }
        #expect(m.release(10, reusable: true) == .park)
        #expect(m.release(11, reusable: true) == .park)
        #expect(m.release(12, reusable: true) == .close(12))
        // A waiter still gets a returning connection even when the idle list is full.
        #expect(m.lease(5) == .use(11))
        #expect(m.lease(6) == .use(10))
        #expect(m.lease(7) == .queueAndConnect)
        #expect(m.release(13, reusable: true) == .deliver(13, to: 7))
        #expect(m.connected(14) == .park)
        #expect(m.total == 4 && m.idle == [14])
    }

    @Test func shutdownClosesIdleAndFailsWaiters() {
        var m = Machine(maxConnections: 1)
        _ = m.lease(1)
        _ = m.connected(5)
        _ = m.lease(2)
        let (close, closeMultiplexed, fail) = m.shutdown()
        #expect(close.isEmpty && closeMultiplexed.isEmpty && fail == [2])
        #expect(m.release(5, reusable: true) == .close(5))
        #expect(m.lease(3) == .failShutdown)
        #expect(m.connected(6) == .close(6))
    }

    @Test func http2ConnectionServesEveryWaiterAndLaterLease() {
        var m = Machine(maxConnections: 4, streamsPerConnection: 200)
        // The protocol is not known yet: a burst opens connections as for HTTP/1.1.
        #expect(m.lease(1) == .queueAndConnect)
        #expect(m.lease(2) == .queueAndConnect)
        #expect(m.lease(3) == .queueAndConnect)
        // The first to open is h2: every waiter gets a stream on it.
        #expect(m.connectedMultiplexed("a") == .serve("a", waiters: [1, 2, 3]))
        #expect(m.serverProtocol == .http2)
        // The others are not needed.
        #expect(m.connectedMultiplexed("b") == .close("b", serve: [], on: "a"))
        #expect(m.connectFailed() == .none)
        #expect(m.total == 1 && m.connecting == 0)
        // Later requests share it without queueing (below the threshold for another connection).
        for waiter in 4...100 { #expect(m.lease(waiter) == .useMultiplexed("a")) }
        #expect(m.total == 1 && m.waiting == 0)
    }

    @Test func goneHTTP2ConnectionIsReplacedByOneNewConnection() {
        var m = Machine(maxConnections: 4)
        _ = m.lease(1)
        _ = m.connectedMultiplexed("a")
        // GOAWAY or a closed connection: the next lease opens one connection; others wait for it.
        m.multiplexedUnusable("a")
        #expect(m.total == 0)
        #expect(m.lease(2) == .queueAndConnect)
        #expect(m.lease(3) == .queue)
        #expect(m.lease(4) == .queue)
        #expect(m.connecting == 1)
        // A stale notice about the old connection does not drop the new one.
        #expect(m.connectedMultiplexed("b") == .serve("b", waiters: [2, 3, 4]))
        m.multiplexedUnusable("a")
        #expect(m.lease(5) == .useMultiplexed("b"))
    }

    /// A machine whose h2 connection "a" went away, with request 2 waiting for a new connection.
    private func reconnecting(maxConnections: Int) -> Machine {
        var m = Machine(maxConnections: maxConnections)
        _ = m.lease(1)
        _ = m.connectedMultiplexed("a")
        m.multiplexedUnusable("a")
        #expect(m.lease(2) == .queueAndConnect)
        return m
    }

    @Test func failedHTTP2ReconnectFailsEveryWaiter() {
        var m = reconnecting(maxConnections: 4)
        #expect(m.lease(3) == .queue)
        #expect(m.connectFailed() == .fail([2, 3]))
        #expect(m.waiting == 0 && m.total == 0)
        #expect(m.lease(4) == .queueAndConnect)
    }

    @Test func serverSwitchingToHTTP1GoesBackToThePool() {
        var m = reconnecting(maxConnections: 2)
        #expect(m.connected(7) == .deliver(7, to: 2))
        #expect(m.serverProtocol == .http1)
        // HTTP/1.1 again: a second concurrent request opens a second connection.
        #expect(m.lease(3) == .queueAndConnect)
    }

    @Test func offeringH2OpensOneConnectionUntilTheProtocolIsKnown() {
        var m = Machine(maxConnections: 4, probeOneAtATime: true)
        #expect(m.lease(1) == .queueAndConnect)
        #expect(m.lease(2) == .queue)
        #expect(m.lease(3) == .queue)
        #expect(m.connecting == 1)
        // HTTP/1.1 after all: the first waiter gets it, the others get connections of their own.
        #expect(m.connected(7) == .deliverAndConnect(7, to: 1, connect: 2))
        #expect(m.connecting == 2 && m.total == 3)
        #expect(m.connected(8) == .deliver(8, to: 2))
        #expect(m.connected(9) == .deliver(9, to: 3))
        // From now on, as HTTP/1.1.
        #expect(m.lease(4) == .queueAndConnect)
    }

    @Test func busyHTTP2ConnectionsGrowOneAtATimeAndRequestsGoToTheLeastBusy() {
        var m = Machine(maxConnections: 3, streamsPerConnection: 2)
        #expect(m.lease(1) == .queueAndConnect)
        #expect(m.connectedMultiplexed("a") == .serve("a", waiters: [1]))
        #expect(m.lease(2) == .useMultiplexed("a"))
        // A third request in flight on the only connection: it still goes there, and one more opens.
        #expect(m.lease(3) == .useMultiplexedAndConnect("a"))
        #expect(m.connecting == 1 && m.total == 2)
        // Only one opens at a time.
        #expect(m.lease(4) == .useMultiplexed("a"))
        #expect(m.connectedMultiplexed("b") == .serve("b", waiters: []))
        #expect(m.total == 2 && m.connecting == 0)
        // Not used yet: the shell schedules an idle check for it.
        #expect(m.idleGeneration("b") == 0 && m.idleGeneration("a") == nil)
        // New requests go to the least busy connection.
        #expect(m.lease(5) == .useMultiplexed("b"))
        #expect(m.lease(6) == .useMultiplexed("b"))
        #expect(m.streamEnded(on: "a") == nil)
        #expect(m.shared.map(\.inFlight) == [3, 2])
        // All busy again: a third opens, then none more (maxConnections).
        #expect(m.lease(7) == .useMultiplexedAndConnect("b"))
        #expect(m.connectedMultiplexed("c") == .serve("c", waiters: []))
        for waiter in 8...10 { #expect(m.lease(waiter) == .useMultiplexed("c")) }
        #expect(m.shared.map(\.inFlight) == [3, 3, 3])
        #expect(m.lease(11) == .useMultiplexed("a"))
        #expect(m.total == 3 && m.connecting == 0)
        // Watches stay on the first connection.
        #expect(m.multiplexed == "a")
    }

    @Test func idleExtraHTTP2ConnectionClosesUnlessUsedAgain() {
        var m = Machine(maxConnections: 3, streamsPerConnection: 1)
        _ = m.lease(1)
        _ = m.connectedMultiplexed("a")
        #expect(m.lease(2) == .useMultiplexedAndConnect("a"))
        _ = m.connectedMultiplexed("b")
        #expect(m.lease(3) == .useMultiplexed("b"))
        // The primary never goes idle-closed; the extra one does, after the timeout.
        #expect(m.streamEnded(on: "a") == nil)
        #expect(m.streamEnded(on: "a") == nil)
        let generation = m.streamEnded(on: "b")
        #expect(generation != nil)
        // Used again before the timeout: the old check is stale.
        #expect(m.lease(4) == .useMultiplexed("a"))
        #expect(m.lease(5) == .useMultiplexed("b"))
        let second = m.streamEnded(on: "b")
        #expect(m.idleCheck("b", generation: generation!) == false)
        #expect(m.idleCheck("b", generation: second!) == true)
        #expect(m.shared.map(\.connection) == ["a"])
        #expect(m.idleCheck("a", generation: 0) == false)
        // A stream ending on a forgotten connection changes nothing.
        #expect(m.streamEnded(on: "b") == nil)
        #expect(m.total == 1)
    }

    @Test func failedExtraHTTP2ConnectFailsNoRequestAndIsRetriedLater() {
        var m = Machine(maxConnections: 3, streamsPerConnection: 1)
        _ = m.lease(1)
        _ = m.connectedMultiplexed("a")
        #expect(m.lease(2) == .useMultiplexedAndConnect("a"))
        #expect(m.connectFailed() == .none)
        #expect(m.connecting == 0 && m.total == 1)
        #expect(m.lease(3) == .useMultiplexedAndConnect("a"))
        // The primary goes away: the extra one becomes the primary.
        _ = m.connectedMultiplexed("b")
        m.multiplexedUnusable("a")
        #expect(m.multiplexed == "b")
        #expect(m.lease(4) == .useMultiplexed("b"))
    }

    @Test func shutdownClosesTheHTTP2Connection() {
        var m = Machine(maxConnections: 2)
        _ = m.lease(1)
        _ = m.connectedMultiplexed("a")
        let (close, closeMultiplexed, fail) = m.shutdown()
        #expect(close.isEmpty && closeMultiplexed == ["a"] && fail.isEmpty)
        #expect(m.lease(2) == .failShutdown)
        #expect(m.total == 0)
    }
}

@Suite("Watch framing and events", .tags(.unit))
struct WatchFramingTests {
    @Test func framesSplitAcrossChunksAndWithoutNewlines() throws {
        var framer = JSONStreamFramer()
        let stream = #"{"type":"ADDED","object":{"s":"a}\"{b"}}"# + "\n" + #"{"type":"DELETED","object":{"a":[1,{"b":2}]}}{"x":1}"#
        var frames: [String] = []
        for byte in Array(stream.utf8) {
            framer.append([byte])
            while let frame = try framer.next() { frames.append(String(decoding: frame, as: UTF8.self)) }
        }
        #expect(frames == [#"{"type":"ADDED","object":{"s":"a}\"{b"}}"#, #"{"type":"DELETED","object":{"a":[1,{"b":2}]}}"#, #"{"x":1}"#])
        #expect(framer.isEmpty)
    }

    @Test func garbageAndOversizedFramesFail() {
        var framer = JSONStreamFramer()
        framer.append(Array("  nope".utf8))
        #expect(throws: APIClientError.self) { try framer.next() }
        var small = JSONStreamFramer(maximumFrameSize: 8)
        small.append(Array(#"{"aaaaaaaaaaaa"#.utf8))
        #expect(throws: APIClientError.self) { try small.next() }
    }

    @Test func rawDecoderMapsTypes() throws {
        let decoder = WatchEventDecoder<JSONValue>.raw
        let added = try decoder.decode(Array(#"{"type":"ADDED","object":{"metadata":{"name":"a"}}}"#.utf8))
        #expect(added == .added(.object(["metadata": .object(["name": .string("a")])])))
        let bookmark = try decoder.decode(Array(#"{"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"42"}}}"#.utf8))
        #expect(bookmark == .bookmark(resourceVersion: "42"))
        #expect(try decoder.decode(Array(#"{"type":"SOMETHING","object":{}}"#.utf8)) == nil)
    }

    @Test func errorEventsThrowExpiredOrTheStatus() {
        let expired = #"{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"too old resource version: 5 (9)","reason":"Expired","code":410}}"#
        let isExpired: @Sendable (any Error) -> Bool = { error in
            guard let e = error as? APIClientError else { return false }
            return e.code == .expired && e.status?.code == 410 && isResourceExpired(e)
        }
        #expect(performing: { try WatchEventDecoder<CoreV1.Pod>.typed.decode(Array(expired.utf8)) }, throws: isExpired)
        #expect(performing: { try WatchEventDecoder<JSONValue>.raw.decode(Array(expired.utf8)) }, throws: isExpired)
        let other = #"{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","status":"Failure","message":"boom","reason":"InternalError","code":500}}"#
        #expect { try WatchEventDecoder<JSONValue>.raw.decode(Array(other.utf8)) } throws: { error in
            (error as? APIError)?.code == 500 && (error as? APIError)?.message == "boom"
        }
    }

    @Test func typedDecoderToleratesBookmarksOfKindsWithRequiredFields() throws {
        // RoleBinding requires roleRef; a bookmark carries only metadata.
        let frame = #"{"type":"BOOKMARK","object":{"kind":"RoleBinding","apiVersion":"rbac.authorization.k8s.io/v1","metadata":{"resourceVersion":"77"}}}"#
        #expect(try WatchEventDecoder<RBACV1.RoleBinding>.typed.decode(Array(frame.utf8)) == .bookmark(resourceVersion: "77"))
        let added = #"{"type":"MODIFIED","object":{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"x","resourceVersion":"3"},"data":{"k":"v"}}}"#
        let event = try WatchEventDecoder<CoreV1.ConfigMap>.typed.decode(Array(added.utf8))
        #expect(event?.object?.data == ["k": "v"])
        #expect(event?.type == "MODIFIED")
        // A frame not starting with "type" is parsed fully.
        let reordered = #"{"object":{"metadata":{"name":"y"}},"type":"DELETED"}"#
        #expect(try WatchEventDecoder<CoreV1.ConfigMap>.typed.decode(Array(reordered.utf8))?.object?.name == "y")
    }
}

@Suite("List-watch decisions", .tags(.unit))
struct ListWatchCoreTests {
    @Test func listsThenWatchesFromTheLastResourceVersion() {
        var core = ListWatchCore()
        #expect(core.nextStep() == .list)
        core.listSucceeded(resourceVersion: "10")
        #expect(core.nextStep() == .watch(resourceVersion: "10"))
        core.observed(resourceVersion: "12")
        core.observed(resourceVersion: "15")  // a bookmark
        core.watchEnded()
        #expect(core.nextStep() == .watch(resourceVersion: "15"))
    }

    @Test func relistsAtOnceWhenExpired() {
        var core = ListWatchCore()
        core.listSucceeded(resourceVersion: "10")
        core.watchExpired()
        #expect(core.nextStep() == .list)
        core.listSucceeded(resourceVersion: "20")
        #expect(core.nextStep() == .watch(resourceVersion: "20"))
    }

    @Test func backsOffAfterFailuresAndResetsOnSuccess() {
        var core = ListWatchCore(backoff: ListWatcherBackoff(initial: .milliseconds(100), maximum: .milliseconds(350)))
        core.listFailed()
        #expect(core.nextStep() == .wait(.milliseconds(100)))
        #expect(core.nextStep() == .list)
        core.listFailed()
        #expect(core.nextStep() == .wait(.milliseconds(200)))
        core.listFailed()
        #expect(core.nextStep() == .wait(.milliseconds(350)))
        core.listSucceeded(resourceVersion: "5")
        #expect(core.consecutiveFailures == 0)
        core.watchFailed()
        #expect(core.nextStep() == .wait(.milliseconds(100)))
        // Resumes from where it was, not a relist.
        #expect(core.nextStep() == .watch(resourceVersion: "5"))
    }
}

@Suite("Status errors and encoding", .tags(.unit))
struct StatusAndEncodingTests {
    @Test func statusBodyBecomesAPIError() {
        let error = APIError.notFound(GroupResource(resource: "configmaps"), name: "x")
        let decoded = APIError(statusBody: error.statusJSON().serialized(), httpStatus: 404)
        #expect(decoded == error)
        let invalid = APIError(code: 422, reason: .invalid, message: "bad", details: .init(name: "n", kind: "ConfigMap", causes: [.init(reason: "FieldValueRequired", message: "Required value", field: "data")]))
        #expect(APIError(statusBody: invalid.statusJSON().serialized(), httpStatus: 422) == invalid)
    }

    @Test func nonStatusBodyGetsAGenericError() {
        let e = APIError(statusBody: Array("upstream connect error".utf8), httpStatus: 503)
        #expect(e.code == 503 && e.reason == .serviceUnavailable)
        #expect(e.message.contains("upstream connect error"))
    }

    @Test func percentEncoding() {
        #expect(PercentEncoding.queryComponent("app in (a,b),tier!=x") == "app%20in%20%28a%2Cb%29%2Ctier%21%3Dx")
        #expect(PercentEncoding.pathSegment("system:node:a b") == "system:node:a%20b")
        #expect(PercentEncoding.query([("a", "1"), ("b", "x=y")]) == "a=1&b=x%3Dy")
    }

    @Test func resourcePaths() throws {
        let pods = CoreV1.Pod.resource
        #expect(pods.path(namespace: "ns", name: "p", subresource: "binding") == "/api/v1/namespaces/ns/pods/p/binding")
        #expect(pods.path() == "/api/v1/pods")
        #expect(AppsV1.Deployment.resource.path(namespace: "a") == "/apis/apps/v1/namespaces/a/deployments")
        #expect(CoreV1.Node.resource.path(namespace: "ignored", name: "n1") == "/api/v1/nodes/n1")
        #expect(try #require(APIResource(apiVersion: "batch/v1", kind: "Job")).plural == "jobs")
    }

    @Test func deleteOptionsBody() throws {
        #expect(DeleteOptions().body == nil)
        let body = try #require(DeleteOptions(propagationPolicy: .foreground, gracePeriodSeconds: 0, preconditionUID: "u").body)
        let json = try JSONValue.parse(body)
        #expect(json["propagationPolicy"] == .string("Foreground"))
        #expect(json["gracePeriodSeconds"] == .int(0))
        #expect(json["preconditions"]?["uid"] == .string("u"))
        #expect(json["kind"] == .string("DeleteOptions"))
    }
}
