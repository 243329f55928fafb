import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The unix socket `runc exec --tty --console-socket` connects to: runc sends the pty master
/// over it as SCM_RIGHTS ancillary data, and this side keeps it.
struct ConsoleSocket: ~Copyable {
    let path: String
    private let listener: Int32

    init(path: String) throws {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Subprocess.Failure(description: "console socket: \(String(cString: strerror(errno)))") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            close(fd)
            throw Subprocess.Failure(description: "console socket path too long: \(path)")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        unlink(path)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0, listen(fd, 1) == 0 else {
            let message = String(cString: strerror(errno))
            close(fd)
            throw Subprocess.Failure(description: "console socket \(path): \(message)")
        }
        self.path = path
        self.listener = fd
    }

    /// Waits (on a thread of its own, at most `timeout`) for the runtime to send the master.
    func receiveMaster(timeout: Duration) async -> Int32? {
        let listener = self.listener
        let milliseconds = Int32(timeout.components.seconds * 1000)
        return await withCheckedContinuation { continuation in
            let thread = Thread {
                continuation.resume(returning: Self.receive(listener, milliseconds))
            }
            thread.stackSize = 64 << 10
            thread.start()
        }
    }

    private static func receive(_ listener: Int32, _ milliseconds: Int32) -> Int32? {
        var descriptor = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
        guard poll(&descriptor, 1, milliseconds) == 1 else { return nil }
        let connection = accept(listener, nil, nil)
        guard connection >= 0 else { return nil }
        defer { close(connection) }
        var payload = [UInt8](repeating: 0, count: 4096)
        // cmsghdr (len: 8, level: 4, type: 4) then one int, padded to 8 bytes.
        var control = [UInt8](repeating: 0, count: 64)
        let received = payload.withUnsafeMutableBytes { payloadBytes in
            control.withUnsafeMutableBytes { controlBytes -> Int in
                var vector = iovec(iov_base: payloadBytes.baseAddress, iov_len: payloadBytes.count)
                return withUnsafeMutablePointer(to: &vector) { vectorPointer in
                    var message = msghdr()
                    message.msg_iov = vectorPointer
                    message.msg_iovlen = 1
                    message.msg_control = controlBytes.baseAddress
                    message.msg_controllen = controlBytes.count
                    let count = recvmsg(connection, &message, Int32(MSG_CMSG_CLOEXEC))
                    return count < 0 ? -1 : Int(message.msg_controllen)
                }
            }
        }
        guard received >= 20 else { return nil }
        let length = control.withUnsafeBytes { $0.load(fromByteOffset: 0, as: Int.self) }
        let level = control.withUnsafeBytes { $0.load(fromByteOffset: 8, as: Int32.self) }
        let type = control.withUnsafeBytes { $0.load(fromByteOffset: 12, as: Int32.self) }
        guard length >= 20, level == SOL_SOCKET, type == Int32(SCM_RIGHTS) else { return nil }
        return control.withUnsafeBytes { $0.load(fromByteOffset: 16, as: Int32.self) }
    }

    deinit {
        close(listener)
        unlink(path)
    }
}
