import CCapstanHost
import CapstanRuntimeOCI
import Foundation
import Testing

/// `capstan_release_file_mappings`, which long-running commands call once serving.
@Suite struct FileMappingReleaseTests {
    /// kB resident of the mapping that starts at `base`, from /proc/self/smaps.
    private func residentKB(of base: UnsafeMutableRawPointer) throws -> Int {
        let smaps = try #require(ProcFile.read("/proc/self/smaps"))
        let start = String(UInt(bitPattern: base), radix: 16)
        var inMapping = false
        for line in smaps.split(separator: "\n") {
            if let dash = line.firstIndex(of: "-"), line[..<dash].allSatisfy(\.isHexDigit) {
                inMapping = line[..<dash].drop(while: { $0 == "0" }) == start[...]
            } else if inMapping, line.hasPrefix("Rss:") {
                return try #require(Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]))
            }
        }
        Issue.record("no mapping at \(start) in /proc/self/smaps")
        return -1
    }

    @Test func releasesResidentCodeAndTheProcessRunsOn() throws {
        // A read-only file mapping of this test's own, read through once (as start-up code is
        // run once): other tests running meanwhile fault the process's code in and out, never it.
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("capstan-mapping-\(UUID().uuidString)").path
        defer { unlink(path) }
        let pages = 16
        #expect(FileManager.default.createFile(atPath: path, contents: Data((0..<pages * 4096).map { UInt8(truncatingIfNeeded: $0 / 4096 + 1) })))
        let fd = open(path, O_RDONLY)
        #expect(fd >= 0)
        defer { close(fd) }
        let base = try #require(mmap(nil, pages * 4096, PROT_READ, MAP_PRIVATE, fd, 0))
        #expect(base != MAP_FAILED)
        defer { munmap(base, pages * 4096) }
        let bytes = base.assumingMemoryBound(to: UInt8.self)
        #expect((0..<pages).map { Int(bytes[$0 * 4096]) } == Array(1...pages))
        #expect(try residentKB(of: base) == pages * 4)
        let released = capstan_release_file_mappings()
        #expect(released >= pages * 4096, "returned \(released)")
        #expect(try residentKB(of: base) == 0)
        // The contents fault back in from the page cache, and the process's own code and
        // constants (Foundation, the Swift runtime, this test) still run.
        #expect((0..<pages).map { Int(bytes[$0 * 4096]) } == Array(1...pages))
        let data = try JSONSerialization.data(withJSONObject: ["answer": 42, "list": [1, 2, 3]])
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(object["answer"] as? Int == 42)
        #expect(String(describing: FileMappingReleaseTests.self) == "FileMappingReleaseTests")
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
