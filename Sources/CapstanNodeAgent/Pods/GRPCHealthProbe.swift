import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import GRPCProtobuf
import SwiftProtobuf

/// The gRPC probe: `grpc.health.v1.Health/Check` over plaintext HTTP/2 to the pod, success only
/// when the answer is SERVING (kubelet's semantics and messages).
///
/// The health messages have one field each, with the wire form of protobuf's wrapper types:
/// `HealthCheckRequest { string service = 1; }` is a `StringValue`, and
/// `HealthCheckResponse { ServingStatus status = 1; }` (an enum, a varint) an `Int32Value`.
enum GRPCHealthProbe {
    typealias Request = Google_Protobuf_StringValue
    typealias Response = Google_Protobuf_Int32Value

    static let check = MethodDescriptor(fullyQualifiedService: "grpc.health.v1.Health", method: "Check")

    /// The health protocol's serving status values.
    static let statusNames = [0: "UNKNOWN", 1: "SERVING", 2: "NOT_SERVING", 3: "SERVICE_UNKNOWN"]

    static func run(host: String, port: Int, service: String, timeout: TimeInterval) async -> ProbeOutcome {
        let target = "\(host):\(port)"
        let seconds = max(timeout, 0.001)
        do {
            var config = HTTP2ClientTransport.Posix.Config.defaults
            config.connection.maxIdleTime = nil
            config.backoff = .init(initial: .milliseconds(100), max: .milliseconds(100), multiplier: 1, jitter: 0)
            let transport = try HTTP2ClientTransport.Posix(target: .ipv4(address: host, port: port),
                                                           transportSecurity: .plaintext, config: config)
            let status = try await withGRPCClient(transport: transport) { client in
                var options = CallOptions.defaults
                options.timeout = .milliseconds(Int64(seconds * 1000))
                options.waitForReady = false
                return try await client.unary(request: ClientRequest(message: Request(service)), descriptor: check,
                                              serializer: ProtobufSerializer<Request>(), deserializer: ProtobufDeserializer<Response>(),
                                              options: options) { try $0.message.value }
            }
            guard status == 1 else {
                return .failure("service unhealthy (responded with \"\(statusNames[Int(status)] ?? String(status))\")")
            }
            return .success
        } catch let error as RPCError where error.code == .deadlineExceeded || error.code == .unavailable {
            return .failure("timeout: failed to connect service \"\(target)\" within \(Self.format(seconds)): \(error.message)")
        } catch let error as RPCError {
            // Go's code names: NotFound, Unimplemented, ...
            let code = String(describing: error.code)
            return .failure("rpc error: code = \(code.prefix(1).uppercased() + code.dropFirst()) desc = \(error.message)")
        } catch {
            return .failure("failed to connect service \"\(target)\": \(error)")
        }
    }

    private static func format(_ seconds: TimeInterval) -> String {
        seconds == seconds.rounded() ? "\(Int(seconds))s" : String(format: "%.3gs", seconds)
    }
}
