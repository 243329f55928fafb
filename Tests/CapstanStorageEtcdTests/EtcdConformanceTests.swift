import CapstanStorage
import CapstanStorageConformance
import CapstanStorageEtcd
import Foundation
import Testing

/// The conformance checks to run: all, or those whose name contains `CAPSTAN_STORAGE_CHECK`.
let selectedChecks: [StorageConformance.Check] = {
    guard let filter = ProcessInfo.processInfo.environment["CAPSTAN_STORAGE_CHECK"], !filter.isEmpty else {
        return StorageConformance.checks
    }
    return StorageConformance.checks.filter { $0.name.contains(filter) }
}()

@Suite("etcd storage conformance", .tags(.integration), .enabled(if: etcdInstalled, "needs etcd in PATH (apt-get install etcd-server)"))
struct EtcdConformanceTests {
    @Test(arguments: selectedChecks)
    func conformance(_ check: StorageConformance.Check) async throws {
        try await withEtcdFixture { fixture in
            try await check.run(on: fixture)
        }
    }
}
