import CCapstanShim
import CapstanContainerRuntime
@testable import CapstanRuntimeOCI
import Foundation
import Testing

/// The shim's C log writer against the Swift reference (CRILogWriter, ContainerLogFile, CRILog):
/// the same chunks at the same time give the same bytes, and files rotate the same way.
@Suite("capstan-shim log format matches the Swift writer")
struct ShimLogFormatTests {
    @Test("timestamps", arguments: [
        (Int64(0), Int64(0)), (1_475_713_029, 669_794_202), (951_782_400, 1), (4_102_444_799, 999_999_999),
        (1_709_164_800, 500_000_000), (253_402_300_799, 42),
    ])
    func timestamps(_ time: (Int64, Int64)) {
        var buffer = [CChar](repeating: 0, count: 64)
        let length = capstan_cri_timestamp(&buffer, buffer.count, time.0, time.1)
        let c = String(decoding: buffer.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        #expect(c == CRILog.timestamp(epochSeconds: time.0, nanoseconds: time.1))
    }

    @Test("records: lines, empty lines, long lines in P pieces, lines across chunks, the unterminated tail")
    func records() throws {
        let long = [UInt8](repeating: 0x61, count: CRILog.maxRecordContent * 2 + 77)
        let chunkings: [[[UInt8]]] = [
            [Array("one\ntwo\n\nthree".utf8), Array(" and more\n".utf8), Array("tail without newline".utf8)],
            [long + [0x0A], Array("x".utf8)],
            [Array(long.prefix(10000)), Array(long.prefix(10000)), Array(long.prefix(10000)) + Array("\nnext\n".utf8)],
            [Array("ünïcode ✓ and a tab\t and a CR\r\n".utf8), [0x0A, 0x0A, 0x0A]],
            [Array(long.prefix(CRILog.maxRecordContent)), Array(long.prefix(CRILog.maxRecordContent - 1)), [0x62]],
            [],
        ]
        let seconds: Int64 = 1_700_000_000
        let date = Date(timeIntervalSince1970: Double(seconds) + 0.25)
        for (index, chunks) in chunkings.enumerated() {
            for stream in [CRILog.Stream.stdout, .stderr] {
                var expected: [UInt8] = []
                var swift = CRILogWriter(stream: stream) { expected += $0 }
                for chunk in chunks { swift.append(chunk[...], now: date) }
                swift.finish(now: date)

                let c = try Self.cOutput(stream: stream.rawValue, chunks: chunks, seconds: seconds, nanoseconds: 250_000_000)
                #expect(c == expected, "chunking \(index) on \(stream): C wrote \(c.count) bytes, Swift \(expected.count)")
            }
        }
    }

    @Test("rotation keeps the same files and contents")
    func rotation() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("capstan-shimlog-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        for directory in ["swift", "c"] {
            try FileManager.default.createDirectory(atPath: root + "/" + directory, withIntermediateDirectories: true)
        }
        // Records of 30 to 59 bytes into files of at most 150 bytes, 3 files kept.
        let records = (0 ..< 40).map { Array(String(repeating: "r", count: 29 + $0 % 30).utf8) + [0x0A] }
        let swift = ContainerLogFile(path: root + "/swift/0.log", maxSize: 150, maxFiles: 3)
        for record in records { swift.write(record) }
        var file = capstan_log_file()
        capstan_log_file_open(&file, root + "/c/0.log", 150, 3)
        for record in records { capstan_log_file_write(&file, record, record.count) }
        capstan_log_file_close(&file)

        func files(_ directory: String) throws -> [(String, Data)] {
            try FileManager.default.contentsOfDirectory(atPath: root + "/" + directory).sorted().map { name in
                (name, try Data(contentsOf: URL(fileURLWithPath: root + "/" + directory + "/" + name)))
            }
        }
        let swiftFiles = try files("swift")
        let cFiles = try files("c")
        #expect(swiftFiles.count == 3 && cFiles.count == 3, "\(swiftFiles.map(\.0)) / \(cFiles.map(\.0))")
        #expect(cFiles.first?.0 == "0.log" && cFiles.dropFirst().allSatisfy { $0.0.hasPrefix("0.log.") && $0.0.count >= 21 })
        // Rotated names carry the time of rotation (with -N when several fall in one second): compare contents in order.
        #expect(cFiles.map(\.1) == swiftFiles.map(\.1))
        #expect(cFiles.map(\.1).allSatisfy { $0.count <= 150 })
        // The files kept are the newest: the rotated ones in the order of their names (time, then
        // -N as a number), then the current file, end the stream as written, with nothing missing.
        func order(_ name: String) -> (String, Int) {
            let tail = name.dropFirst("0.log.".count)
            let rest = tail.dropFirst(15)
            return (String(tail.prefix(15)), rest.first == "-" ? Int(rest.dropFirst()) ?? 0 : 0)
        }
        let rotated = cFiles.filter { $0.0 != "0.log" }.sorted { order($0.0) < order($1.0) }
        let kept = (rotated + cFiles.filter { $0.0 == "0.log" }).reduce(Data()) { $0 + $1.1 }
        let written = Data(records.joined())
        #expect(written.count >= kept.count && written.suffix(kept.count) == kept, "kept \(kept.count) bytes are not the last ones written")
    }

    /// What the C writer writes to a log file for the chunks.
    static func cOutput(stream: String, chunks: [[UInt8]], seconds: Int64, nanoseconds: Int64) throws -> [UInt8] {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("capstan-shimrec-\(UUID().uuidString.prefix(8)).log").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        var file = capstan_log_file()
        capstan_log_file_open(&file, path, 1 << 30, 1)
        stream.withCString { name in
            var writer = capstan_cri_writer()
            withUnsafeMutablePointer(to: &file) { filePointer in
                capstan_cri_writer_init(&writer, name, filePointer)
                for chunk in chunks { capstan_cri_writer_append(&writer, chunk, chunk.count, seconds, nanoseconds) }
                capstan_cri_writer_finish(&writer, seconds, nanoseconds)
                capstan_cri_writer_free(&writer)
            }
            capstan_log_file_close(&file)
        }
        return Array(try Data(contentsOf: URL(fileURLWithPath: path)))
    }
}
