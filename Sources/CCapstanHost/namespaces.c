// A pod's namespaces and its network interface, made without running `unshare`, `hostname`
// or `ip`: a child that shares the agent's memory (clone with CLONE_VM | CLONE_VFORK) unshares
// the namespaces, binds them on their files and configures the links over rtnetlink. The child
// calls only system-call wrappers (no allocation, no locks), as posix_spawn's child does.
#define _GNU_SOURCE
#include "CCapstanHost.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <arpa/inet.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHILD_STACK_SIZE (256 * 1024)
#define MESSAGE_CAPACITY 1024

// MARK: Errors (the child may not format with stdio: it copies fixed text only)

static int fail(capstan_namespace_request *request, const char *step, int error_number) {
    size_t length = strlen(step);
    if (length >= sizeof(request->step)) length = sizeof(request->step) - 1;
    memcpy(request->step, step, length);
    request->step[length] = 0;
    request->error_number = error_number;
    return -1;
}

// MARK: rtnetlink messages

typedef struct message {
    struct nlmsghdr header;
    char payload[MESSAGE_CAPACITY];
} message;

static void message_start(message *m, uint16_t type, uint16_t flags, const void *body, size_t length) {
    memset(m, 0, sizeof(*m));
    m->header.nlmsg_type = type;
    m->header.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
    m->header.nlmsg_len = NLMSG_LENGTH(length);
    memcpy(NLMSG_DATA(&m->header), body, length);
}

/// Appends an attribute; the capacity is far above what these messages need.
static struct rtattr *message_put(message *m, uint16_t type, const void *data, size_t length) {
    size_t offset = NLMSG_ALIGN(m->header.nlmsg_len);
    if (offset + RTA_SPACE(length) > sizeof(*m)) return NULL;
    struct rtattr *attribute = (struct rtattr *)((char *)m + offset);
    attribute->rta_type = type;
    attribute->rta_len = RTA_LENGTH(length);
    if (length > 0) memcpy(RTA_DATA(attribute), data, length);
    m->header.nlmsg_len = offset + RTA_SPACE(length);
    return attribute;
}

static struct rtattr *message_put_string(message *m, uint16_t type, const char *value) {
    return message_put(m, type, value, strlen(value) + 1);
}

static struct rtattr *message_put_u32(message *m, uint16_t type, uint32_t value) {
    return message_put(m, type, &value, sizeof(value));
}

static void message_end_nest(message *m, struct rtattr *nest) {
    nest->rta_len = (unsigned short)((char *)m + m->header.nlmsg_len - (char *)nest);
}

/// Sends the message and waits for the kernel's acknowledgement: 0 or the errno it reports.
static int message_exchange(int fd, message *m, uint32_t sequence) {
    m->header.nlmsg_seq = sequence;
    struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
    if (sendto(fd, m, m->header.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0) return errno;
    char reply[4096] __attribute__((aligned(4)));
    for (;;) {
        ssize_t received = recv(fd, reply, sizeof(reply), 0);
        if (received < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        int remaining = (int)received;
        for (struct nlmsghdr *h = (struct nlmsghdr *)reply; NLMSG_OK(h, remaining); h = NLMSG_NEXT(h, remaining)) {
            if (h->nlmsg_seq != sequence || h->nlmsg_type != NLMSG_ERROR) continue;
            const struct nlmsgerr *error = NLMSG_DATA(h);
            return -error->error;
        }
    }
}

/// Sets a link up, by index or (index 0) by name, and optionally enslaves it to `master`.
static int link_set_up(int fd, uint32_t sequence, int index, const char *name, unsigned int master) {
    message m;
    struct ifinfomsg info = {.ifi_family = AF_UNSPEC, .ifi_index = index, .ifi_flags = IFF_UP, .ifi_change = IFF_UP};
    message_start(&m, RTM_NEWLINK, 0, &info, sizeof(info));
    if (name) message_put_string(&m, IFLA_IFNAME, name);
    if (master) message_put_u32(&m, IFLA_MASTER, master);
    return message_exchange(fd, &m, sequence);
}

/// `eth0` in the current (new) namespace, its peer `host_name` in the namespace of `host_ns`.
static int create_veth(int fd, uint32_t sequence, const capstan_pod_interface *interface, int host_ns) {
    message m;
    struct ifinfomsg info = {.ifi_family = AF_UNSPEC};
    message_start(&m, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &info, sizeof(info));
    message_put_string(&m, IFLA_IFNAME, "eth0");
    message_put_u32(&m, IFLA_MTU, (uint32_t)interface->mtu);
    struct rtattr *link_info = message_put(&m, IFLA_LINKINFO, NULL, 0);
    message_put_string(&m, IFLA_INFO_KIND, "veth");
    struct rtattr *data = message_put(&m, IFLA_INFO_DATA, NULL, 0);
    struct rtattr *peer = message_put(&m, VETH_INFO_PEER, &info, sizeof(info));
    message_put_string(&m, IFLA_IFNAME, interface->host_name);
    message_put_u32(&m, IFLA_MTU, (uint32_t)interface->mtu);
    struct rtattr *last = message_put_u32(&m, IFLA_NET_NS_FD, (uint32_t)host_ns);
    if (!last) return EMSGSIZE;
    message_end_nest(&m, peer);
    message_end_nest(&m, data);
    message_end_nest(&m, link_info);
    return message_exchange(fd, &m, sequence);
}

static int add_address(int fd, uint32_t sequence, int index, uint32_t address, int prefix_length) {
    message m;
    struct ifaddrmsg info = {.ifa_family = AF_INET, .ifa_prefixlen = (unsigned char)prefix_length,
                             .ifa_scope = RT_SCOPE_UNIVERSE, .ifa_index = (unsigned int)index};
    message_start(&m, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, &info, sizeof(info));
    uint32_t network_order = htonl(address);
    message_put(&m, IFA_LOCAL, &network_order, sizeof(network_order));
    message_put(&m, IFA_ADDRESS, &network_order, sizeof(network_order));
    return message_exchange(fd, &m, sequence);
}

static int add_default_route(int fd, uint32_t sequence, uint32_t gateway) {
    message m;
    struct rtmsg info = {.rtm_family = AF_INET, .rtm_table = RT_TABLE_MAIN, .rtm_protocol = RTPROT_BOOT,
                         .rtm_scope = RT_SCOPE_UNIVERSE, .rtm_type = RTN_UNICAST};
    message_start(&m, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, &info, sizeof(info));
    uint32_t network_order = htonl(gateway);
    message_put(&m, RTA_GATEWAY, &network_order, sizeof(network_order));
    return message_exchange(fd, &m, sequence);
}

// MARK: The child

static int bind_namespace(const char *kind, const char *path) {
    char source[32] = "/proc/self/ns/";
    strcat(source, kind);
    return mount(source, path, NULL, MS_BIND, NULL) == 0 ? 0 : errno;
}

static int configure_network(capstan_namespace_request *request, int host_netlink, int host_ns) {
    int netlink = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (netlink < 0) return fail(request, "opening rtnetlink in the pod's network namespace", errno);
    int error = link_set_up(netlink, 1, 1 /* lo is the first link of every network namespace */, NULL, 0);
    if (error) return close(netlink), fail(request, "bringing lo up", error);
    const capstan_pod_interface *interface = request->interface;
    if (interface) {
        if ((error = create_veth(netlink, 2, interface, host_ns))) return close(netlink), fail(request, "creating the veth pair", error);
        int index = (int)if_nametoindex("eth0");
        if (index == 0) return close(netlink), fail(request, "finding eth0", errno);
        if ((error = add_address(netlink, 3, index, interface->address, interface->prefix_length)))
            return close(netlink), fail(request, "adding the pod's address to eth0", error);
        if ((error = link_set_up(netlink, 4, index, NULL, 0))) return close(netlink), fail(request, "bringing eth0 up", error);
        if ((error = add_default_route(netlink, 5, interface->gateway)))
            return close(netlink), fail(request, "adding the default route", error);
        if ((error = link_set_up(host_netlink, 6, 0, interface->host_name, interface->bridge_index)))
            return close(netlink), fail(request, "attaching the host's veth to the bridge", error);
    }
    close(netlink);
    return 0;
}

static _Noreturn void child_fail(capstan_namespace_request *request, const char *step, int error_number) {
    fail(request, step, error_number);
    _exit(1);
}

static int child_main(void *argument) {
    capstan_namespace_request *request = argument;
    int host_netlink = -1, host_ns = -1;
    if (request->net_path && request->interface) {
        // Opened before unsharing, so they stay in the host's network namespace.
        host_netlink = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
        if (host_netlink < 0) child_fail(request, "opening rtnetlink on the host", errno);
        host_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
        if (host_ns < 0) child_fail(request, "opening the host's network namespace", errno);
    }
    int flags = (request->net_path ? CLONE_NEWNET : 0) | (request->ipc_path ? CLONE_NEWIPC : 0) |
                (request->uts_path ? CLONE_NEWUTS : 0);
    if (unshare(flags) != 0) child_fail(request, "unshare", errno);
    if (request->uts_path) {
        const char *name = request->hostname && request->hostname[0] ? request->hostname : "localhost";
        if (sethostname(name, strlen(name)) != 0) child_fail(request, "setting the host name", errno);
    }
    const char *kinds[3] = {"net", "ipc", "uts"};
    const char *paths[3] = {request->net_path, request->ipc_path, request->uts_path};
    for (int i = 0; i < 3; i++) {
        if (!paths[i]) continue;
        int error = bind_namespace(kinds[i], paths[i]);
        if (error) child_fail(request, "binding a namespace on its file", error);
    }
    if (request->net_path && configure_network(request, host_netlink, host_ns) != 0) _exit(1);
    _exit(0);
}

// MARK: The parent

static void remove_created(const char *const *paths, int count) {
    for (int i = 0; i < count; i++) capstan_remove_namespace(paths[i]);
}

int capstan_create_namespaces(capstan_namespace_request *request) {
    request->error_number = 0;
    request->step[0] = 0;
    const char *wanted[3];
    int count = 0;
    if (request->net_path) wanted[count++] = request->net_path;
    if (request->ipc_path) wanted[count++] = request->ipc_path;
    if (request->uts_path) wanted[count++] = request->uts_path;
    if (count == 0) return 0;
    for (int i = 0; i < count; i++) {
        int fd = open(wanted[i], O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
        if (fd < 0) {
            int error = errno;
            remove_created(wanted, i);
            return fail(request, error == EEXIST ? "creating a namespace file (it exists)" : "creating a namespace file", error);
        }
        close(fd);
    }
    char *stack = malloc(CHILD_STACK_SIZE);
    if (!stack) return remove_created(wanted, count), fail(request, "allocating the child's stack", ENOMEM);
    // The child shares this thread's memory and signal handlers: it runs with every signal blocked.
    sigset_t all, previous;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &previous);
    // No exit signal: a `waitpid(-1)` elsewhere in the process (a subreaper's loop) does not reap it.
    pid_t child = clone(child_main, stack + CHILD_STACK_SIZE, CLONE_VM | CLONE_VFORK, request);
    int clone_error = errno;
    pthread_sigmask(SIG_SETMASK, &previous, NULL);
    if (child < 0) {
        free(stack);
        remove_created(wanted, count);
        return fail(request, "clone", clone_error);
    }
    int status = 0;
    while (waitpid(child, &status, __WCLONE) < 0 && errno == EINTR) {}
    free(stack);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return 0;
    if (request->step[0] == 0) fail(request, "the namespace child ended abnormally", ECHILD);
    remove_created(wanted, count);
    return -1;
}

int capstan_remove_namespace(const char *path) {
    if (umount2(path, MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT) return -errno;
    if (unlink(path) != 0 && errno != ENOENT) return -errno;
    return 0;
}

int capstan_prepare_namespace_directory(const char *directory) {
    if (mkdir(directory, 0755) != 0 && errno != EEXIST) return -errno;
    if (mount("", directory, "none", MS_SHARED | MS_REC, NULL) == 0) return 0;
    if (errno != EINVAL) return -errno;
    // Not a mount point yet: bind it on itself, then share it.
    if (mount(directory, directory, "none", MS_BIND | MS_REC, NULL) != 0) return -errno;
    return mount("", directory, "none", MS_SHARED | MS_REC, NULL) == 0 ? 0 : -errno;
}
