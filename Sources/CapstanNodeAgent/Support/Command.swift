import Foundation

/// Runs external programs (`ip`), as the one narrow edge where the agent shells out.
public struct CommandResult: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String
}

public struct CommandError: Error, Sendable, CustomStringConvertible {
    public var command: [String]
    public var result: CommandResult
    public var description: String {
        "\(command.joined(separator: " ")) exited with \(result.status): \(result.stderr.trimmingCharacters(in: .whitespacesAndNewlines))"
    }
}

enum Command {
    /// Runs `arguments` (the first is an absolute path or looked up in PATH) with `input` on its
    /// standard input, and collects its output.
    @discardableResult
    static func run(_ arguments: [String], input: String? = nil, check: Bool = true) async throws -> CommandResult {
        guard let executable = arguments.first else { throw NetworkError("empty command") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable.hasPrefix("/") ? executable : try resolve(executable))
        process.arguments = Array(arguments.dropFirst())
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        let stdin = input.map { _ in Pipe() }
        process.standardInput = stdin ?? FileHandle.nullDevice
        let result: CommandResult = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { process in
                let stdout = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                continuation.resume(returning: CommandResult(status: process.terminationStatus, stdout: stdout, stderr: stderr))
            }
            do {
                try process.run()
                if let stdin, let input {
                    // Small (a few commands): fits the pipe's buffer, so the write does not block.
                    stdin.fileHandleForWriting.write(Data(input.utf8))
                    try? stdin.fileHandleForWriting.close()
                }
            } catch { continuation.resume(throwing: error) }
        }
        if check && result.status != 0 { throw CommandError(command: arguments, result: result) }
        return result
    }

    static func resolve(_ name: String) throws -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        for directory in path.split(separator: ":") + ["/usr/sbin", "/sbin", "/usr/bin", "/bin"] {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw NetworkError("\(name) not found in PATH")
    }
}
