// `capstan-shim`: the per-container shim the node agent starts (see CCapstanShim.h). A C
// program of its own, so that each running container costs a few hundred kilobytes, not a
// Swift process.
#include "CCapstanShim.h"

int main(int argc, char **argv) {
    return capstan_shim_main(argc, argv);
}

// SwiftPM links every executable with the Swift runtime's image registration object
// (swiftrt.o), which calls these two runtime functions. This program has no Swift code: empty
// definitions satisfy the object, and with --as-needed (Package.swift) libswiftCore.so is not
// loaded at all (it would add megabytes to every shim).
struct MetadataSections;
void swift_addNewDSOImage(struct MetadataSections *sections) { (void)sections; }
int _swift_backtrace_isThunkFunction(const char *name) { (void)name; return 0; }
