// CRI log records and the rotated log file, in C for the shim. The Swift CRILogWriter and
// ContainerLogFile (in the runtime tests) are the reference: the same input (bytes, chunking and time) gives the
// same records and the same rotation (ShimLogFormatTests checks both side by side).
#define _GNU_SOURCE
#include "CCapstanShim.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

size_t capstan_cri_timestamp(char *out, size_t capacity, int64_t seconds, int64_t nanoseconds) {
    time_t whole = (time_t)seconds;
    struct tm parts;
    gmtime_r(&whole, &parts);
    int length = snprintf(out, capacity, "%04d-%02d-%02dT%02d:%02d:%02d.%09lldZ", parts.tm_year + 1900, parts.tm_mon + 1,
                          parts.tm_mday, parts.tm_hour, parts.tm_min, parts.tm_sec, (long long)nanoseconds);
    if (length < 0) return 0;
    return (size_t)length < capacity ? (size_t)length : capacity - 1;
}

// MARK: Log file

static int open_log(const char *path) {
    return open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
}

void capstan_log_file_open(capstan_log_file *file, const char *path, int64_t max_size, int max_files) {
    snprintf(file->path, sizeof file->path, "%s", path);
    file->max_size = max_size;
    file->max_files = max_files < 1 ? 1 : max_files;
    file->fd = open_log(path);
    struct stat info;
    file->size = file->fd >= 0 && fstat(file->fd, &info) == 0 ? (int64_t)info.st_size : 0;
}

void capstan_log_file_close(capstan_log_file *file) {
    if (file->fd >= 0) close(file->fd);
    file->fd = -1;
}

/// Rotated files are `<path>.<YYYYMMDD-hhmmss>` or, after the first in a second,
/// `<path>.<YYYYMMDD-hhmmss>-N`: these compare the part after `<path>.` by time, then by N
/// as a number (`-10` after `-9`).
static long rotation_suffix(const char *tail) {
    return strlen(tail) > 15 && tail[15] == '-' ? strtol(tail + 16, NULL, 10) : 0;
}

static int compare_rotations(const void *a, const void *b) {
    const char *x = *(char *const *)a, *y = *(char *const *)b;
    int by_time = strncmp(x, y, 15);
    if (by_time != 0) return by_time;
    long sx = rotation_suffix(x), sy = rotation_suffix(y);
    return sx < sy ? -1 : sx > sy ? 1 : strcmp(x, y);
}

/// Renames the file to `<path>.<YYYYMMDD-hhmmss>` (UTC; `-N`, one more than the highest of
/// that second, when the second has one already), removes the oldest rotated files beyond
/// `max_files - 1`, and starts a new file.
static void rotate(capstan_log_file *file) {
    if (file->fd >= 0) close(file->fd);
    char stamp[32];
    time_t now = time(NULL);
    struct tm parts;
    gmtime_r(&now, &parts);
    strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &parts);

    char directory[4096];
    snprintf(directory, sizeof directory, "%s", file->path);
    char *slash = strrchr(directory, '/');
    const char *base = file->path;
    if (slash) {
        base = file->path + (slash - directory) + 1;
        if (slash == directory) slash[1] = 0; else *slash = 0;
    } else {
        snprintf(directory, sizeof directory, ".");
    }
    size_t base_length = strlen(base);
    // The rotated files there, by the part after `<base>.`, plus room for the new one.
    char **tails = NULL;
    size_t count = 0, capacity = 0;
    long highest = -1;
    DIR *listing = opendir(directory);
    if (listing) {
        struct dirent *entry;
        while ((entry = readdir(listing))) {
            if (strncmp(entry->d_name, base, base_length) != 0 || entry->d_name[base_length] != '.') continue;
            if (count + 1 >= capacity) {
                capacity = capacity ? capacity * 2 : 8;
                char **grown = realloc(tails, capacity * sizeof *tails);
                if (!grown) break;
                tails = grown;
            }
            const char *tail = entry->d_name + base_length + 1;
            if (strncmp(tail, stamp, 15) == 0 && (tail[15] == 0 || tail[15] == '-')) {
                long suffix = rotation_suffix(tail);
                if (suffix > highest) highest = suffix;
            }
            tails[count] = strdup(tail);
            if (tails[count]) count++;
        }
        closedir(listing);
    }
    char target[4200];
    if (highest < 0) snprintf(target, sizeof target, "%s.%s", file->path, stamp);
    else snprintf(target, sizeof target, "%s.%s-%ld", file->path, stamp, highest + 1);
    if (rename(file->path, target) == 0 && tails && count < capacity) {
        tails[count] = strdup(target + strlen(file->path) + 1);
        if (tails[count]) count++;
    }
    if (tails) {
        qsort(tails, count, sizeof *tails, compare_rotations);
        size_t keep = (size_t)(file->max_files - 1);
        for (size_t i = 0; i < count; i++) {
            if (i + keep < count) {
                char old[8300];
                snprintf(old, sizeof old, "%s/%s.%s", directory, base, tails[i]);
                unlink(old);
            }
            free(tails[i]);
        }
        free(tails);
    }
    file->fd = open_log(file->path);
    file->size = 0;
}

void capstan_log_file_write(capstan_log_file *file, const unsigned char *record, size_t length) {
    if (file->size > 0 && file->size + (int64_t)length > file->max_size) rotate(file);
    if (file->fd < 0) return;
    size_t offset = 0;
    while (offset < length) {
        ssize_t written = write(file->fd, record + offset, length - offset);
        if (written < 0 && errno == EINTR) continue;
        if (written <= 0) break;
        offset += (size_t)written;
    }
    file->size += (int64_t)length;
}

// MARK: Records

static int reserve(unsigned char **buffer, size_t *capacity, size_t needed) {
    if (needed <= *capacity) return 1;
    size_t size = *capacity ? *capacity : 4096;
    while (size < needed) size *= 2;
    unsigned char *grown = realloc(*buffer, size);
    if (!grown) return 0;
    *buffer = grown;
    *capacity = size;
    return 1;
}

void capstan_cri_writer_init(capstan_cri_writer *writer, const char *stream, capstan_log_file *file) {
    memset(writer, 0, sizeof *writer);
    writer->stream = stream;
    writer->file = file;
}

void capstan_cri_writer_free(capstan_cri_writer *writer) {
    free(writer->pending);
    free(writer->record);
    writer->pending = writer->record = NULL;
    writer->pending_length = writer->pending_capacity = writer->record_capacity = 0;
}

/// One record: `<timestamp> <stream> <P|F> <first><second>\n`.
static void emit(capstan_cri_writer *writer, const char *timestamp, int partial, const unsigned char *first, size_t first_length,
                 const unsigned char *second, size_t second_length) {
    size_t stamp_length = strlen(timestamp), stream_length = strlen(writer->stream);
    size_t total = stamp_length + 1 + stream_length + 3 + first_length + second_length + 1;
    if (!reserve(&writer->record, &writer->record_capacity, total)) return;
    unsigned char *out = writer->record;
    memcpy(out, timestamp, stamp_length);
    out += stamp_length;
    *out++ = ' ';
    memcpy(out, writer->stream, stream_length);
    out += stream_length;
    memcpy(out, partial ? " P " : " F ", 3);
    out += 3;
    if (first_length) memcpy(out, first, first_length);
    out += first_length;
    if (second_length) memcpy(out, second, second_length);
    out += second_length;
    *out = '\n';
    if (writer->file) capstan_log_file_write(writer->file, writer->record, total);
}

void capstan_cri_writer_append(capstan_cri_writer *writer, const unsigned char *bytes, size_t length, int64_t seconds,
                               int64_t nanoseconds) {
    char timestamp[64];
    int stamped = 0;
    size_t start = 0;
    while (start < length) {
        const unsigned char *newline = memchr(bytes + start, '\n', length - start);
        if (!newline) break;
        size_t end = (size_t)(newline - bytes);
        if (!stamped) {
            capstan_cri_timestamp(timestamp, sizeof timestamp, seconds, nanoseconds);
            stamped = 1;
        }
        emit(writer, timestamp, 0, writer->pending, writer->pending_length, bytes + start, end - start);
        writer->pending_length = 0;
        start = end + 1;
    }
    size_t rest = length - start;
    if (rest) {
        if (!reserve(&writer->pending, &writer->pending_capacity, writer->pending_length + rest)) return;
        memcpy(writer->pending + writer->pending_length, bytes + start, rest);
        writer->pending_length += rest;
    }
    while (writer->pending_length >= CAPSTAN_CRI_MAX_RECORD) {
        if (!stamped) {
            capstan_cri_timestamp(timestamp, sizeof timestamp, seconds, nanoseconds);
            stamped = 1;
        }
        emit(writer, timestamp, 1, writer->pending, CAPSTAN_CRI_MAX_RECORD, NULL, 0);
        writer->pending_length -= CAPSTAN_CRI_MAX_RECORD;
        memmove(writer->pending, writer->pending + CAPSTAN_CRI_MAX_RECORD, writer->pending_length);
    }
}

void capstan_cri_writer_finish(capstan_cri_writer *writer, int64_t seconds, int64_t nanoseconds) {
    if (!writer->pending_length) return;
    char timestamp[64];
    capstan_cri_timestamp(timestamp, sizeof timestamp, seconds, nanoseconds);
    emit(writer, timestamp, 0, writer->pending, writer->pending_length, NULL, 0);
    writer->pending_length = 0;
}
