import Testing

@Suite("Health, version and metrics", .tags(.component))
struct HealthTests {
    @Test func healthEndpoints() async throws {
        try await withServer { s in
            for path in ["/healthz", "/livez", "/readyz"] {
                let r = try await s.http.get(path, accept: nil)
                #expect(r.status == 200, "\(path): \(r)")
                #expect(r.text == "ok", "\(path): \(r)")
                let v = try await s.http.get(path + "?verbose", accept: nil)
                #expect(v.status == 200)
                #expect(v.text.contains("[+]ping ok"), "\(path)?verbose: \(v)")
                let name = String(path.dropFirst())
                #expect(v.text.contains("\(name) check passed"), "\(path)?verbose: \(v)")
            }
            let ready = try await s.http.get("/readyz?verbose", accept: nil)
            #expect(ready.text.contains("[+]informer-sync ok"), "\(ready)")
            let one = try await s.http.get("/healthz/ping", accept: nil)
            #expect(one.status == 200 && one.text == "ok")
            let missing = try await s.http.get("/healthz/nonexistent", accept: nil)
            #expect(missing.status == 404)
        }
    }
}
