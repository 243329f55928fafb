import CapstanStorage
import CapstanStorageConformance
import CapstanStorageSQLite
import Foundation
import Testing

/// A temporary directory removed by `remove()`.
struct TemporaryDirectory: Sendable {
    let path: String

    init() throws {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("capstan-storage-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        path = url.path
    }

    func file(_ name: String) -> String { path + "/" + name }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}

enum Backend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case memory
    case sqlite

    var testDescription: String { rawValue }
}

/// Runs `body` against a fresh backend with a manual clock and its `run()` loop going,
/// then stops it and removes its files.
func withFixture(_ backend: Backend, _ body: (StorageFixture) async throws -> Void) async throws {
    let clock = ManualClock()
    var directory: TemporaryDirectory?
    let storage: any StorageBackend
    switch backend {
    case .memory:
        storage = MemoryStorage(clock: clock)
    case .sqlite:
        let temporary = try TemporaryDirectory()
        directory = temporary
        storage = try SQLiteStorage(path: temporary.file("state.db"), clock: clock)
    }
    let runner = Task { try await storage.run() }
    let fixture = StorageFixture(backend: storage, advanceClock: { clock.advance(by: $0) })
    var failure: (any Error)?
    do {
        try await body(fixture)
    } catch {
        failure = error
    }
    runner.cancel()
    _ = try? await runner.value
    await storage.close()
    directory?.remove()
    if let failure { throw failure }
}
