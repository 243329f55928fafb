import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2

/// The gRPC probe: `grpc.health.v1.Health/Check` over plaintext HTTP/2 to the pod, success only
/// when the answer is SERVING (kubelet's semantics and messages).
enum GRPCHealthProbe {
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
                return try await client.unary(request: ClientRequest(message: service), descriptor: check,
                                              serializer: HealthCheckRequestSerializer(), deserializer: HealthCheckResponseDeserializer(),
                                              options: options) { try $0.message }
            }
            guard status == 1 else {
                return .failure("service unhealthy (responded with \"\(statusNames[status] ?? String(status))\")")
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

/// `HealthCheckRequest { string service = 1; }` in protobuf's wire format.
struct HealthCheckRequestSerializer: MessageSerializer {
    func serialize<Bytes: GRPCContiguousBytes>(_ service: String) throws -> Bytes {
        Bytes(ProtobufWire.lengthDelimited(field: 1, Array(service.utf8)))
    }
}

/// The status of `HealthCheckResponse { ServingStatus status = 1; }` (0 when absent).
struct HealthCheckResponseDeserializer: MessageDeserializer {
    func deserialize<Bytes: GRPCContiguousBytes>(_ bytes: Bytes) throws -> Int {
        try bytes.withUnsafeBytes { try ProtobufWire.varintField(1, in: Array($0)) } ?? 0
    }
}

/// The two protobuf wire-format pieces the health protocol needs.
enum ProtobufWire {
    struct Malformed: Error, CustomStringConvertible {
        var description: String { "malformed protobuf message" }
    }

    static func varint(_ value: UInt64) -> [UInt8] {
        var value = value, out: [UInt8] = []
        repeat {
            var byte = UInt8(value & 0x7F)
            value >>= 7
            if value != 0 { byte |= 0x80 }
            out.append(byte)
        } while value != 0
        return out
    }

    static func lengthDelimited(field: Int, _ payload: [UInt8]) -> [UInt8] {
        payload.isEmpty ? [] : varint(UInt64(field << 3 | 2)) + varint(UInt64(payload.count)) + payload
    }

    /// The last value of varint field `field`, skipping other fields; nil when absent.
    static func varintField(_ field: Int, in bytes: [UInt8]) throws -> Int? {
        var i = 0, found: Int?
        func read() throws -> UInt64 {
            var value: UInt64 = 0, shift: UInt64 = 0
            while true {
                guard i < bytes.count, shift < 64 else { throw Malformed() }
                let byte = bytes[i]; i += 1
                value |= UInt64(byte & 0x7F) << shift
                if byte & 0x80 == 0 { return value }
                shift += 7
            }
        }
        while i < bytes.count {
            let key = try read()
            switch key & 7 {
            case 0:
                let value = try read()
                if Int(key >> 3) == field { found = Int(truncatingIfNeeded: value) }
            case 1: i += 8
            case 2: i += Int(try read())
            case 5: i += 4
            default: throw Malformed()
            }
            guard i <= bytes.count else { throw Malformed() }
        }
        return found
    }
}
