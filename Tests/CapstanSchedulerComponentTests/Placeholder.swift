import Testing

// Keeps the test target non-empty; remove once real tests exist here.
@Test func CapstanSchedulerComponentBuilds() {}
