// Small host helpers for the Swift runtime code whose headers Swift's Glibc module lacks.
#define _GNU_SOURCE
#include "CCapstanShim.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
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

struct capstan_namespace_request {
    const char *ipc;
    const char *uts;
    const char *hostname;
    int error;
};

// Runs on a thread of its own, which ends afterwards: the namespaces it enters live on
// through the bind mounts, and no thread of the process is left in them.
static void *capstan_namespace_thread(void *argument) {
    struct capstan_namespace_request *request = argument;
    int flags = (request->ipc ? CLONE_NEWIPC : 0) | (request->uts ? CLONE_NEWUTS : 0);
    if (unshare(flags) != 0) { request->error = errno; return NULL; }
    if (request->uts && sethostname(request->hostname, strlen(request->hostname)) != 0) { request->error = errno; return NULL; }
    char source[64];
    long tid = syscall(SYS_gettid);
    if (request->ipc) {
        snprintf(source, sizeof source, "/proc/self/task/%ld/ns/ipc", tid);
        if (mount(source, request->ipc, NULL, MS_BIND, NULL) != 0) { request->error = errno; return NULL; }
    }
    if (request->uts) {
        snprintf(source, sizeof source, "/proc/self/task/%ld/ns/uts", tid);
        if (mount(source, request->uts, NULL, MS_BIND, NULL) != 0) {
            request->error = errno;
            if (request->ipc) umount2(request->ipc, MNT_DETACH);
            return NULL;
        }
    }
    return NULL;
}

int capstan_create_ipc_uts_namespaces(const char *ipc_path, const char *uts_path, const char *hostname) {
    struct capstan_namespace_request request = { ipc_path, uts_path, hostname ? hostname : "localhost", 0 };
    if (!ipc_path && !uts_path) return 0;
    pthread_t thread;
    int started = pthread_create(&thread, NULL, capstan_namespace_thread, &request);
    if (started != 0) return -started;
    pthread_join(thread, NULL);
    return -request.error;
}
