import CapstanStorage
import Testing

/// A check that could not finish: a watch that never delivered, an operation that hung.
public struct ConformanceFailure: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

extension StorageConformance {
    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    /// Runs `body`, failing after `seconds` (a watchdog against hangs, not a wait).
    static func withTimeout<T: Sendable>(
        _ what: String, seconds: Int = 60, _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(for: .seconds(seconds))
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let value = first else {
                throw ConformanceFailure("timed out after \(seconds) s: \(what)")
            }
            return value
        }
    }

    /// The next `count` events of `stream` (progress messages skipped).
    static func events(_ stream: WatchStream, count: Int, _ what: String) async throws -> [WatchEvent] {
        if count == 0 { return [] }
        return try await withTimeout("\(what): waiting for \(count) events") {
            var iterator = stream.makeAsyncIterator()
            var events: [WatchEvent] = []
            while events.count < count {
                guard let message = try await iterator.next() else {
                    throw ConformanceFailure("\(what): watch ended after \(events.count) of \(count) events")
                }
                if case .event(let event) = message { events.append(event) }
            }
            return events
        }
    }

    /// The next message of `stream`, progress included.
    static func message(_ stream: WatchStream, _ what: String) async throws -> WatchMessage {
        try await withTimeout("\(what): waiting for a watch message") {
            var iterator = stream.makeAsyncIterator()
            guard let message = try await iterator.next() else {
                throw ConformanceFailure("\(what): watch ended")
            }
            return message
        }
    }

    /// Expects `body` to throw a `StorageError` with `code`; returns it.
    @discardableResult
    static func expectError<T>(
        _ code: StorageError.Code, _ what: String,
        sourceLocation: SourceLocation = #_sourceLocation,
        _ body: () async throws -> T
    ) async -> StorageError? {
        do {
            let value = try await body()
            Issue.record("\(what): expected \(code), got \(value)", sourceLocation: sourceLocation)
        } catch let error as StorageError {
            #expect(error.code == code, "\(what): \(error)", sourceLocation: sourceLocation)
            return error
        } catch {
            Issue.record("\(what): expected StorageError \(code), got \(error)", sourceLocation: sourceLocation)
        }
        return nil
    }

    /// Expects a watch from `after` to fail with `.compacted`, at `watch` or on its first message.
    static func expectWatchCompacted(
        _ backend: any StorageBackend, prefix: String, after: Int64,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        let stream: WatchStream
        do {
            stream = try await backend.watch(prefix: prefix, afterRevision: after)
        } catch let error as StorageError {
            #expect(error.code == .compacted, "watch after \(after): \(error)", sourceLocation: sourceLocation)
            return
        }
        do {
            let message = try await message(stream, "compacted watch")
            Issue.record("watch after \(after) delivered \(message) instead of failing as compacted", sourceLocation: sourceLocation)
        } catch let error as StorageError {
            #expect(error.code == .compacted, "watch after \(after): \(error)", sourceLocation: sourceLocation)
        }
    }
}
