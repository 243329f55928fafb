// CapstanControllerRuntime: the module grows here; this file keeps the target non-empty.
enum CapstanControllerRuntimeModule {}
