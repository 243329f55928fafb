// The per-container shim. One process per container, started by the node agent:
//
//   capstan-shim --id ID --bundle DIR --runtime BIN --runtime-root DIR [--cgroup PATH]
//                [--log-path FILE --log-max-size BYTES --log-max-files N] [--stdin [--stdin-once]]
//                [--runtime-file PATH --runtime-fd N]
//
// fd 3 is the sync pipe: the shim writes `ok <pid>\n` once `<runtime> run --detach` made and
// started the container (its init is then this process's child: the shim is a child
// subreaper), or `error <status>\n`, and closes it. One runtime process per container: create
// and start in one (the CRI's create only prepares the bundle; see OCIRuntime.startContainer).
// With --runtime-file, the runtime is executed from PATH (a link to /proc/self/fd/N, the sealed
// in-memory copy of its binary the agent passed as fd N; see SealedRuntime) with `BIN` as its
// argv[0]; from `BIN` when that fails.
//
// While the container runs the shim:
// - holds an exclusive flock on `<bundle>/shim.lock` (the agent waits for it to learn that the
//   shim ended, also after an agent restart, when the shim is no longer its child);
// - writes the container's stdout and stderr to the CRI log file (with rotation);
// - with --stdin, owns the write end of the container's stdin and copies what clients of the
//   unix socket `<bundle>/attach.sock` send into it; with --stdin-once the container's stdin is
//   closed when the first client is done;
// - ignores SIGINT, SIGTERM, SIGHUP and SIGPIPE and runs in a session of its own, so neither
//   the agent's terminal nor the agent's death reaches it.
// When the container's init exits the shim reads the cgroup's OOM counter, reads the rest of
// the output (at most 2 s more: processes left behind may hold the pipes), writes
// `<bundle>/exit` (exit_code, signal, oom_killed, finished_at; atomically), runs
// `<runtime> delete --force`, and exits.
#define _GNU_SOURCE
#include "CCapstanShim.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SYNC_FD 3
#define MAX_CLIENTS 8
#define DRAIN_MILLISECONDS 2000

struct options {
    const char *id;
    const char *bundle;
    const char *runtime;
    /// The file executed for the runtime (`runtime` without --runtime-file), and the descriptor
    /// that file resolves through (-1: none).
    const char *runtime_file;
    int runtime_fd;
    const char *runtime_root;
    const char *cgroup;
    const char *log_path;
    int64_t log_max_size;
    int log_max_files;
    int stdin_enabled;
    int stdin_once;
};

static void fail(const char *what) {
    fprintf(stderr, "capstan-shim: %s: %s\n", what, strerror(errno));
}

// MARK: OOM

int capstan_saw_oom_kill(const char *cgroups_path) {
    const char *formats[] = {
        "/sys/fs/cgroup/memory%s/memory.oom_control",
        "/sys/fs/cgroup/unified%s/memory.events",
        "/sys/fs/cgroup%s/memory.events",
    };
    for (size_t i = 0; i < sizeof formats / sizeof *formats; i++) {
        char path[4200];
        snprintf(path, sizeof path, formats[i], cgroups_path);
        FILE *file = fopen(path, "re");
        if (!file) continue;
        char line[256];
        int seen = 0;
        while (fgets(line, sizeof line, file)) {
            long long count;
            if (sscanf(line, "oom_kill %lld", &count) == 1 && count > 0) seen = 1;
        }
        fclose(file);
        if (seen) return 1;
    }
    return 0;
}

// MARK: Helpers

static void now_realtime(int64_t *seconds, int64_t *nanoseconds) {
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    *seconds = now.tv_sec;
    *nanoseconds = now.tv_nsec;
}

static int64_t monotonic_ms(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

static void write_all(int fd, const char *text) {
    size_t length = strlen(text), offset = 0;
    while (offset < length) {
        ssize_t written = write(fd, text + offset, length - offset);
        if (written < 0 && errno == EINTR) continue;
        if (written <= 0) return;
        offset += (size_t)written;
    }
}

/// Closes the descriptors from `lowest` to `highest`.
static void close_range_of(int lowest, int highest) {
    for (int fd = lowest; fd <= highest; fd++) close(fd);
}

/// Closes every descriptor from `lowest` up (the agent's sockets must not live on in the shim).
static void close_from(int lowest) {
#ifdef SYS_close_range
    if (syscall(SYS_close_range, (unsigned)lowest, ~0U, 0) == 0) return;
#endif
    DIR *fds = opendir("/proc/self/fd");
    if (!fds) return;
    int own = dirfd(fds);
    struct dirent *entry;
    while ((entry = readdir(fds))) {
        int fd = atoi(entry->d_name);
        if (fd >= lowest && fd != own) close(fd);
    }
    closedir(fds);
}

/// In a forked child before exec: default dispositions and an empty mask, as a container expects.
static void reset_signals(void) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = SIG_DFL;
    for (int signal = 1; signal < NSIG; signal++) sigaction(signal, &action, NULL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

/// Executes `<runtime> --root <runtime-root>` and the NULL-terminated arguments after it, with
/// the runtime's name as argv[0]: from the sealed copy's link when there is one, else (or when
/// that fails) the runtime by name. Returns only when both fail.
static void exec_runtime(const struct options *options, ...) {
    const char *argv[32];
    int count = 0;
    argv[count++] = options->runtime;
    argv[count++] = "--root";
    argv[count++] = options->runtime_root;
    va_list arguments;
    va_start(arguments, options);
    const char *argument;
    while (count < 31 && (argument = va_arg(arguments, const char *))) argv[count++] = argument;
    va_end(arguments);
    argv[count] = NULL;
    if (options->runtime_file != options->runtime) execv(options->runtime_file, (char *const *)argv);
    execvp(options->runtime, (char *const *)argv);
}

/// Runs `<runtime> delete --force <id>` and waits for it.
static void delete_container(const struct options *options) {
    pid_t pid = fork();
    if (pid == 0) {
        reset_signals();
        int null = open("/dev/null", O_RDWR);
        if (null >= 0) {
            dup2(null, 0);
            dup2(null, 1);
        }
        exec_runtime(options, "delete", "--force", options->id, (char *)NULL);
        _exit(127);
    }
    if (pid < 0) return;
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
}

/// A unix socket address for `<directory>/<name>`; through /proc/self/fd/<directory_fd> when the
/// full path does not fit in sun_path.
static int socket_address(struct sockaddr_un *address, const char *directory, int directory_fd, const char *name) {
    memset(address, 0, sizeof *address);
    address->sun_family = AF_UNIX;
    int length = snprintf(address->sun_path, sizeof address->sun_path, "%s/%s", directory, name);
    if (length > 0 && (size_t)length < sizeof address->sun_path) return 0;
    length = snprintf(address->sun_path, sizeof address->sun_path, "/proc/self/fd/%d/%s", directory_fd, name);
    return length > 0 && (size_t)length < sizeof address->sun_path ? 0 : -1;
}

static int parse_options(int argc, char **argv, struct options *options) {
    memset(options, 0, sizeof *options);
    options->log_max_size = 10 << 20;
    options->log_max_files = 5;
    options->runtime_fd = -1;
    for (int i = 1; i < argc; i++) {
        const char *name = argv[i];
        if (!strcmp(name, "--stdin")) { options->stdin_enabled = 1; continue; }
        if (!strcmp(name, "--stdin-once")) { options->stdin_once = 1; continue; }
        if (i + 1 >= argc) {
            fprintf(stderr, "capstan-shim: %s needs a value\n", name);
            return -1;
        }
        const char *value = argv[++i];
        if (!strcmp(name, "--id")) options->id = value;
        else if (!strcmp(name, "--bundle")) options->bundle = value;
        else if (!strcmp(name, "--runtime")) options->runtime = value;
        else if (!strcmp(name, "--runtime-root")) options->runtime_root = value;
        else if (!strcmp(name, "--runtime-file")) options->runtime_file = value;
        else if (!strcmp(name, "--runtime-fd")) options->runtime_fd = atoi(value);
        else if (!strcmp(name, "--cgroup")) options->cgroup = value;
        else if (!strcmp(name, "--log-path")) options->log_path = value;
        else if (!strcmp(name, "--log-max-size")) options->log_max_size = strtoll(value, NULL, 10);
        else if (!strcmp(name, "--log-max-files")) options->log_max_files = atoi(value);
        else {
            fprintf(stderr, "capstan-shim: unknown option %s\n", name);
            return -1;
        }
    }
    if (!options->id || !options->bundle || !options->runtime || !options->runtime_root) {
        fprintf(stderr, "usage: capstan-shim --id ID --bundle DIR --runtime BIN --runtime-root DIR [--cgroup PATH] "
                        "[--log-path FILE --log-max-size BYTES --log-max-files N] [--stdin [--stdin-once]] [--runtime-file PATH --runtime-fd N]\n");
        return -1;
    }
    if (!options->runtime_file || options->runtime_fd < 0) options->runtime_file = options->runtime;
    return 0;
}

// MARK: The shim

struct shim {
    struct options options;
    int sync_fd;
    int signals;
    int out;
    int err;
    capstan_log_file log;
    capstan_log_file *log_file;
    capstan_cri_writer out_writer;
    capstan_cri_writer err_writer;

    // stdin: the write end of the container's stdin, the attach listener and its clients.
    int input;
    int listener;
    int clients[MAX_CLIENTS];
    unsigned char buffer[16384];
    size_t buffered;
    size_t written;
    int close_input_when_flushed;
    char socket_path[4200];

    pid_t create_pid;
    int created;
    pid_t container_pid;
    int exited;
    int exit_status;
    int64_t finished_seconds;
    int64_t finished_nanoseconds;
    int oom_killed;
    int64_t drain_deadline;
    // Children reaped before the container's pid was known (its init dying at once).
    pid_t early_pids[16];
    int early_statuses[16];
    int early_count;
};

static void report(struct shim *shim, const char *text) {
    if (shim->sync_fd < 0) return;
    write_all(shim->sync_fd, text);
    close(shim->sync_fd);
    shim->sync_fd = -1;
}

static void close_clients(struct shim *shim) {
    for (int i = 0; i < MAX_CLIENTS; i++) {
        if (shim->clients[i] >= 0) close(shim->clients[i]);
        shim->clients[i] = -1;
    }
}

/// The container's stdin is closed for good (stdin-once, the container closed it, or it exited).
static void close_input(struct shim *shim) {
    if (shim->input >= 0) close(shim->input);
    shim->input = -1;
    shim->buffered = shim->written = 0;
    if (shim->listener >= 0) {
        close(shim->listener);
        shim->listener = -1;
        unlink(shim->socket_path);
    }
    close_clients(shim);
}

static void flush_input(struct shim *shim) {
    while (shim->input >= 0 && shim->written < shim->buffered) {
        ssize_t count = write(shim->input, shim->buffer + shim->written, shim->buffered - shim->written);
        if (count < 0 && errno == EINTR) continue;
        if (count < 0 && errno == EAGAIN) return;
        if (count <= 0) {
            close_input(shim);
            return;
        }
        shim->written += (size_t)count;
    }
    shim->buffered = shim->written = 0;
    if (shim->close_input_when_flushed) close_input(shim);
}

static void container_exited(struct shim *shim, int status) {
    shim->exited = 1;
    shim->exit_status = status;
    now_realtime(&shim->finished_seconds, &shim->finished_nanoseconds);
    if (shim->options.cgroup) shim->oom_killed = capstan_saw_oom_kill(shim->options.cgroup);
    shim->drain_deadline = monotonic_ms() + DRAIN_MILLISECONDS;
    close_input(shim);
}

static void create_finished(struct shim *shim, int status) {
    char path[4200];
    snprintf(path, sizeof path, "%s/pid", shim->options.bundle);
    long pid = 0;
    FILE *file = WIFEXITED(status) && WEXITSTATUS(status) == 0 ? fopen(path, "re") : NULL;
    if (file) {
        if (fscanf(file, "%ld", &pid) != 1) pid = 0;
        fclose(file);
    }
    if (pid <= 0) {
        char message[64];
        int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        snprintf(message, sizeof message, "error %d\n", code);
        report(shim, message);
        // Nothing to wait for: read what the runtime printed, briefly, then end.
        shim->drain_deadline = monotonic_ms() + 200;
        return;
    }
    shim->created = 1;
    shim->container_pid = (pid_t)pid;
    char message[64];
    snprintf(message, sizeof message, "ok %ld\n", pid);
    report(shim, message);
    for (int i = 0; i < shim->early_count; i++) {
        if (shim->early_pids[i] == shim->container_pid) container_exited(shim, shim->early_statuses[i]);
    }
    shim->early_count = 0;
}

static void reap(struct shim *shim) {
    for (;;) {
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid <= 0) return;
        if (pid == shim->create_pid) {
            shim->create_pid = 0;
            create_finished(shim, status);
        } else if (shim->container_pid > 0 && pid == shim->container_pid) {
            if (!shim->exited) container_exited(shim, status);
        } else if (shim->container_pid == 0 && shim->early_count < 16) {
            shim->early_pids[shim->early_count] = pid;
            shim->early_statuses[shim->early_count] = status;
            shim->early_count++;
        }
    }
}

static void read_stream(struct shim *shim, int *fd, capstan_cri_writer *writer) {
    static unsigned char chunk[32 * 1024];
    ssize_t count = read(*fd, chunk, sizeof chunk);
    if (count < 0 && (errno == EINTR || errno == EAGAIN)) return;
    int64_t seconds, nanoseconds;
    now_realtime(&seconds, &nanoseconds);
    if (count > 0) {
        capstan_cri_writer_append(writer, chunk, (size_t)count, seconds, nanoseconds);
        return;
    }
    capstan_cri_writer_finish(writer, seconds, nanoseconds);
    close(*fd);
    *fd = -1;
}

static void accept_client(struct shim *shim) {
    int client = accept4(shim->listener, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (client < 0) return;
    for (int i = 0; i < MAX_CLIENTS; i++) {
        if (shim->clients[i] < 0) {
            shim->clients[i] = client;
            return;
        }
    }
    close(client);
}

static void read_client(struct shim *shim, int slot) {
    int client = shim->clients[slot];
    ssize_t count = read(client, shim->buffer, sizeof shim->buffer);
    if (count < 0 && (errno == EINTR || errno == EAGAIN)) return;
    if (count > 0) {
        shim->buffered = (size_t)count;
        shim->written = 0;
        flush_input(shim);
        return;
    }
    // The client is done with stdin (it closed it, or went away).
    close(client);
    shim->clients[slot] = -1;
    if (shim->options.stdin_once) {
        shim->close_input_when_flushed = 1;
        if (shim->buffered == 0) close_input(shim);
    }
}

static int start_listener(struct shim *shim, int bundle_fd) {
    snprintf(shim->socket_path, sizeof shim->socket_path, "%s/attach.sock", shim->options.bundle);
    unlink(shim->socket_path);
    struct sockaddr_un address;
    if (socket_address(&address, shim->options.bundle, bundle_fd, "attach.sock") != 0) return -1;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return -1;
    if (bind(fd, (struct sockaddr *)&address, sizeof address) != 0 || listen(fd, 4) != 0) {
        close(fd);
        return -1;
    }
    chmod(shim->socket_path, 0600);
    shim->listener = fd;
    return 0;
}

static void write_exit_file(struct shim *shim) {
    char path[4200], temporary[4200];
    snprintf(path, sizeof path, "%s/exit", shim->options.bundle);
    snprintf(temporary, sizeof temporary, "%s/exit.tmp", shim->options.bundle);
    int status = shim->exit_status;
    int signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    int code = signal ? 128 + signal : WEXITSTATUS(status);
    char text[256];
    snprintf(text, sizeof text, "exit_code=%d\nsignal=%d\noom_killed=%d\nfinished_at=%lld.%09lld\n", code, signal,
             shim->oom_killed, (long long)shim->finished_seconds, (long long)shim->finished_nanoseconds);
    int fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        fail("writing the exit file");
        return;
    }
    write_all(fd, text);
    fsync(fd);
    close(fd);
    if (rename(temporary, path) != 0) fail("renaming the exit file");
}

/// Starts `<runtime> run --detach` with the container's stdio; its init is reparented to this subreaper.
static pid_t spawn_create(struct shim *shim, int input_read, int output_write, int errors_write) {
    const struct options *options = &shim->options;
    char log[4200], pid_file[4200];
    snprintf(log, sizeof log, "%s/runtime.log", options->bundle);
    snprintf(pid_file, sizeof pid_file, "%s/pid", options->bundle);
    pid_t pid = fork();
    if (pid != 0) return pid;
    reset_signals();
    int input = input_read >= 0 ? input_read : open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (dup2(input, 0) < 0 || dup2(output_write, 1) < 0 || dup2(errors_write, 2) < 0) _exit(127);
    exec_runtime(options, "--log", log, "--log-format", "json", "run", "--detach", "--bundle", options->bundle, "--pid-file", pid_file,
                 options->id, (char *)NULL);
    _exit(127);
}

int capstan_shim_main(int argc, char **argv) {
    static struct shim shim_storage;
    struct shim *shim = &shim_storage;
    shim->sync_fd = fcntl(SYNC_FD, F_SETFD, FD_CLOEXEC) == 0 ? SYNC_FD : -1;
    int parsed = parse_options(argc, argv, &shim->options);
    // The runtime's copy is kept, close-on-exec: a child resolves the link to it before its
    // close-on-exec descriptors go, so the runtime itself never holds it.
    int keep = shim->options.runtime_fd;
    if (keep > SYNC_FD && fcntl(keep, F_SETFD, FD_CLOEXEC) == 0) {
        close_range_of(SYNC_FD + 1, keep - 1);
        close_from(keep + 1);
    } else {
        close_from(SYNC_FD + 1);
        shim->options.runtime_file = shim->options.runtime;
    }
    if (parsed != 0) {
        report(shim, "error 2\n");
        return 2;
    }
    const struct options *options = &shim->options;
    shim->out = shim->err = shim->input = shim->listener = -1;
    for (int i = 0; i < MAX_CLIENTS; i++) shim->clients[i] = -1;

    setsid();
    if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0) fail("PR_SET_CHILD_SUBREAPER");
    signal(SIGPIPE, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    sigset_t children;
    sigemptyset(&children);
    sigaddset(&children, SIGCHLD);
    sigprocmask(SIG_BLOCK, &children, NULL);
    shim->signals = signalfd(-1, &children, SFD_CLOEXEC | SFD_NONBLOCK);

    char path[4200];
    snprintf(path, sizeof path, "%s/shim.lock", options->bundle);
    int lock = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    // Blocking: a runtime probing whether shims live (a shared lock, briefly) may hold it.
    while (lock >= 0 && flock(lock, LOCK_EX) != 0 && errno == EINTR) {}
    if (lock < 0 || shim->signals < 0) {
        fail("setting up");
        report(shim, "error 1\n");
        return 1;
    }
    snprintf(path, sizeof path, "%s/shim.pid", options->bundle);
    FILE *pid_file = fopen(path, "we");
    if (pid_file) {
        fprintf(pid_file, "%d\n", (int)getpid());
        fclose(pid_file);
    }
    int bundle_fd = open(options->bundle, O_PATH | O_DIRECTORY | O_CLOEXEC);

    int output[2], errors[2], input[2] = {-1, -1};
    if (pipe2(output, O_CLOEXEC) != 0 || pipe2(errors, O_CLOEXEC) != 0 || (options->stdin_enabled && pipe2(input, O_CLOEXEC) != 0)) {
        fail("pipe");
        report(shim, "error 1\n");
        return 1;
    }
    if (options->stdin_enabled) {
        if (start_listener(shim, bundle_fd) != 0) {
            fail("attach socket");
            report(shim, "error 1\n");
            return 1;
        }
        shim->input = input[1];
        fcntl(shim->input, F_SETFL, O_NONBLOCK);
    }
    if (options->log_path) {
        capstan_log_file_open(&shim->log, options->log_path, options->log_max_size, options->log_max_files);
        shim->log_file = &shim->log;
    }
    capstan_cri_writer_init(&shim->out_writer, "stdout", shim->log_file);
    capstan_cri_writer_init(&shim->err_writer, "stderr", shim->log_file);

    shim->create_pid = spawn_create(shim, input[0], output[1], errors[1]);
    if (shim->create_pid < 0) {
        fail("fork");
        report(shim, "error 1\n");
        return 1;
    }
    close(output[1]);
    close(errors[1]);
    if (input[0] >= 0) close(input[0]);
    shim->out = output[0];
    shim->err = errors[0];

    for (;;) {
        int finishing = shim->exited || (shim->create_pid == 0 && !shim->created);
        int64_t now = monotonic_ms();
        if (finishing && ((shim->out < 0 && shim->err < 0) || now >= shim->drain_deadline)) break;

        struct pollfd fds[5 + MAX_CLIENTS];
        int roles[5 + MAX_CLIENTS];
        int count = 0;
        fds[count] = (struct pollfd){.fd = shim->signals, .events = POLLIN};
        roles[count++] = -1;
        if (shim->out >= 0) {
            fds[count] = (struct pollfd){.fd = shim->out, .events = POLLIN};
            roles[count++] = -2;
        }
        if (shim->err >= 0) {
            fds[count] = (struct pollfd){.fd = shim->err, .events = POLLIN};
            roles[count++] = -3;
        }
        if (shim->input >= 0 && shim->written < shim->buffered) {
            fds[count] = (struct pollfd){.fd = shim->input, .events = POLLOUT};
            roles[count++] = -4;
        } else if (shim->input >= 0) {
            if (shim->listener >= 0) {
                fds[count] = (struct pollfd){.fd = shim->listener, .events = POLLIN};
                roles[count++] = -5;
            }
            for (int i = 0; i < MAX_CLIENTS; i++) {
                if (shim->clients[i] < 0) continue;
                fds[count] = (struct pollfd){.fd = shim->clients[i], .events = POLLIN};
                roles[count++] = i;
            }
        }
        int timeout = finishing ? (int)(shim->drain_deadline - now) : -1;
        int ready = poll(fds, (nfds_t)count, timeout);
        if (ready < 0 && errno == EINTR) continue;
        if (ready < 0) {
            fail("poll");
            break;
        }
        for (int i = 0; i < count; i++) {
            if (!fds[i].revents) continue;
            switch (roles[i]) {
            case -1: {
                struct signalfd_siginfo info;
                while (read(shim->signals, &info, sizeof info) == sizeof info) {}
                reap(shim);
                break;
            }
            case -2: read_stream(shim, &shim->out, &shim->out_writer); break;
            case -3: read_stream(shim, &shim->err, &shim->err_writer); break;
            case -4: flush_input(shim); break;
            case -5: accept_client(shim); break;
            default:
                if (shim->clients[roles[i]] >= 0 && shim->input >= 0 && shim->buffered == 0) read_client(shim, roles[i]);
                break;
            }
        }
    }

    int64_t seconds, nanoseconds;
    now_realtime(&seconds, &nanoseconds);
    if (shim->out >= 0) capstan_cri_writer_finish(&shim->out_writer, seconds, nanoseconds);
    if (shim->err >= 0) capstan_cri_writer_finish(&shim->err_writer, seconds, nanoseconds);
    if (shim->log_file) capstan_log_file_close(shim->log_file);
    close_input(shim);
    if (!shim->created) {
        // The agent was told (`error ...`) and cleans up.
        report(shim, "error 1\n");
        return 1;
    }
    write_exit_file(shim);
    delete_container(options);
    return 0;
}
