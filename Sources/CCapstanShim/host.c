// Small host helpers for the Swift runtime code whose headers Swift's Glibc module lacks.
#define _GNU_SOURCE
#include "CCapstanShim.h"

#include <fcntl.h>
#include <sys/statfs.h>

#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif

int capstan_is_namespace_file(const char *path) {
    struct statfs info;
    return statfs(path, &info) == 0 && info.f_type == NSFS_MAGIC;
}

int capstan_open_directory_path(const char *path) {
    return open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
}
