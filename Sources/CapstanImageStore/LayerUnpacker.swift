import CapstanOCI
import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Unpacks layer tarballs into directories overlayfs can stack. Decompression and extraction
/// are done by the system's `gzip`/`zstd` and GNU `tar` (Foundation on Linux has no gzip, and
/// tar already handles hard links, devices, xattrs and ownership); the uncompressed stream is
/// hashed here to check the layer's diff id. OCI whiteouts become overlayfs whiteouts:
/// `.wh.NAME` -> a 0/0 character device NAME, `.wh..wh..opq` -> `trusted.overlay.opaque=y`.
enum LayerUnpacker {
    /// Extracts `blob` (compressed as `compression`) into `destination` (created) and returns
    /// the sha256 digest of the uncompressed tar stream.
    static func unpack(blob: String, compression: MediaType.Compression, into destination: String, scratch: String) throws -> ContentDigest {
        try FileManager.default.createDirectory(atPath: destination, withIntermediateDirectories: true)
        let tarPath: String
        var temporary: String?
        switch compression {
        case .none:
            tarPath = blob
        case .gzip, .zstd:
            let path = scratch + "/layer-\(UInt64.random(in: 0 ... .max)).tar"
            temporary = path
            let tool = compression == .gzip ? "gzip" : "zstd"
            try run(["/usr/bin/env", tool, "-dc", blob], stdout: path, what: "decompressing \(blob) with \(tool)")
            tarPath = path
        }
        defer { if let temporary { try? FileManager.default.removeItem(atPath: temporary) } }
        let diffID = try sha256(file: tarPath)
        try run(["/usr/bin/env", "tar", "-x", "--numeric-owner", "--same-owner", "--same-permissions", "--xattrs", "--xattrs-include=*", "-f", tarPath, "-C", destination], stdout: nil, what: "extracting \(blob)")
        try convertWhiteouts(in: destination)
        return diffID
    }

    static func sha256(file path: String) throws -> ContentDigest {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw ImageStoreError(.io, "cannot read \(path)") }
        defer { try? handle.close() }
        var hasher = SHA256()
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            hasher.update(data: chunk)
        }
        return try ContentDigest.sha256(hex: RegistryClient.hex(hasher.finalize()))
    }

    static func convertWhiteouts(in root: String) throws {
        guard let enumerator = FileManager.default.enumerator(atPath: root) else { return }
        var whiteouts: [String] = []
        while let relative = enumerator.nextObject() as? String {
            if (relative as NSString).lastPathComponent.hasPrefix(".wh.") { whiteouts.append(relative) }
        }
        for relative in whiteouts {
            let path = root + "/" + relative
            let directory = (path as NSString).deletingLastPathComponent
            let name = (relative as NSString).lastPathComponent
            try? FileManager.default.removeItem(atPath: path)
            if name == ".wh..wh..opq" {
                let value = "y"
                guard c_setxattr(directory, "trusted.overlay.opaque", value, value.utf8.count, 0) == 0 else {
                    throw ImageStoreError(.io, "setting the opaque xattr on \(directory): \(String(cString: strerror(errno)))")
                }
            } else {
                let target = directory + "/" + String(name.dropFirst(4))
                try? FileManager.default.removeItem(atPath: target)
                guard mknod(target, S_IFCHR | 0o000, 0) == 0 else {
                    throw ImageStoreError(.io, "creating the whiteout \(target): \(String(cString: strerror(errno)))")
                }
            }
        }
    }

    /// Runs a tool to completion; its stdout goes to `stdout` (a file path) or is discarded.
    static func run(_ arguments: [String], stdout: String?, what: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: arguments[0])
        process.arguments = Array(arguments.dropFirst())
        let errors = Pipe()
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        var output: FileHandle?
        if let stdout {
            guard FileManager.default.createFile(atPath: stdout, contents: nil), let handle = FileHandle(forWritingAtPath: stdout) else {
                throw ImageStoreError(.io, "cannot create \(stdout)")
            }
            output = handle
            process.standardOutput = handle
        } else {
            process.standardOutput = FileHandle.nullDevice
        }
        defer { try? output?.close() }
        do {
            try process.run()
        } catch {
            throw ImageStoreError(.unsupported, "\(what): cannot run \(arguments[1]): \(error)")
        }
        let message = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ImageStoreError(.invalidArchive, "\(what): \(arguments[1]) failed (\(process.terminationStatus)): \(String(decoding: message.prefix(2000), as: UTF8.self))")
        }
    }
}

@_silgen_name("setxattr")
private func c_setxattr(_ path: UnsafePointer<CChar>, _ name: UnsafePointer<CChar>, _ value: UnsafeRawPointer, _ size: Int, _ flags: Int32) -> Int32
