#define _GNU_SOURCE
#include "CCapstanHost.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

typedef struct {
    unsigned long start, end;
    int eligible;
    long resident_kb;
} mapping;

enum { max_mappings = 256 };

long capstan_release_file_mappings(void) {
    FILE *smaps = fopen("/proc/self/smaps", "re");
    if (!smaps) return -errno;
    mapping found[max_mappings];
    int count = 0;
    mapping *current = NULL;
    char line[4096];
    while (fgets(line, sizeof line, smaps)) {
        unsigned long start, end, offset;
        char perms[8], path[4096] = "";
        long kb;
        if (sscanf(line, "%lx-%lx %7s %lx %*s %*s %4095s", &start, &end, perms, &offset, path) >= 4) {
            current = NULL;
            // File-backed (not memfd or a device), never writable.
            if (path[0] != '/' || strncmp(path, "/memfd:", 7) == 0 || strncmp(path, "/dev/", 5) == 0) continue;
            if (perms[1] == 'w' || count == max_mappings) continue;
            current = &found[count++];
            *current = (mapping){start, end, 1, 0};
        } else if (current && sscanf(line, "Rss: %ld kB", &kb) == 1) {
            current->resident_kb = kb;
        } else if (current && sscanf(line, "Anonymous: %ld kB", &kb) == 1) {
            // Private copies (relocations written before the segment became read-only) would be
            // lost: such a mapping is kept.
            if (kb != 0) current->eligible = 0;
        }
    }
    fclose(smaps);
    long released = 0;
    for (int i = 0; i < count; i++) {
        if (!found[i].eligible || found[i].resident_kb == 0) continue;
        if (madvise((void *)found[i].start, found[i].end - found[i].start, MADV_DONTNEED) == 0)
            released += found[i].resident_kb * 1024;
    }
    return released;
}
