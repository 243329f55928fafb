import CCapstanHost
@testable import CapstanRuntimeOCI
import Foundation
import Testing

/// The sealed in-memory copy of the OCI runtime's binary that the agent and its shims execute.
@Suite(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/busybox") || FileManager.default.isExecutableFile(atPath: "/bin/busybox"),
                "needs busybox-static"))
struct SealedRuntimeTests {
    @Test func aProgramRunsFromTheSealedCopyUnderItsOwnName() async throws {
        let sealed = try #require(SealedRuntime(binary: "busybox"))
        #expect(sealed.descriptor >= 64)
        #expect(capstan_file_seals(sealed.descriptor) == capstan_executable_seals)
        // argv[0] stays the program's name (busybox picks its applet by it), and the process's
        // /proc/self/exe is the memfd: what runc and crun check before cloning themselves.
        let output = try await Subprocess.run(Subprocess.Command(["sh", "-c", "readlink /proc/$$/exe; echo $0"], executable: sealed.path))
        let lines = String(decoding: output.stdout, as: UTF8.self).split(separator: "\n").map(String.init)
        #expect(output.exitCode == 0, "\(output.stderrText)")
        #expect(lines.first?.hasPrefix("/memfd:capstan-runtime:busybox") == true, "\(lines)")
        #expect(lines.last == "sh")
    }

    @Test func theCopyCannotBeWritten() throws {
        let sealed = try #require(SealedRuntime(binary: "busybox"))
        // Opened for writing through its path, the copy refuses the bytes.
        let fd = open(sealed.path, O_WRONLY | O_CLOEXEC)
        #expect(fd >= 0, "\(String(cString: strerror(errno)))")
        defer { if fd >= 0 { close(fd) } }
        let bytes: [UInt8] = [0, 0, 0, 0]
        #expect(write(fd, bytes, bytes.count) == -1)
        #expect(errno == EPERM)
        #expect(ftruncate(sealed.descriptor, 0) == -1)
        #expect(fcntl(sealed.descriptor, F_GETFD) & FD_CLOEXEC != 0)
    }

    @Test func scriptsAndMissingBinariesRunFromTheirFiles() throws {
        let script = FileManager.default.temporaryDirectory.appendingPathComponent("capstan-runtime-\(UUID().uuidString)").path
        #expect(FileManager.default.createFile(atPath: script, contents: Data("#!/bin/sh\nexit 0\n".utf8), attributes: [.posixPermissions: 0o755]))
        defer { unlink(script) }
        #expect(SealedRuntime(binary: script) == nil)
        #expect(SealedRuntime(binary: "capstan-no-such-runtime-\(UUID().uuidString)") == nil)
    }
}
