import CapstanStorage
import CapstanStorageConformance
import Testing

@Suite("Storage conformance")
struct ConformanceTests {
    @Test(arguments: Backend.allCases, StorageConformance.checks)
    func conformance(_ backend: Backend, _ check: StorageConformance.Check) async throws {
        try await withFixture(backend) { fixture in
            try await check.run(on: fixture)
        }
    }
}
