@testable import CapstanRuntimeOCI
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The pidfd handle the runtime signals a container's init through.
@Suite("Container process handle")
struct ContainerProcessTests {
    /// A cgroup path of `pid` (the first hierarchy listed), as the runtime names a container's.
    private static func cgroupPath(of pid: Int32) throws -> String {
        let text = try String(contentsOfFile: "/proc/\(pid)/cgroup", encoding: .utf8)
        let line = try #require(text.split(separator: "\n").first)
        return String(try #require(line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false).last))
    }

    @Test func opensOnlyAProcessInTheGivenCgroup() throws {
        let own = try Self.cgroupPath(of: getpid())
        let process = try #require(ContainerProcess.open(pid: getpid(), cgroupsPath: own))
        #expect(process.signal(0))
        #expect(ContainerProcess.open(pid: getpid(), cgroupsPath: "/capstan/not-this-one-\(UUID().uuidString)") == nil)
        #expect(!ContainerProcess.isIn(pid: getpid(), cgroupsPath: "/capstan/not-this-one"))
    }

    @Test func aReapedProcessIsNeverSignalledAgain() throws {
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/bin/sleep")
        child.arguments = ["30"]
        try child.run()
        let pid = child.processIdentifier
        let process = try #require(ContainerProcess.open(pid: pid, cgroupsPath: try Self.cgroupPath(of: pid)))
        #expect(process.signal(SIGKILL))
        child.waitUntilExit()
        #expect(child.terminationReason == .uncaughtSignal)
        // Reaped: whatever process gets the PID next, the handle reaches nobody.
        #expect(!process.signal(SIGKILL))
        #expect(!process.signal(0))
    }
}
