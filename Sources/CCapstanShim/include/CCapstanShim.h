#ifndef CCAPSTAN_SHIM_H
#define CCAPSTAN_SHIM_H

// The per-container shim (`capstan-shim`): a small C process that runs the OCI runtime's
// `create`, stays the parent of the container's init, writes its stdout/stderr to the CRI log
// file, copies attach clients' bytes to its stdin, and records its exit in the bundle. It keeps
// running when the node agent exits, so containers outlive the agent and a new agent adopts
// them. See OCIRuntime+Shim.swift for the agent's side and the protocol.

#include <stddef.h>
#include <stdint.h>

/// Longest content of one CRI record; longer lines are split into `P` records
/// (CRILog.maxRecordContent on the Swift side).
#define CAPSTAN_CRI_MAX_RECORD 16384

/// A container's CRI log file with size-based rotation (ContainerLogFile on the Swift side).
typedef struct capstan_log_file {
    int fd;
    int64_t size;
    int64_t max_size;
    int max_files;
    char path[4096];
} capstan_log_file;

/// Splits one stream into CRI records (CRILogWriter on the Swift side).
typedef struct capstan_cri_writer {
    const char *stream;
    capstan_log_file *file;
    unsigned char *pending;
    size_t pending_length;
    size_t pending_capacity;
    unsigned char *record;
    size_t record_capacity;
} capstan_cri_writer;

/// Opens (creating, appending) `path`; rotation once a record would pass `max_size`, keeping
/// `max_files` files (the current one included).
void capstan_log_file_open(capstan_log_file *file, const char *path, int64_t max_size, int max_files);
/// Appends one whole record, rotating first if it would not fit.
void capstan_log_file_write(capstan_log_file *file, const unsigned char *record, size_t length);
void capstan_log_file_close(capstan_log_file *file);

/// `stream` is "stdout" or "stderr" (kept by reference); `file` NULL discards the records.
void capstan_cri_writer_init(capstan_cri_writer *writer, const char *stream, capstan_log_file *file);
/// Records for the chunk, all stamped with the given time (seconds and nanoseconds since 1970).
void capstan_cri_writer_append(capstan_cri_writer *writer, const unsigned char *bytes, size_t length,
                               int64_t seconds, int64_t nanoseconds);
/// Writes an unterminated last line as an `F` record.
void capstan_cri_writer_finish(capstan_cri_writer *writer, int64_t seconds, int64_t nanoseconds);
void capstan_cri_writer_free(capstan_cri_writer *writer);

/// RFC 3339 with nanoseconds in UTC (`2016-10-06T00:17:09.669794202Z`); returns the length.
size_t capstan_cri_timestamp(char *out, size_t capacity, int64_t seconds, int64_t nanoseconds);

/// Whether the memory cgroup at `cgroups_path` (as in config.json) saw an OOM kill.
int capstan_saw_oom_kill(const char *cgroups_path);

/// The shim's entry point (`capstan-shim` arguments; fd 3 is the sync pipe to the agent).
int capstan_shim_main(int argc, char **argv);

#endif
