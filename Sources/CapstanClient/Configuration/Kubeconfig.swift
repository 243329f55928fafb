import CapstanAPI
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A kubeconfig file: clusters, users and contexts, and the current context; YAML (the subset
/// kubectl writes) or JSON.
///
/// ```swift
/// let kubeconfig = try Kubeconfig.load(path: dataDirectory + "/kubeconfig")
/// let client = try APIClient(configuration: kubeconfig.configuration())
/// ```
///
/// Only one file is read; `KUBECONFIG` lists are not merged (the first existing entry is used).
public struct Kubeconfig: Sendable, Hashable {
    public struct Cluster: Sendable, Hashable {
        public var name: String
        /// `https://HOST:PORT` (or `http://` for a server without TLS).
        public var server: String
        /// `certificate-authority`: a PEM file.
        public var certificateAuthority: String?
        /// `certificate-authority-data`: PEM, decoded from base64.
        public var certificateAuthorityData: [UInt8]?
        public var insecureSkipTLSVerify: Bool
        /// `tls-server-name`: the name to verify the server's certificate against.
        public var tlsServerName: String?

        public init(name: String, server: String, certificateAuthority: String? = nil, certificateAuthorityData: [UInt8]? = nil,
                    insecureSkipTLSVerify: Bool = false, tlsServerName: String? = nil) {
            self.name = name
            self.server = server
            self.certificateAuthority = certificateAuthority
            self.certificateAuthorityData = certificateAuthorityData
            self.insecureSkipTLSVerify = insecureSkipTLSVerify
            self.tlsServerName = tlsServerName
        }
    }

    /// Credentials (`users[].user`): a client certificate, a bearer token, or a user name and password.
    public struct User: Sendable, Hashable {
        public var name: String
        public var clientCertificate: String?
        public var clientCertificateData: [UInt8]?
        public var clientKey: String?
        public var clientKeyData: [UInt8]?
        public var token: String?
        public var tokenFile: String?
        public var username: String?
        public var password: String?

        public init(name: String, clientCertificate: String? = nil, clientCertificateData: [UInt8]? = nil,
                    clientKey: String? = nil, clientKeyData: [UInt8]? = nil, token: String? = nil, tokenFile: String? = nil,
                    username: String? = nil, password: String? = nil) {
            self.name = name
            self.clientCertificate = clientCertificate
            self.clientCertificateData = clientCertificateData
            self.clientKey = clientKey
            self.clientKeyData = clientKeyData
            self.token = token
            self.tokenFile = tokenFile
            self.username = username
            self.password = password
        }
    }

    public struct Context: Sendable, Hashable {
        public var name: String
        public var cluster: String
        public var user: String
        public var namespace: String?

        public init(name: String, cluster: String, user: String, namespace: String? = nil) {
            self.name = name
            self.cluster = cluster
            self.user = user
            self.namespace = namespace
        }
    }

    public var clusters: [Cluster]
    public var users: [User]
    public var contexts: [Context]
    public var currentContext: String?
    /// The directory relative file paths (`certificate-authority: ca.crt`) are resolved against:
    /// the file's own, as kubectl does.
    public var directory: String?

    public init(clusters: [Cluster] = [], users: [User] = [], contexts: [Context] = [], currentContext: String? = nil,
                directory: String? = nil) {
        self.clusters = clusters
        self.users = users
        self.contexts = contexts
        self.currentContext = currentContext
        self.directory = directory
    }

    // MARK: Loading

    /// Reads and parses the kubeconfig at `path`.
    public static func load(path: String) throws -> Kubeconfig {
        let bytes = try FileReading.read(path, what: "kubeconfig")
        let directory = FileReading.directory(of: path)
        do {
            return try Kubeconfig(parsing: String(decoding: bytes, as: UTF8.self), directory: directory)
        } catch let error as APIClientError {
            throw APIClientError.configuration("\(path): \(error.message)")
        }
    }

    /// The kubeconfig kubectl would use: the first existing file named in `KUBECONFIG`, else
    /// `~/.kube/config`.
    public static func loadDefault(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Kubeconfig {
        try load(path: defaultPath(environment: environment))
    }

    /// The path ``loadDefault(environment:)`` reads.
    public static func defaultPath(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let list = environment["KUBECONFIG"], !list.isEmpty {
            let entries = list.split(separator: ":").map(String.init).filter { !$0.isEmpty }
            if let existing = entries.first(where: { FileReading.exists($0) }) { return existing }
            if let first = entries.first { return first }
        }
        let home = environment["HOME"] ?? "/root"
        return home + "/.kube/config"
    }

    /// Parses kubeconfig text (YAML or JSON). `directory` resolves relative file paths.
    public init(parsing text: String, directory: String? = nil) throws {
        let document: JSONValue
        let trimmed = text.drop(while: { $0.isWhitespace })
        do {
            if trimmed.first == "{" {
                document = try JSONValue.parse(Array(text.utf8))
            } else {
                document = try YAMLSubset.parse(text)
            }
        } catch {
            throw APIClientError.configuration("kubeconfig does not parse: \(error)")
        }
        guard case .object(let root) = document else {
            if document == .null {
                self.init(directory: directory)
                return
            }
            throw APIClientError.configuration("kubeconfig is not a mapping")
        }
        var config = Kubeconfig(directory: directory)
        config.currentContext = Self.string(root["current-context"]).flatMap { $0.isEmpty ? nil : $0 }
        for (index, entry) in (root["clusters"]?.arrayValue ?? []).enumerated() {
            guard let name = Self.string(entry["name"]) else {
                throw APIClientError.configuration("clusters[\(index)] has no name")
            }
            let c = entry["cluster"] ?? .object([:])
            config.clusters.append(Cluster(
                name: name,
                server: Self.string(c["server"]) ?? "",
                certificateAuthority: Self.string(c["certificate-authority"]),
                certificateAuthorityData: try Self.base64(c["certificate-authority-data"], "clusters[\(index)].cluster.certificate-authority-data"),
                insecureSkipTLSVerify: Self.bool(c["insecure-skip-tls-verify"]),
                tlsServerName: Self.string(c["tls-server-name"])))
        }
        for (index, entry) in (root["users"]?.arrayValue ?? []).enumerated() {
            guard let name = Self.string(entry["name"]) else {
                throw APIClientError.configuration("users[\(index)] has no name")
            }
            let u = entry["user"] ?? .object([:])
            config.users.append(User(
                name: name,
                clientCertificate: Self.string(u["client-certificate"]),
                clientCertificateData: try Self.base64(u["client-certificate-data"], "users[\(index)].user.client-certificate-data"),
                clientKey: Self.string(u["client-key"]),
                clientKeyData: try Self.base64(u["client-key-data"], "users[\(index)].user.client-key-data"),
                token: Self.string(u["token"]),
                tokenFile: Self.string(u["tokenFile"]) ?? Self.string(u["token-file"]),
                username: Self.string(u["username"]),
                password: Self.string(u["password"])))
        }
        for (index, entry) in (root["contexts"]?.arrayValue ?? []).enumerated() {
            guard let name = Self.string(entry["name"]) else {
                throw APIClientError.configuration("contexts[\(index)] has no name")
            }
            let c = entry["context"] ?? .object([:])
            config.contexts.append(Context(
                name: name,
                cluster: Self.string(c["cluster"]) ?? "",
                user: Self.string(c["user"]) ?? "",
                namespace: Self.string(c["namespace"]).flatMap { $0.isEmpty ? nil : $0 }))
        }
        self = config
    }

    // MARK: Resolving a context

    /// The client configuration of `context` (default: the current context), with file paths
    /// read. Errors name what is missing.
    public func configuration(context name: String? = nil) throws -> ClientConfiguration {
        guard let contextName = name ?? currentContext else {
            throw APIClientError.configuration("no context given and no current-context set")
        }
        guard let context = contexts.first(where: { $0.name == contextName }) else {
            throw APIClientError.configuration("context \"\(contextName)\" does not exist")
        }
        guard let cluster = clusters.first(where: { $0.name == context.cluster }) else {
            throw APIClientError.configuration("cluster \"\(context.cluster)\" of context \"\(contextName)\" does not exist")
        }
        guard !cluster.server.isEmpty else {
            throw APIClientError.configuration("cluster \"\(cluster.name)\" has no server")
        }
        var configuration = ClientConfiguration(server: cluster.server)
        configuration.namespace = context.namespace ?? "default"
        configuration.insecureSkipTLSVerify = cluster.insecureSkipTLSVerify
        configuration.tlsServerName = cluster.tlsServerName
        if let data = cluster.certificateAuthorityData {
            configuration.certificateAuthorityPEM = data
        } else if let path = cluster.certificateAuthority {
            configuration.certificateAuthorityPEM = try FileReading.read(resolve(path), what: "certificate-authority")
        }
        // A context may name no user (anonymous).
        if !context.user.isEmpty {
            guard let user = users.first(where: { $0.name == context.user }) else {
                throw APIClientError.configuration("user \"\(context.user)\" of context \"\(contextName)\" does not exist")
            }
            if let data = user.clientCertificateData {
                configuration.clientCertificatePEM = data
            } else if let path = user.clientCertificate {
                configuration.clientCertificatePEM = try FileReading.read(resolve(path), what: "client-certificate")
            }
            if let data = user.clientKeyData {
                configuration.clientKeyPEM = data
            } else if let path = user.clientKey {
                configuration.clientKeyPEM = try FileReading.read(resolve(path), what: "client-key")
            }
            if (configuration.clientCertificatePEM == nil) != (configuration.clientKeyPEM == nil) {
                throw APIClientError.configuration("user \"\(user.name)\" has a client certificate without a key or a key without a certificate")
            }
            if let token = user.token, !token.isEmpty {
                configuration.bearerToken = token
            } else if let path = user.tokenFile {
                let text = String(decoding: try FileReading.read(resolve(path), what: "tokenFile"), as: UTF8.self)
                configuration.bearerToken = text.trimmingWhitespace()
            }
            if let username = user.username, let password = user.password {
                configuration.basicAuth = (username, password)
            }
        }
        return configuration
    }

    /// A path relative to the kubeconfig's directory, as kubectl resolves them.
    func resolve(_ path: String) -> String {
        guard !path.hasPrefix("/"), let directory, !directory.isEmpty else { return path }
        return directory.hasSuffix("/") ? directory + path : directory + "/" + path
    }

    // MARK: Value helpers

    private static func string(_ value: JSONValue?) -> String? {
        switch value {
        case .string(let s)?: return s
        case .int(let i)?: return String(i)
        case .double(let d)?: return String(d)
        case .bool(let b)?: return b ? "true" : "false"
        default: return nil
        }
    }

    private static func bool(_ value: JSONValue?) -> Bool {
        switch value {
        case .bool(let b)?: return b
        case .string(let s)?: return s == "true"
        default: return false
        }
    }

    private static func base64(_ value: JSONValue?, _ field: String) throws -> [UInt8]? {
        guard let text = string(value), !text.isEmpty else { return nil }
        let compact = text.filter { !$0.isWhitespace }
        guard let data = Data(base64Encoded: compact) else {
            throw APIClientError.configuration("\(field) is not valid base64")
        }
        return [UInt8](data)
    }
}

/// Small file helpers with errors that name the file.
enum FileReading {
    static func read(_ path: String, what: String) throws -> [UInt8] {
        do {
            return [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw APIClientError.configuration("cannot read \(what) file \(path): \(error)")
        }
    }

    static func exists(_ path: String) -> Bool {
        FileManager.default.fileExists(atPath: path)
    }

    static func directory(of path: String) -> String? {
        guard let slash = path.lastIndex(of: "/") else { return nil }
        let dir = String(path[..<slash])
        return dir.isEmpty ? "/" : dir
    }
}
