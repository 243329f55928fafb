import CCapstanHost
import Foundation
import Testing

/// `capstan_release_file_mappings`, which long-running commands call once serving.
@Suite struct FileMappingReleaseTests {
    /// kB of resident file-backed memory of this process.
    private func residentFileKB() throws -> Int {
        let status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
        let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("RssFile:") })
        return try #require(Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]))
    }

    @Test func releasesResidentCodeAndTheProcessRunsOn() throws {
        let before = try residentFileKB()
        let released = capstan_release_file_mappings()
        let after = try residentFileKB()
        #expect(released > 0, "returned \(released)")
        #expect(after < before, "RssFile \(before) kB before, \(after) kB after")
        // Code and constants fault back in: Foundation, the Swift runtime and this test's own
        // code still run, and relocated data (kept) is intact.
        let data = try JSONSerialization.data(withJSONObject: ["answer": 42, "list": [1, 2, 3]])
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(object["answer"] as? Int == 42)
        #expect(String(describing: FileMappingReleaseTests.self) == "FileMappingReleaseTests")
        #expect(try residentFileKB() > after / 2)
    }

    @Test func writtenMappingsAreLeftAlone() throws {
        // A private file mapping written once (as relocations are) and then made read-only.
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("capstan-mapping-\(UUID().uuidString)").path
        defer { unlink(path) }
        let fd = open(path, O_RDWR | O_CREAT, 0o600)
        #expect(fd >= 0)
        defer { close(fd) }
        let size = 4 * 4096
        #expect(ftruncate(fd, off_t(size)) == 0)
        let base = try #require(mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0))
        #expect(base != MAP_FAILED)
        defer { munmap(base, size) }
        let bytes = base.assumingMemoryBound(to: UInt8.self)
        for page in 0..<4 { bytes[page * 4096] = UInt8(page + 1) }
        #expect(mprotect(base, size, PROT_READ) == 0)
        _ = capstan_release_file_mappings()
        // The private copies survive (dropping them would bring back the file's zeros).
        #expect((0..<4).map { bytes[$0 * 4096] } == [1, 2, 3, 4])
    }
}
