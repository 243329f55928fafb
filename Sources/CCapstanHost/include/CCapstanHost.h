#ifndef CCAPSTAN_HOST_H
#define CCAPSTAN_HOST_H

// Host helpers for the node agent and its runtime, in C where Swift's Glibc module lacks the
// headers (statfs, pidfd, netlink) or where the work must run in a child that shares the
// agent's memory (making namespaces without running `unshare` and `ip`).

#include <stdint.h>

/// Whether `path` is a namespace bound on a file (nsfs).
int capstan_is_namespace_file(const char *path);
/// Whether `path` lies on a tmpfs: 1 or 0, or -errno.
int capstan_is_tmpfs(const char *path);
/// An O_PATH descriptor of a directory (for socket paths through /proc/self/fd), or -1.
int capstan_open_directory_path(const char *path);

/// A pidfd for `pid` (close-on-exec), or -errno (-ESRCH: no such process; -ENOSYS: kernel before 5.3).
int capstan_pidfd_open(int pid);
/// Sends `signal` to the process of `pidfd`: 0, or -errno (-ESRCH once it has exited).
int capstan_pidfd_send_signal(int pidfd, int signal);

/// A pod's interface: a veth pair with `eth0` in the new network namespace and `host_name` on
/// the host, enslaved to the bridge, with the pod's address and a default route via the gateway.
typedef struct capstan_pod_interface {
    const char *host_name;
    unsigned int bridge_index;
    int mtu;
    /// IPv4 addresses in host byte order.
    uint32_t address;
    int prefix_length;
    uint32_t gateway;
} capstan_pod_interface;

/// New namespaces, each bind-mounted on its file (created here; missing directories are an
/// error). A new network namespace gets `lo` up, and the interface when one is given; a new
/// UTS namespace gets the host name. On failure nothing stays mounted or created, `step` names
/// what failed and `error_number` is its errno.
typedef struct capstan_namespace_request {
    const char *net_path;
    const char *ipc_path;
    const char *uts_path;
    const char *hostname;
    const capstan_pod_interface *interface;
    int error_number;
    char step[96];
} capstan_namespace_request;

/// Makes the namespaces of `request` in a short-lived child that shares this process's memory
/// (clone with CLONE_VM and CLONE_VFORK, as posix_spawn does), without running a program.
/// 0, or -1 with `step` and `error_number` set.
int capstan_create_namespaces(capstan_namespace_request *request);

/// Unmounts (lazily) and deletes a namespace file; missing files are fine. 0 or -errno.
int capstan_remove_namespace(const char *path);

/// Makes `directory` (created if missing) a shared mount point, as `ip netns` does for
/// /run/netns, so the namespace files bound in it unmount in every mount namespace. 0 or -errno.
int capstan_prepare_namespace_directory(const char *directory);

/// Drops this process's page-table entries for its read-only file mappings that hold no
/// private copies (the executable's code and constants, shared libraries' code): what start-up
/// ran stops counting as resident, and what runs again faults back in from the page cache.
/// Mappings that are writable, or were ever written (relocated data), are left alone.
/// Returns the resident bytes released, or -errno.
long capstan_release_file_mappings(void);

/// The seals of a sealed executable copy: no writes, no growing or shrinking, no more seals.
/// runc and crun run from such a copy skip cloning themselves (their CVE-2019-5736 guard).
extern const int capstan_executable_seals;

/// A close-on-exec memfd named `name` holding the ELF executable at `path`, sealed with
/// `capstan_executable_seals`, at a descriptor of at least `lowest`; or -errno (-ENOEXEC when
/// `path` is not an ELF file).
int capstan_sealed_executable(const char *path, const char *name, int lowest);

/// The seals of `fd` (F_GET_SEALS), or -errno.
int capstan_file_seals(int fd);

#endif
