// Small host helpers for the Swift runtime code whose headers Swift's Glibc module lacks.
#define _GNU_SOURCE
#include "CCapstanHost.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

#ifndef TMPFS_MAGIC
#define TMPFS_MAGIC 0x01021994
#endif
#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif

int capstan_is_namespace_file(const char *path) {
    struct statfs info;
    return statfs(path, &info) == 0 && info.f_type == NSFS_MAGIC;
}

int capstan_is_tmpfs(const char *path) {
    struct statfs info;
    if (statfs(path, &info) != 0) return -errno;
    return info.f_type == TMPFS_MAGIC;
}

int capstan_open_directory_path(const char *path) {
    return open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
}

int capstan_pidfd_open(int pid) {
    long fd = syscall(SYS_pidfd_open, pid, 0);
    return fd >= 0 ? (int)fd : -errno;
}

int capstan_pidfd_send_signal(int pidfd, int signal) {
    return syscall(SYS_pidfd_send_signal, pidfd, signal, NULL, 0) == 0 ? 0 : -errno;
}
