// touchprof.so: an LD_PRELOAD profiler that records which 4 KiB pages of an executable's code
// run. At start it maps the code range unreadable; each first execution of a page faults, the
// handler notes the page (in order of first execution) and makes it executable again. The page list is written every second
// and at exit. Used by scripts/release/profile.
//   TOUCHPROF_EXE   the executable to profile (other processes, e.g. children, are left alone)
//   TOUCHPROF_TEXT  "START END": the .text section's addresses in the file, hex
//   TOUCHPROF_OUT   the output: "LO HI" (runtime addresses), then a line per page that ran:
//                   its index from LO and its rank in order of first execution, hex
//   TOUCHPROF_SKIP  "START END" (optional, file addresses, hex): code left executable and not
//                   recorded: code a child sharing the process's memory runs with signals
//                   blocked (the agent's namespace child), which a first-execution fault would kill
#define _GNU_SOURCE
#include <signal.h>
#include <sys/mman.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <unistd.h>
#include <pthread.h>
#include <fcntl.h>
static uintptr_t lo, hi; static unsigned *bits; static unsigned next = 1; static const char *out;
static void handler(int sig, siginfo_t *si, void *uc) {
  uintptr_t a = (uintptr_t)si->si_addr & ~4095UL;
  if (a >= lo && a < hi) { bits[(a - lo) >> 12] = __atomic_fetch_add(&next, 1, __ATOMIC_RELAXED); mprotect((void*)a, 4096, PROT_READ|PROT_EXEC); return; }
  signal(SIGSEGV, SIG_DFL);
}
static pthread_mutex_t dumping = PTHREAD_MUTEX_INITIALIZER;
static void dump(void) {
  if (!bits) return;
  // The dumper thread and the exit handler may both write: one at a time.
  pthread_mutex_lock(&dumping);
  char tmp[512]; snprintf(tmp, sizeof tmp, "%s.tmp", out);
  int fd = open(tmp, O_WRONLY|O_CREAT|O_TRUNC, 0644); if (fd < 0) { pthread_mutex_unlock(&dumping); return; }
  dprintf(fd, "%lx %lx\n", (unsigned long)lo, (unsigned long)hi);
  size_t n = (hi - lo) >> 12; for (size_t i = 0; i < n; i++) if (bits[i]) dprintf(fd, "%zx %x\n", i, bits[i]);
  close(fd); rename(tmp, out);
  pthread_mutex_unlock(&dumping);
}
static void *dumper(void *arg) { for (;;) { sleep(1); dump(); } return 0; }
__attribute__((constructor)) static void init(void) {
  out = getenv("TOUCHPROF_OUT"); const char *range = getenv("TOUCHPROF_TEXT"); // "startoff endoff" (vaddr offsets)
  if (!out || !range) return;
  unsigned long s, e; if (sscanf(range, "%lx %lx", &s, &e) != 2) return;
  char exe[512]; ssize_t l = readlink("/proc/self/exe", exe, sizeof exe - 1); if (l <= 0) return; exe[l] = 0;
  const char *want = getenv("TOUCHPROF_EXE"); if (!want || strcmp(want, exe) != 0) return;
  unsetenv("LD_PRELOAD");
  FILE *m = fopen("/proc/self/maps", "r"); char line[1024]; uintptr_t base = 0;
  while (fgets(line, sizeof line, m)) { unsigned long a, b, off; char perm[8], path[600] = "";
    if (sscanf(line, "%lx-%lx %7s %lx %*s %*s %599s", &a, &b, perm, &off, path) >= 4 && strcmp(path, exe) == 0) { base = a - off; break; } }
  fclose(m); if (!base) return;
  lo = (base + s + 4095) & ~4095UL; hi = (base + e) & ~4095UL;
  bits = calloc((hi - lo) >> 12, sizeof *bits);
  struct sigaction sa; memset(&sa, 0, sizeof sa); sa.sa_sigaction = handler; sa.sa_flags = SA_SIGINFO|SA_NODEFER|SA_RESTART;
  sigaction(SIGSEGV, &sa, 0);
  mprotect((void*)lo, hi - lo, PROT_NONE);
  const char *skip = getenv("TOUCHPROF_SKIP"); unsigned long ss, se;
  if (skip && sscanf(skip, "%lx %lx", &ss, &se) == 2) {
    uintptr_t a = (base + ss) & ~4095UL, b = (base + se + 4095) & ~4095UL;
    if (a < lo) a = lo;
    if (b > hi) b = hi;
    if (a < b) mprotect((void*)a, b - a, PROT_READ|PROT_EXEC);
  }
  pthread_t t; pthread_create(&t, 0, dumper, 0); pthread_detach(t);
  atexit(dump);
}
