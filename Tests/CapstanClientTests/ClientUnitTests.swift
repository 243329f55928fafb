import CapstanAPI
import CapstanAPIMachinery
@testable import CapstanClient
import Testing

@Suite("Connection pool state machine", .tags(.unit))
struct ConnectionPoolStateMachineTests {
    typealias Machine = ConnectionPool.StateMachine<Int>

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
        #expect(m.connectFailed() == .fail(1))
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
        let (close, fail) = m.shutdown()
        #expect(close.isEmpty && fail == [2])
        #expect(m.release(5, reusable: true) == .close(5))
        #expect(m.lease(3) == .failShutdown)
        #expect(m.connected(6) == .close(6))
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
