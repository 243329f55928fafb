// CapstanOCI: the module grows here; this file keeps the target non-empty.
enum CapstanOCIModule {}
