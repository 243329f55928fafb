// A sealed in-memory copy of an executable, for running the OCI runtime from it.
#define _GNU_SOURCE
#include "CCapstanHost.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef F_ADD_SEALS
#define F_ADD_SEALS (1024 + 9)
#define F_GET_SEALS (1024 + 10)
#endif
#ifndef F_SEAL_SEAL
#define F_SEAL_SEAL 0x0001
#define F_SEAL_SHRINK 0x0002
#define F_SEAL_GROW 0x0004
#define F_SEAL_WRITE 0x0008
#endif

const int capstan_executable_seals = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;

int capstan_sealed_executable(const char *path, const char *name, int lowest) {
    int source = open(path, O_RDONLY | O_CLOEXEC);
    if (source < 0) return -errno;
    unsigned char magic[4];
    struct stat info;
    if (fstat(source, &info) != 0 || !S_ISREG(info.st_mode) || pread(source, magic, sizeof magic, 0) != (ssize_t)sizeof magic
        || memcmp(magic, "\177ELF", sizeof magic) != 0) {
        close(source);
        return -ENOEXEC;
    }
    int copy = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (copy < 0) {
        int error = errno;
        close(source);
        return -error;
    }
    off_t offset = 0;
    while (offset < info.st_size) {
        ssize_t sent = sendfile(copy, source, &offset, (size_t)(info.st_size - offset));
        if (sent < 0 && errno == EINTR) continue;
        if (sent <= 0) {
            int error = sent < 0 ? errno : EIO;
            close(source);
            close(copy);
            return -error;
        }
    }
    close(source);
    if (fchmod(copy, 0555) != 0 || fcntl(copy, F_ADD_SEALS, capstan_executable_seals) != 0) {
        int error = errno;
        close(copy);
        return -error;
    }
    if (copy >= lowest) return copy;
    int moved = fcntl(copy, F_DUPFD_CLOEXEC, lowest);
    int error = errno;
    close(copy);
    return moved >= 0 ? moved : -error;
}

int capstan_file_seals(int fd) {
    int seals = fcntl(fd, F_GET_SEALS);
    return seals >= 0 ? seals : -errno;
}
