import CapstanClient
import NIOCore
import NIOHTTP1

extension UserInfo {
    /// Who the server's own components are when they call it in-process (kube-apiserver's
    /// loopback client is the same user).
    public static let loopback = UserInfo(name: "system:apiserver", groups: ["system:masters", "system:authenticated"])
}

extension APIServer {
    /// Answers clients in this process (the scheduler and controllers of `capstan server` and
    /// `capstan up`) through the router itself: the same authorization, admission, storage and
    /// watch cache as a request over HTTPS, without TLS, HTTP framing or event-loop hops.
    public func localTransport(user: UserInfo = .loopback) -> any LocalTransport {
        InProcessTransport(router: router, user: user)
    }
}

struct InProcessTransport: LocalTransport {
    let router: APIRouter
    let user: UserInfo

    func respond(method: HTTPMethod, uri: String, headers: HTTPHeaders, body: [UInt8]) async -> LocalResponse {
        let response = await router.handle(APIRequest(method: method, uri: uri, headers: headers, body: body, user: user))
        switch response.body {
        case .bytes(let bytes):
            return LocalResponse(status: response.status, headers: response.headers, body: .bytes(bytes))
        case .stream(let produce):
            let stream = LocalByteStream()
            // The reader leaving cancels the producer, as a closed connection does over HTTPS.
            let producer = Task {
                do {
                    try await produce(LocalStreamWriter(stream: stream))
                    stream.finish()
                } catch {
                    stream.finish(throwing: error)
                }
            }
            stream.setOnClose { producer.cancel() }
            return LocalResponse(status: response.status, headers: response.headers, body: .stream(stream))
        case .upgrade:
            let error = APIResponse.error(.badRequest("exec, attach and port-forward need a connection to the server"))
            guard case .bytes(let bytes) = error.body else { preconditionFailure("an error response has bytes") }
            return LocalResponse(status: error.status, headers: error.headers, body: .bytes(bytes))
        }
    }
}

struct LocalStreamWriter: ResponseStreamWriter {
    let stream: LocalByteStream

    func write(_ bytes: [UInt8]) async throws {
        try await stream.write(bytes)
    }
}
