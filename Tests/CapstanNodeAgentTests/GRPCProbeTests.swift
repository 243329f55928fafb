import GRPCCore
import GRPCNIOTransportHTTP2
import Testing
@testable import CapstanNodeAgent

/// A grpc.health.v1 server on loopback: "" and "web" are SERVING, "sick" is NOT_SERVING, other
/// services are unknown (NOT_FOUND, as grpc-go's health server answers).
private struct HealthService: RegistrableRPCService {
    func registerMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
        router.registerHandler(forMethod: GRPCHealthProbe.check, deserializer: ServiceNameDeserializer(),
                               serializer: StatusSerializer()) { request, _ in
            var service = ""
            for try await name in request.messages { service = name }
            let status: Int
            switch service {
            case "", "web": status = 1
            case "sick": status = 2
            default: throw RPCError(code: .notFound, message: "unknown service")
            }
            return StreamingServerResponse(single: ServerResponse(message: status))
        }
    }
}

private struct ServiceNameDeserializer: MessageDeserializer {
    func deserialize<Bytes: GRPCContiguousBytes>(_ bytes: Bytes) throws -> String {
        let data = bytes.withUnsafeBytes { Array($0) }
        // Field 1, length-delimited, a short string: tag, length, bytes.
        guard data.count >= 2, data[0] == 0x0A else { return "" }
        return String(decoding: data[2...], as: UTF8.self)
    }
}

private struct StatusSerializer: MessageSerializer {
    func serialize<Bytes: GRPCContiguousBytes>(_ status: Int) throws -> Bytes {
        Bytes(status == 0 ? [] : [0x08] + ProtobufWire.varint(UInt64(status)))
    }
}

@Suite struct GRPCProbeTests {
    @Test func healthCheckOutcomes() async throws {
        let transport = HTTP2ServerTransport.Posix(address: .ipv4(host: "127.0.0.1", port: 0), transportSecurity: .plaintext)
        try await withGRPCServer(transport: transport, services: [HealthService()]) { server in
            let port = try #require(try await transport.listeningAddress.ipv4?.port)
            #expect(await GRPCHealthProbe.run(host: "127.0.0.1", port: port, service: "", timeout: 2) == .success)
            #expect(await GRPCHealthProbe.run(host: "127.0.0.1", port: port, service: "web", timeout: 2) == .success)
            #expect(await GRPCHealthProbe.run(host: "127.0.0.1", port: port, service: "sick", timeout: 2)
                    == .failure("service unhealthy (responded with \"NOT_SERVING\")"))
            let unknown = await GRPCHealthProbe.run(host: "127.0.0.1", port: port, service: "other", timeout: 2)
            #expect(unknown == .failure("rpc error: code = NotFound desc = unknown service"), "\(unknown)")
            server.beginGracefulShutdown()
        }
    }

    @Test func nothingListeningIsAFailureWithinTheTimeout() async throws {
        let start = ContinuousClock.now
        // Port 1 on loopback: nothing listens there.
        let outcome = await GRPCHealthProbe.run(host: "127.0.0.1", port: 1, service: "", timeout: 1)
        guard case .failure(let message) = outcome else { Issue.record("expected a failure"); return }
        #expect(message.hasPrefix("timeout: failed to connect service \"127.0.0.1:1\" within 1s"), "\(message)")
        #expect(ContinuousClock.now - start < .seconds(5))
    }

    @Test func wireFormat() throws {
        #expect(ProtobufWire.lengthDelimited(field: 1, Array("web".utf8)) == [0x0A, 3, 0x77, 0x65, 0x62])
        #expect(ProtobufWire.lengthDelimited(field: 1, []) == [])
        #expect(ProtobufWire.varint(300) == [0xAC, 0x02])
        #expect(try ProtobufWire.varintField(1, in: [0x08, 0x02]) == 2)
        #expect(try ProtobufWire.varintField(1, in: []) == nil)
        // Other fields (length-delimited field 2, fixed64 field 3) are skipped.
        #expect(try ProtobufWire.varintField(1, in: [0x12, 1, 0x41, 0x19, 0, 0, 0, 0, 0, 0, 0, 0, 0x08, 0x01]) == 1)
        #expect(throws: ProtobufWire.Malformed.self) { try ProtobufWire.varintField(1, in: [0x08]) }
        #expect(throws: ProtobufWire.Malformed.self) { try ProtobufWire.varintField(1, in: [0x12, 9, 0]) }
    }
}
