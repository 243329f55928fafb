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
///
/// The copy is executed through a link named as the runtime (`<directory>/<fd>/crun` to
/// `/proc/self/fd/<fd>`), so its processes keep the runtime's name (comm); a child resolves the
/// link before its close-on-exec descriptors go. A shim gets the descriptor under the same
/// number, so the same link serves it.
final class SealedRuntime: Sendable {
    /// A close-on-exec descriptor, above the ones children get (0 to 4).
    let descriptor: Int32
    /// The file to execute in a child of this process or of a shim holding `descriptor`.
    let path: String
    private let linkDirectory: String

    /// nil when `binary` is not an ELF executable found on PATH, or the copy or its link fails:
    /// the runtime then runs from its file.
    init?(binary: String, directory: String) {
        guard let file = Subprocess.find(onPath: binary) else { return nil }
        let name = (binary as NSString).lastPathComponent
        let descriptor = capstan_sealed_executable(file, "capstan-runtime:" + name, 64)
        guard descriptor >= 0 else { return nil }
        linkDirectory = "\(directory)/\(descriptor)"
        path = linkDirectory + "/" + name
        self.descriptor = descriptor
        unlink(path)
        guard link() else {
            close(descriptor)
            return nil
        }
    }

    /// `path`, its link made again when something removed it (a state directory cleaned up
    /// under a running agent); nil when that fails too, and the runtime runs from its file.
    var executable: String? {
        var info = stat()
        return lstat(path, &info) == 0 || link() ? path : nil
    }

    private func link() -> Bool {
        (try? FileManager.default.createDirectory(atPath: linkDirectory, withIntermediateDirectories: true)) != nil
            && symlink("/proc/self/fd/\(descriptor)", path) == 0
    }

    deinit { close(descriptor) }
}
