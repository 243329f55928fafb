extension ContainerConfig {
    /// The process arguments by Kubernetes' rules: `command` replaces the image entrypoint
    /// (and drops the image cmd); `args` replace the image cmd. Throws when nothing is left to run.
    public func resolvedArguments(image: ImageRuntimeConfig) throws(RuntimeError) -> [String] {
        let arguments: [String]
        switch (command.isEmpty, args.isEmpty) {
        case (false, _): arguments = command + args
        case (true, false): arguments = image.entrypoint + args
        case (true, true): arguments = image.entrypoint + image.cmd
        }
        guard let first = arguments.first, !first.isEmpty else {
            throw RuntimeError(.invalidArgument, "container \(metadata.name): no command specified and the image has no entrypoint or cmd")
        }
        return arguments
    }

    /// The image's environment with this config's variables applied on top (same name: ours
    /// wins, in the image's position; new names are appended in order).
    public func resolvedEnvironment(image: ImageRuntimeConfig) -> [String] {
        var order: [String] = []
        var values: [String: String] = [:]
        func set(_ name: String, _ value: String) {
            if values.updateValue(value, forKey: name) == nil { order.append(name) }
        }
        for entry in image.env {
            let parts = entry.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            set(String(parts[0]), parts.count > 1 ? String(parts[1]) : "")
        }
        for variable in env { set(variable.name, variable.value) }
        return order.map { "\($0)=\(values[$0] ?? "")" }
    }

    /// Working directory: ours, else the image's, else "/".
    public func resolvedWorkingDir(image: ImageRuntimeConfig) -> String {
        if let workingDir, !workingDir.isEmpty { return workingDir }
        if let dir = image.workingDir, !dir.isEmpty { return dir }
        return "/"
    }
}

/// A parsed image `User` field: numeric ids are resolved, names need the image's passwd/group.
public struct ImageUser: Sendable, Hashable {
    public var user: String
    public var group: String?

    /// Parses `user`, `user:group` (names or numbers). Empty means root.
    public init(_ text: String?) {
        let text = text ?? ""
        let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        user = parts.first.flatMap { $0.isEmpty ? nil : $0 } ?? "0"
        group = parts.count > 1 && !parts[1].isEmpty ? parts[1] : nil
    }

    /// Resolves names with the image's `/etc/passwd` and `/etc/group` contents (either may be empty).
    public func resolve(passwd: String, group groupFile: String) throws(RuntimeError) -> (uid: UInt32, gid: UInt32) {
        var uid: UInt32
        var gid: UInt32 = 0
        if let number = UInt32(user) {
            uid = number
            if let entry = Self.entries(passwd).first(where: { UInt32($0[2]) == number }), let g = UInt32(entry[3]) { gid = g }
        } else {
            guard let entry = Self.entries(passwd).first(where: { $0[0] == user }), let u = UInt32(entry[2]), let g = UInt32(entry[3]) else {
                throw RuntimeError(.createFailed, "unable to find user \(user): no matching entries in passwd file")
            }
            uid = u
            gid = g
        }
        if let group {
            if let number = UInt32(group) {
                gid = number
            } else if let entry = Self.entries(groupFile).first(where: { $0[0] == group }), let g = UInt32(entry[2]) {
                gid = g
            } else {
                throw RuntimeError(.createFailed, "unable to find group \(group): no matching entries in group file")
            }
        }
        return (uid, gid)
    }

    private static func entries(_ file: String) -> [[String]] {
        file.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            return fields.count >= 4 ? fields : nil
        }
    }
}
