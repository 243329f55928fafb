import CCapstanHost
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The OCI runtime's binary, copied once into a sealed memfd that this process and the shims
/// execute. runc and crun guard against CVE-2019-5736 (a container overwriting the runtime's
/// binary through /proc/self/exe) by bind-mounting or copying their own binary and executing
/// themselves again, on every call, unless /proc/self/exe already is a memfd sealed against
/// writes, which cannot be changed. Run from this copy they skip that work: the guard stays,
/// made once per agent instead of once per call (as runc's memfd-bind does for a host).
final class SealedRuntime: Sendable {
    /// A close-on-exec descriptor, kept above the ones children get (0 to 4).
    let descriptor: Int32
    /// The file to execute in a child of this process: the descriptor through /proc/self, which
    /// the child resolves before its close-on-exec descriptors go.
    var path: String { "/proc/self/fd/\(descriptor)" }
    /// The descriptor a shim receives the copy as (after its sync pipe at 3).
    static let shimDescriptor: Int32 = 4

    /// nil when `binary` is not an ELF executable found on PATH, or the copy fails: the runtime
    /// then runs from its file.
    init?(binary: String) {
        guard let file = Subprocess.find(onPath: binary) else { return nil }
        let name = "capstan-runtime:" + (binary as NSString).lastPathComponent
        let descriptor = capstan_sealed_executable(file, name, 64)
        guard descriptor >= 0 else { return nil }
        self.descriptor = descriptor
    }

    deinit { close(descriptor) }
}
