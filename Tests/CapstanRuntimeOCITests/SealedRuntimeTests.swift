import CCapstanHost
@testable import CapstanRuntimeOCI
import Foundation
import Testing

/// The sealed in-memory copy of the OCI runtime's binary that the agent and its shims execute.
@Suite(.enabled(if: Subprocess.find(onPath: "busybox") != nil, "needs busybox-static"))
struct SealedRuntimeTests {
    private func withDirectory(_ body: (String) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("capstan-sealed-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await body(directory)
    }

    @Test func aProgramRunsFromTheSealedCopyUnderItsOwnName() async throws {
        try await withDirectory { directory in
            let sealed = try #require(SealedRuntime(binary: "busybox", directory: directory))
            #expect(sealed.descriptor >= 64)
            #expect(capstan_file_seals(sealed.descriptor) == capstan_executable_seals)
            #expect(sealed.path == "\(directory)/\(sealed.descriptor)/busybox")
            // argv[0] stays the program's name (busybox picks its applet by it), comm is the
            // link's name, and /proc/self/exe is the memfd: what runc and crun check before
            // cloning themselves.
            let output = try await Subprocess.run(Subprocess.Command(["sh", "-c", "readlink /proc/$$/exe; cat /proc/$$/comm; echo $0"],
                                                                     executable: sealed.path))
            let lines = String(decoding: output.stdout, as: UTF8.self).split(separator: "\n").map(String.init)
            #expect(output.exitCode == 0, "\(output.stderrText)")
            #expect(lines.count == 3 && lines[0].hasPrefix("/memfd:capstan-runtime:busybox"), "\(lines)")
            #expect(lines.dropFirst().elementsEqual(["busybox", "sh"]), "\(lines)")
        }
    }

    @Test func aChildKeepingTheDescriptorRunsTheCopyThroughTheSameLink() async throws {
        // As a shim does: it holds the descriptor under the same number and executes the link.
        try await withDirectory { directory in
            let sealed = try #require(SealedRuntime(binary: "busybox", directory: directory))
            let script = "exec -a sh \(sealed.path) -c 'readlink /proc/$$/exe'"
            let out = try Pipe2()
            let pid = try Subprocess.spawn(Subprocess.Command(["sh", "-c", script], executable: sealed.path), stdout: out.write,
                                           keep: [sealed.descriptor])
            out.closeWrite()
            let text = String(decoding: await PipeReader.collect(out.read, limit: 4096), as: UTF8.self)
            #expect(Subprocess.exitCode(fromWaitStatus: await Subprocess.wait(pid)) == 0)
            #expect(text.hasPrefix("/memfd:capstan-runtime:busybox"), "\(text)")
        }
    }

    @Test func theCopyCannotBeWritten() async throws {
        try await withDirectory { directory in
            let sealed = try #require(SealedRuntime(binary: "busybox", directory: directory))
            // Opened for writing through its link, the copy refuses the bytes.
            let fd = open(sealed.path, O_WRONLY | O_CLOEXEC)
            #expect(fd >= 0, "\(String(cString: strerror(errno)))")
            defer { if fd >= 0 { close(fd) } }
            let bytes: [UInt8] = [0, 0, 0, 0]
            #expect(write(fd, bytes, bytes.count) == -1)
            #expect(errno == EPERM)
            #expect(ftruncate(sealed.descriptor, 0) == -1)
            #expect(fcntl(sealed.descriptor, F_GETFD) & FD_CLOEXEC != 0)
        }
    }

    @Test func scriptsAndMissingBinariesRunFromTheirFiles() async throws {
        try await withDirectory { directory in
            let script = FileManager.default.temporaryDirectory.appendingPathComponent("capstan-runtime-\(UUID().uuidString)").path
            #expect(FileManager.default.createFile(atPath: script, contents: Data("#!/bin/sh\nexit 0\n".utf8),
                                                   attributes: [.posixPermissions: 0o755]))
            defer { unlink(script) }
            #expect(SealedRuntime(binary: script, directory: directory) == nil)
            #expect(SealedRuntime(binary: "capstan-no-such-runtime-\(UUID().uuidString)", directory: directory) == nil)
        }
    }
}
