import Testing

@Test func schedulerTestsCompile() {}
