import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Process plumbing for the runtime: `posix_spawn` with chosen file descriptors (no Foundation
/// `Process`, which owns its own pipes), default signal dispositions and an empty signal mask
/// for the child (a runtime that ignores SIGPIPE must not pass that on to containers), and
/// exit statuses collected by a blocking `waitpid` on a thread of its own per process.
enum Subprocess {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// What to run: the arguments, argv[0] first, and the file executed (argv[0] unless given).
    struct Command: Sendable {
        var arguments: [String]
        var executable: String

        init(_ arguments: [String], executable: String? = nil) {
            self.arguments = arguments
            self.executable = executable ?? arguments[0]
        }
    }

    /// The executable file `name` names: itself when it holds a slash, else the first on PATH.
    static func find(onPath name: String) -> String? {
        if name.contains("/") { return name }
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":") {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    static func spawn(_ arguments: [String], stdin: Int32 = -1, stdout: Int32 = -1, stderr: Int32 = -1, extra: [Int32] = [],
                      keep: [Int32] = [], environment: [String]? = nil) throws -> pid_t {
        try spawn(Command(arguments), stdin: stdin, stdout: stdout, stderr: stderr, extra: extra, keep: keep, environment: environment)
    }

    /// Starts `command` with the given fds as stdin/stdout/stderr (-1: /dev/null), `extra` as
    /// fds 3, 4, ... (they must be above 2 and not collide with those targets), and the `keep`
    /// fds (above those) open under their own numbers.
    static func spawn(_ command: Command, stdin: Int32 = -1, stdout: Int32 = -1, stderr: Int32 = -1, extra: [Int32] = [],
                      keep: [Int32] = [], environment: [String]? = nil) throws -> pid_t {
        let arguments = command.arguments
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for (fd, target) in [(stdin, Int32(0)), (stdout, 1), (stderr, 2)] {
            if fd >= 0 {
                posix_spawn_file_actions_adddup2(&actions, fd, target)
            } else {
                posix_spawn_file_actions_addopen(&actions, target, "/dev/null", target == 0 ? O_RDONLY : O_WRONLY, 0)
            }
        }
        for (index, fd) in extra.enumerated() {
            posix_spawn_file_actions_adddup2(&actions, fd, Int32(3 + index))
        }
        // dup2 onto itself clears the descriptor's close-on-exec flag in the child (glibc 2.29+).
        for fd in keep { posix_spawn_file_actions_adddup2(&actions, fd, fd) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var all = sigset_t()
        sigfillset(&all)
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        let argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let result: Int32
        if let environment {
            let env = environment.map { strdup($0) } + [nil]
            defer { env.forEach { free($0) } }
            result = posix_spawnp(&pid, command.executable, &actions, &attributes, argv, env)
        } else {
            // The agent's own environment as it is (no dictionary built and flattened per spawn).
            result = posix_spawnp(&pid, command.executable, &actions, &attributes, argv, environ)
        }
        guard result == 0 else {
            throw Failure(description: "cannot run \(arguments[0]): \(String(cString: strerror(result)))")
        }
        return pid
    }

    /// Waits for a child (or an orphan reparented to this subreaper) and returns its raw wait status.
    static func wait(_ pid: pid_t) async -> Int32 {
        await withCheckedContinuation { continuation in
            let thread = Thread {
                var status: Int32 = 0
                while true {
                    let result = waitpid(pid, &status, 0)
                    if result == pid { break }
                    if result == -1 && errno == EINTR { continue }
                    // ECHILD: not our child (someone else reaped it); report it as killed.
                    status = SIGKILL
                    break
                }
                continuation.resume(returning: status)
            }
            thread.stackSize = 64 << 10
            thread.start()
        }
    }

    /// Exit code in the shell's convention: the code, or 128 + signal.
    static func exitCode(fromWaitStatus status: Int32) -> Int32 {
        let signal = status & 0x7F
        if signal == 0 { return (status >> 8) & 0xFF }
        return 128 + signal
    }

    struct Output: Sendable {
        var status: Int32
        var stdout: [UInt8]
        var stderr: [UInt8]

        var exitCode: Int32 { Subprocess.exitCode(fromWaitStatus: status) }
        var stderrText: String { String(decoding: stderr, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) }
    }

    /// Runs a command to completion on the calling thread (for start-up work outside async code),
    /// collecting its stdout (at most `limit` bytes); stderr is discarded.
    static func runSynchronously(_ command: Command, limit: Int = 1 << 20) throws -> (status: Int32, stdout: [UInt8]) {
        let out = try Pipe2()
        let pid: pid_t
        do {
            pid = try spawn(command, stdout: out.write)
        } catch {
            out.closeBoth()
            throw error
        }
        out.closeWrite()
        var collected: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16 << 10)
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(out.read, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            if collected.count < limit { collected += buffer[0 ..< min(count, limit - collected.count)] }
        }
        close(out.read)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        return (status, collected)
    }

    static func run(_ arguments: [String], limit: Int = 1 << 20) async throws -> Output {
        try await run(Command(arguments), limit: limit)
    }

    /// Runs a command to completion, collecting its output (at most `limit` bytes per stream).
    static func run(_ command: Command, limit: Int = 1 << 20) async throws -> Output {
        let out = try Pipe2()
        let err = try Pipe2()
        let pid: pid_t
        do {
            pid = try spawn(command, stdout: out.write, stderr: err.write)
        } catch {
            out.closeBoth()
            err.closeBoth()
            throw error
        }
        out.closeWrite()
        err.closeWrite()
        async let stdout = PipeReader.collect(out.read, limit: limit)
        async let stderr = PipeReader.collect(err.read, limit: limit)
        let status = await wait(pid)
        return Output(status: status, stdout: await stdout, stderr: await stderr)
    }
}

/// A pipe whose ends are close-on-exec (dup2 in the child clears the flag on the copy).
struct Pipe2: Sendable {
    let read: Int32
    let write: Int32

    init() throws {
        var fds: [Int32] = [-1, -1]
        guard c_pipe2(&fds, O_CLOEXEC) == 0 else {
            throw Subprocess.Failure(description: "pipe: \(String(cString: strerror(errno)))")
        }
        read = fds[0]
        write = fds[1]
    }

    func closeWrite() { close(write) }
    func closeBoth() {
        close(read)
        close(write)
    }
}

/// Reads pipes on threads of their own (blocking reads), so nothing here needs an event loop.
enum PipeReader {
    /// Reads `fd` to EOF (then closes it), keeping at most `limit` bytes. Stops early once
    /// `control` is abandoned (a process that left children holding the pipe open).
    static func collect(_ fd: Int32, limit: Int, control: ReadControl? = nil) async -> [UInt8] {
        await withCheckedContinuation { continuation in
            let thread = Thread {
                var collected: [UInt8] = []
                readLoop(fd, bufferSize: 16 << 10, control: control) { chunk in
                    if collected.count < limit { collected += chunk.prefix(limit - collected.count) }
                }
                close(fd)
                continuation.resume(returning: collected)
            }
            thread.stackSize = 128 << 10
            thread.start()
        }
    }

    /// Reads `fd` until EOF or an error, handing each chunk to `chunk`. With `control`, polls
    /// so that it can stop once `control` is abandoned while nothing arrives.
    private static func readLoop(_ fd: Int32, bufferSize: Int, control: ReadControl?, _ chunk: (ArraySlice<UInt8>) -> Void) {
        var buffer = [UInt8](repeating: 0, count: bufferSize)
        while true {
            if let control {
                var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                let ready = poll(&descriptor, 1, 100)
                if ready == 0 {
                    if control.isAbandoned { break }
                    continue
                }
                if ready < 0 && errno == EINTR { continue }
            }
            let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            chunk(buffer[0 ..< count])
        }
    }

    /// Yields what `fd` delivers until EOF (or an error such as EIO from a terminal whose
    /// other side closed), then finishes the stream and, if `closes`, closes `fd`. Gives up
    /// once `control` is abandoned and nothing is left to read.
    static func stream(_ fd: Int32, into continuation: AsyncStream<[UInt8]>.Continuation, control: ReadControl, closes: Bool) {
        let thread = Thread {
            readLoop(fd, bufferSize: 32 << 10, control: control) { continuation.yield(Array($0)) }
            if closes { close(fd) }
            continuation.finish()
        }
        thread.stackSize = 128 << 10
        thread.start()
    }
}

/// Lets a pipe reader give up waiting for EOF.
final class ReadControl: Sendable {
    private let abandoned = Atomic<Bool>(false)
    func abandon() { abandoned.store(true, ordering: .releasing) }
    var isAbandoned: Bool { abandoned.load(ordering: .acquiring) }
}

@_silgen_name("pipe2")
private func c_pipe2(_ fds: UnsafeMutablePointer<Int32>, _ flags: Int32) -> Int32
