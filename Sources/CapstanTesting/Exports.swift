// The manual clock of the storage conformance suite serves every component's tests.
@_exported import class CapstanStorageConformance.ManualClock
