#if canImport(Glibc)
import Glibc
#endif
import CapstanAPI
import CapstanContainerRuntime
import Foundation
import NIOPosix

/// Runs probes and lifecycle handlers: exec through the runtime, httpGet and tcpSocket against
/// the pod IP from the node (over the pod bridge).
struct ProbeRunner: Sendable {
    let runtime: any ContainerRuntime

    func run(exec: CoreV1.ExecAction?, httpGet: CoreV1.HTTPGetAction?, tcpSocket: CoreV1.TCPSocketAction?,
             grpc: CoreV1.GRPCAction? = nil,
             containerID: String, container: CoreV1.Container, podIP: String?, timeout: TimeInterval) async -> ProbeOutcome {
        if let exec {
            do {
                let result = try await runtime.execSync(containerID, command: exec.command ?? [], timeout: Duration(timeInterval: timeout))
                if result.timedOut { return .failure("command timed out after \(Int(timeout))s") }
                return result.exitCode == 0 ? .success
                    : .failure("command exited with \(result.exitCode): \(result.stdoutString)\(result.stderrString)")
            } catch {
                return .failure("exec failed: \(error)")
            }
        }
        if let httpGet {
            guard let port = Self.port(httpGet.port, container), let host = httpGet.host ?? podIP else {
                return .failure("no port or address for the HTTP probe")
            }
            let headers = (httpGet.httpHeaders ?? []).map { ($0.name, $0.value) }
            return await Self.blocking { Self.httpGet(host: host, port: port, path: httpGet.path ?? "/", headers: headers, timeout: timeout) }
        }
        if let tcpSocket {
            guard let port = Self.port(tcpSocket.port, container), let host = tcpSocket.host ?? podIP else {
                return .failure("no port or address for the TCP probe")
            }
            return await Self.blocking {
                let fd = Self.connect(host: host, port: port, timeout: timeout)
                guard fd >= 0 else { return .failure("dial tcp \(host):\(port): connection refused") }
                close(fd)
                return .success
            }
        }
        if let grpc {
            guard let host = podIP else { return .failure("no address for the gRPC probe") }
            return await GRPCHealthProbe.run(host: host, port: Int(grpc.port), service: grpc.service ?? "", timeout: timeout)
        }
        return .failure("the probe has no handler")
    }

    static func port(_ value: IntOrString, _ container: CoreV1.Container) -> Int? {
        switch value {
        case .int(let number): return Int(number)
        case .string(let name):
            if let number = Int(name) { return number }
            return container.ports?.first { $0.name == name }.map { Int($0.containerPort) }
        }
    }

    private static func blocking(_ body: @escaping @Sendable () -> ProbeOutcome) async -> ProbeOutcome {
        (try? await NIOThreadPool.singleton.runIfActive(body)) ?? .failure("probe could not run")
    }

    /// A TCP connection with a timeout, or -1.
    static func connect(host: String, port: Int, timeout: TimeInterval) -> Int32 {
        guard let address = IPv4Subnet.parse(Substring(host)) else { return -1 }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return -1 }
        var tv = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - timeout.rounded(.down)) * 1e6))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var sin = sockaddr_in()
        sin.sin_family = sa_family_t(AF_INET)
        sin.sin_port = in_port_t(UInt16(port).bigEndian)
        sin.sin_addr = in_addr(s_addr: address.bigEndian)
        let result = withUnsafePointer(to: &sin) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if result != 0 { close(fd); return -1 }
        return fd
    }

    /// A plain HTTP GET: 200-399 is success.
    static func httpGet(host: String, port: Int, path: String, headers: [(String, String)], timeout: TimeInterval) -> ProbeOutcome {
        let fd = connect(host: host, port: port, timeout: timeout)
        guard fd >= 0 else { return .failure("Get \"http://\(host):\(port)\(path)\": connection refused") }
        defer { close(fd) }
        var request = "GET \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nUser-Agent: kube-probe/1.33\r\nAccept: */*\r\nConnection: close\r\n"
        for (name, value) in headers { request += "\(name): \(value)\r\n" }
        request += "\r\n"
        let bytes = Array(request.utf8)
        guard bytes.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, 0) }) == bytes.count else { return .failure("write failed") }
        var buffer = [UInt8](repeating: 0, count: 512)
        let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard count > 12 else { return .failure("Get \"http://\(host):\(port)\(path)\": no response") }
        let line = String(decoding: buffer[0..<count], as: UTF8.self).split(separator: " ", maxSplits: 2)
        guard line.count >= 2, let code = Int(line[1]) else { return .failure("malformed HTTP response") }
        return (200..<400).contains(code) ? .success : .failure("HTTP probe failed with statuscode: \(code)")
    }
}
