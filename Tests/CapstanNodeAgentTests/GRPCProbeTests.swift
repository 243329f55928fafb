import GRPCCore
import GRPCNIOTransportHTTP2
import GRPCProtobuf
import Testing
@testable import CapstanNodeAgent

/// A grpc.health.v1 server on loopback: "" and "web" are SERVING, "sick" is NOT_SERVING, other
/// services are unknown (NOT_FOUND, as grpc-go's health server answers).
private struct HealthService: RegistrableRPCService {
    func registerMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
        router.registerHandler(forMethod: GRPCHealthProbe.check, deserializer: ProtobufDeserializer<GRPCHealthProbe.Request>(),
                               serializer: ProtobufSerializer<GRPCHealthProbe.Response>()) { request, _ in
            var service = ""
            for try await message in request.messages { service = message.value }
            let status: Int32
            switch service {
            case "", "web": status = 1
            case "sick": status = 2
            default: throw RPCError(code: .notFound, message: "unknown service")
            }
            return StreamingServerResponse(single: ServerResponse(message: GRPCHealthProbe.Response(status)))
        }
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

    /// The wrapper types have the health messages' wire form: field 1, a string or a varint.
    @Test func wireFormat() throws {
        #expect(try Array(GRPCHealthProbe.Request("web").serializedBytes() as [UInt8]) == [0x0A, 3, 0x77, 0x65, 0x62])
        #expect(try (GRPCHealthProbe.Request("").serializedBytes() as [UInt8]).isEmpty)
        #expect(try GRPCHealthProbe.Response(serializedBytes: [0x08, 0x02] as [UInt8]).value == 2)
        #expect(try GRPCHealthProbe.Response(serializedBytes: [] as [UInt8]).value == 0)
        // Other fields (length-delimited field 2, fixed64 field 3) are skipped.
        #expect(try GRPCHealthProbe.Response(serializedBytes: [0x12, 1, 0x41, 0x19, 0, 0, 0, 0, 0, 0, 0, 0, 0x08, 0x01] as [UInt8]).value == 1)
        #expect(throws: (any Error).self) { try GRPCHealthProbe.Response(serializedBytes: [0x08] as [UInt8]) }
        #expect(throws: (any Error).self) { try GRPCHealthProbe.Response(serializedBytes: [0x12, 9, 0] as [UInt8]) }
    }
}
