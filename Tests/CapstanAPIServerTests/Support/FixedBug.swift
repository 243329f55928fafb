/// Runs a check that once tracked a server bug; the bug is fixed, so its assertions are live.
func fixedBug(_ comment: String, _ body: () throws -> Void) rethrows { try body() }

/// Async variant of `fixedBug`.
func fixedBug(_ comment: String, _ body: () async throws -> Void) async rethrows { try await body() }
