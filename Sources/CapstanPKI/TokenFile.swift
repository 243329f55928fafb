/// Static bearer tokens in kube-apiserver's `--token-auth-file` format: CSV records of
/// `token,user,uid[,"group1,group2"]`.
///
/// As in Kubernetes: fields may be quoted (`""` is a literal quote) and leading spaces are ignored;
/// a record with fewer than three fields is an error; a record with an empty token is skipped and a
/// repeated token replaces the earlier one (both noted in ``warnings``). Blank lines are skipped.
public struct TokenFile: Sendable {
    /// Who a token authenticates as.
    public struct User: Hashable, Sendable {
        public var name: String
        public var uid: String
        public var groups: [String]

        public init(name: String, uid: String, groups: [String] = []) {
            self.name = name
            self.uid = uid
            self.groups = groups
        }
    }

    /// The users by token.
    public let users: [String: User]
    /// Records that were skipped or replaced, one line each, for the server's log.
    public let warnings: [String]

    /// Reads and parses the token file at `path`. Errors name the file (and the line).
    public static func load(path: String) throws -> TokenFile {
        guard let text = try PKIFileSystem.readTextIfPresent(path) else {
            throw PKIError(.fileSystem, path: path, "token file does not exist")
        }
        return try parse(text, path: path)
    }

    /// Parses token file text; `path` names it in errors and warnings.
    public static func parse(_ text: String, path: String = "token file") throws -> TokenFile {
        var users: [String: User] = [:]
        var warnings: [String] = []
        var reader = CSVReader(text)
        var recordNumber = 0
        while let (line, fields) = try reader.next(path: path) {
            recordNumber += 1
            guard fields.count >= 3 else {
                throw PKIError(.invalidTokenFile, path: path, "line \(line): a record needs at least 3 fields (token, user name, user uid), found \(fields.count)")
            }
            let token = fields[0]
            guard !token.isEmpty else {
                warnings.append("\(path): line \(line): empty token, record skipped")
                continue
            }
            var groups: [String] = []
            if fields.count >= 4 {
                groups = fields[3].split(separator: ",", omittingEmptySubsequences: false)
                    .map { String($0).trimmed }
                    .filter { !$0.isEmpty }
            }
            if users[token] != nil {
                warnings.append("\(path): line \(line): duplicate token, replacing the earlier record")
            }
            users[token] = User(name: fields[1], uid: fields[2], groups: groups)
        }
        return TokenFile(users: users, warnings: warnings)
    }

    public init(users: [String: User], warnings: [String] = []) {
        self.users = users
        self.warnings = warnings
    }

    /// The user a bearer token authenticates as, or `nil`.
    public func user(forToken token: String) -> User? {
        guard !token.isEmpty else { return nil }
        return users[token]
    }

    /// The number of tokens.
    public var count: Int { users.count }
}
