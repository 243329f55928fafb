import CapstanOCI
import Crypto
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization

/// A `WWW-Authenticate` challenge: scheme and parameters.
struct AuthChallenge: Sendable, Hashable {
    var scheme: String
    var parameters: [String: String]

    /// Parses `Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="..."`.
    init?(header: String) {
        let trimmed = header.trimmingCharacters(in: .whitespaces)
        guard let space = trimmed.firstIndex(of: " ") else {
            guard !trimmed.isEmpty else { return nil }
            scheme = trimmed.lowercased()
            parameters = [:]
            return
        }
        scheme = trimmed[..<space].lowercased()
        var parameters: [String: String] = [:]
        var rest = trimmed[trimmed.index(after: space)...]
        while !rest.isEmpty {
            rest = rest.drop { $0 == " " || $0 == "," }
            guard let equals = rest.firstIndex(of: "=") else { break }
            let key = rest[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            rest = rest[rest.index(after: equals)...]
            var value = ""
            if rest.first == "\"" {
                rest = rest.dropFirst()
                while let character = rest.first, character != "\"" {
                    if character == "\\", let next = rest.dropFirst().first {
                        value.append(next)
                        rest = rest.dropFirst(2)
                    } else {
                        value.append(character)
                        rest = rest.dropFirst()
                    }
                }
                rest = rest.dropFirst()
            } else {
                let end = rest.firstIndex(of: ",") ?? rest.endIndex
                value = rest[..<end].trimmingCharacters(in: .whitespaces)
                rest = rest[end...]
            }
            parameters[key] = value
        }
        self.parameters = parameters
    }
}

/// Talks to one OCI distribution registry: manifests and blobs, with anonymous or
/// credentialed bearer tokens (Docker Hub style) or basic auth, following redirects.
final class RegistryClient: Sendable {
    let fetcher: HTTPFetcher
    let plainHTTP: @Sendable (String) -> Bool
    /// Authorization that worked, per repository (`Bearer <token>` or `Basic ...`), sent up front.
    private let tokens = Mutex<[String: String]>([:])

    init(fetcher: HTTPFetcher, plainHTTP: @escaping @Sendable (String) -> Bool) {
        self.fetcher = fetcher
        self.plainHTTP = plainHTTP
    }

    struct Manifest: Sendable {
        var bytes: [UInt8]
        var mediaType: String
        var digest: ContentDigest
    }

    func baseURL(_ reference: ImageReference) -> String {
        let host = reference.apiHost
        return (plainHTTP(host) ? "http://" : "https://") + host
    }

    /// Fetches a manifest or index by tag or digest and checks its digest.
    func manifest(_ reference: ImageReference, ref: String, credentials: RegistryCredentials?) async throws -> Manifest {
        guard let url = URL(string: "\(baseURL(reference))/v2/\(reference.repository)/manifests/\(ref)") else {
            throw ImageStoreError(.invalidReference, "cannot build a URL for \(reference)")
        }
        var headers = HTTPHeaders()
        for type in MediaType.acceptedManifests { headers.add(name: "Accept", value: type) }
        var sink: [UInt8] = []
        let (status, responseHeaders) = try await send(url, headers: headers, reference: reference, credentials: credentials) { chunk in
            guard sink.count + chunk.readableBytes <= 4 << 20 else { throw ImageStoreError(.pullFailed, "manifest of \(reference) is larger than 4 MiB") }
            sink += chunk.readableBytesView
        }
        try Self.check(status, what: "manifest \(reference.name):\(ref)")
        let digest = try ContentDigest.sha256(hex: Self.hex(SHA256.hash(data: sink)))
        if let expected = try? ContentDigest(parsing: ref), expected != digest {
            throw ImageStoreError(.digestMismatch, "manifest \(reference.name)@\(ref) has digest \(digest)")
        }
        if let header = responseHeaders.first(name: "Docker-Content-ContentDigest"), let claimed = try? ContentDigest(parsing: header), claimed.algorithm == "sha256", claimed != digest {
            throw ImageStoreError(.digestMismatch, "manifest \(reference.name):\(ref): registry says \(claimed), content is \(digest)")
        }
        var mediaType = responseHeaders.first(name: "Content-Type")?.split(separator: ";").first.map { String($0).trimmingCharacters(in: .whitespaces) } ?? ""
        if !MediaType.isIndex(mediaType) && !MediaType.isManifest(mediaType) {
            // Some registries send application/json: use the document's own mediaType.
            struct Probe: Decodable { var mediaType: String?; var manifests: [Descriptor]? }
            let probe = try? JSONDecoder().decode(Probe.self, from: Data(sink))
            mediaType = probe?.mediaType ?? (probe?.manifests != nil ? MediaType.ociIndex : MediaType.ociManifest)
        }
        return Manifest(bytes: sink, mediaType: mediaType, digest: digest)
    }

    /// Streams a blob into `handle`, checking its size and digest.
    func blob(_ reference: ImageReference, _ descriptor: Descriptor, credentials: RegistryCredentials?, into handle: FileHandle) async throws {
        guard let url = URL(string: "\(baseURL(reference))/v2/\(reference.repository)/blobs/\(descriptor.digest)") else {
            throw ImageStoreError(.invalidReference, "cannot build a URL for \(reference)")
        }
        var hasher = SHA256()
        var size: Int64 = 0
        let (status, _) = try await send(url, headers: HTTPHeaders(), reference: reference, credentials: credentials) { chunk in
            size += Int64(chunk.readableBytes)
            guard size <= descriptor.size else { throw ImageStoreError(.digestMismatch, "blob \(descriptor.digest) is larger than its descriptor's \(descriptor.size) bytes") }
            chunk.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
            try handle.write(contentsOf: Data(chunk.readableBytesView))
        }
        try Self.check(status, what: "blob \(descriptor.digest)")
        let digest = Self.hex(hasher.finalize())
        guard size == descriptor.size, descriptor.digest.encoded == digest else {
            throw ImageStoreError(.digestMismatch, "blob \(descriptor.digest) of \(reference.name): got \(size) bytes with sha256:\(digest)")
        }
    }

    static func check(_ status: Int, what: String) throws {
        switch status {
        case 200 ..< 300: return
        case 401, 403: throw ImageStoreError(.unauthorized, "\(what): access denied (HTTP \(status))")
        case 404: throw ImageStoreError(.notFound, "\(what): not found")
        default: throw ImageStoreError(.pullFailed, "\(what): HTTP \(status)")
        }
    }

    static func hex(_ digest: some Sequence<UInt8>) -> String {
        digest.map { String(format: "%02x", $0) }.joined()
    }

    /// GET with auth and redirects: a 401 with a Bearer challenge gets a token (cached per
    /// repository) and retries; a Basic challenge retries with the credentials; 3xx follows
    /// `Location` without sending the registry's Authorization to another host.
    private func send(_ url: URL, headers: HTTPHeaders, reference: ImageReference, credentials: RegistryCredentials?, sink: (ByteBuffer) throws -> Void) async throws -> (Int, HTTPHeaders) {
        var url = url
        var authorization = tokens.withLock { $0[reference.name] } ?? credentials?.registryToken.map { "Bearer " + $0 }
        var challenged = false
        for _ in 0 ..< 8 {
            var requestHeaders = headers
            let sameHost = url.host == reference.apiHost.split(separator: ":").first.map(String.init)
            if let authorization, sameHost { requestHeaders.add(name: "Authorization", value: authorization) }
            let (status, responseHeaders) = try await fetcher.request(url, headers: requestHeaders, sink: sink)
            switch status {
            case 301, 302, 303, 307, 308:
                guard let location = responseHeaders.first(name: "Location"), let next = URL(string: location, relativeTo: url)?.absoluteURL else {
                    throw ImageStoreError(.pullFailed, "redirect without Location from \(url)")
                }
                url = next
            case 401 where !challenged:
                challenged = true
                guard let header = responseHeaders.first(name: "WWW-Authenticate"), let challenge = AuthChallenge(header: header) else {
                    return (status, responseHeaders)
                }
                switch challenge.scheme {
                case "bearer":
                    let token = try await fetchToken(challenge, reference: reference, credentials: credentials)
                    authorization = "Bearer " + token
                    tokens.withLock { $0[reference.name] = authorization }
                case "basic":
                    guard let basic = credentials?.basicAuthorization else { return (status, responseHeaders) }
                    authorization = basic
                    tokens.withLock { $0[reference.name] = basic }
                default:
                    return (status, responseHeaders)
                }
            default:
                return (status, responseHeaders)
            }
        }
        throw ImageStoreError(.pullFailed, "too many redirects or auth rounds for \(url)")
    }

    private func fetchToken(_ challenge: AuthChallenge, reference: ImageReference, credentials: RegistryCredentials?) async throws -> String {
        guard let realm = challenge.parameters["realm"], var components = URLComponents(string: realm) else {
            throw ImageStoreError(.unauthorized, "bearer challenge without realm from \(reference.registry)")
        }
        var query = components.queryItems ?? []
        if let service = challenge.parameters["service"] { query.append(URLQueryItem(name: "service", value: service)) }
        query.append(URLQueryItem(name: "scope", value: challenge.parameters["scope"] ?? "repository:\(reference.repository):pull"))
        components.queryItems = query
        guard let url = components.url else { throw ImageStoreError(.unauthorized, "bad token realm \(realm)") }
        var headers = HTTPHeaders()
        if let basic = credentials?.basicAuthorization { headers.add(name: "Authorization", value: basic) }
        let response = try await fetcher.get(url, headers: headers, limit: 1 << 20)
        try Self.check(response.status, what: "token from \(url.host ?? realm)")
        struct TokenResponse: Decodable { var token: String?; var access_token: String? }
        guard let decoded = try? JSONDecoder().decode(TokenResponse.self, from: Data(response.body)), let token = decoded.token ?? decoded.access_token, !token.isEmpty else {
            throw ImageStoreError(.unauthorized, "token endpoint \(url.host ?? realm) returned no token")
        }
        return token
    }
}
