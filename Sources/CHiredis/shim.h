// The one C header Swift sees. Inline helpers reach what Swift cannot (fixed-size char arrays,
// macros) so that no Swift file does pointer arithmetic on hiredis structs.
#ifndef CHIREDIS_SHIM_H
#define CHIREDIS_SHIM_H

// Linux only: prctl(PR_SET_NAME) and the sched_getaffinity syscall below (Package.swift says so too).
#ifndef __linux__
#error "CHiredis builds on Linux only (prctl, SYS_sched_getaffinity)"
#endif


#include <hiredis/hiredis.h>
#include <poll.h>
#include <errno.h>
#include <string.h>
#include <sys/prctl.h>
#include <pthread.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <signal.h>
#include <time.h>

/// The context's error text (`errstr` is a `char[128]`, which Swift imports as a tuple).
static inline const char *chiredis_errstr(const redisContext *c) { return c->errstr; }

/// The context's error code (`REDIS_ERR_IO`, `REDIS_ERR_EOF`, ...), 0 when healthy.
static inline int chiredis_err(const redisContext *c) { return c->err; }

/// The context's socket.
static inline int chiredis_fd(const redisContext *c) { return c->fd; }

/// Bytes formatted by `redisAppendCommandArgv` and not yet written.
static inline size_t chiredis_pending_output(const redisContext *c) { return c->obuf ? sdslen(c->obuf) : 0; }

/// Waits until the context's socket is readable (`events` = POLLIN) or writable (POLLOUT).
/// Returns 1 when ready, 0 on timeout, -1 on error (errno set). Retries on EINTR.
static inline int chiredis_poll(const redisContext *c, short events, int timeout_ms) {
    struct pollfd pfd;
    pfd.fd = c->fd;
    pfd.events = events;
    pfd.revents = 0;
    for (;;) {
        int rc = poll(&pfd, 1, timeout_ms);
        if (rc < 0 && errno == EINTR) continue;
        if (rc > 0 && (pfd.revents & (POLLERR | POLLNVAL)) && !(pfd.revents & events)) return -1;
        return rc;
    }
}

/// The i-th element of an array reply.
static inline redisReply *chiredis_element(const redisReply *r, size_t i) { return r->element[i]; }

static inline short chiredis_pollin(void) { return POLLIN; }
static inline short chiredis_pollout(void) { return POLLOUT; }

/// Names the calling thread (shown by `top -H`; at most 15 bytes are kept).
static inline void chiredis_name_current_thread(const char *name) { prctl(PR_SET_NAME, name, 0, 0, 0); }

/// Blocks SIGPIPE on the calling thread: hiredis writes with plain write(2), and a write to a
/// socket the server closed must fail with EPIPE instead of killing the process.
static inline void chiredis_block_sigpipe(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
}

/// The calling thread's id, as an integer.
static inline unsigned long chiredis_thread_id(void) { return (unsigned long)pthread_self(); }

/// How many CPUs this process may run on (its affinity mask), at least 1. Uses the raw
/// syscall: `sched_getaffinity`/`CPU_COUNT` need _GNU_SOURCE, and defining that here would make
/// this module's view of the system headers differ from Swift's Glibc module.
static inline int chiredis_usable_cpus(void) {
    unsigned long mask[16] = {0};
    long bytes = syscall(SYS_sched_getaffinity, 0, sizeof(mask), mask);
    if (bytes <= 0) return 1;
    int count = 0;
    for (long i = 0; i < bytes / (long)sizeof(unsigned long); i++) count += __builtin_popcountl(mask[i]);
    return count > 0 ? count : 1;
}

/// The monotonic clock in nanoseconds (vDSO, no syscall): per-call latency for metrics, read as a
/// plain integer so that a sample costs no `Duration` arithmetic.
static inline unsigned long long chiredis_monotonic_ns(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (unsigned long long)now.tv_sec * 1000000000ull + (unsigned long long)now.tv_nsec;
}

/// A monotonic clock read cheaply (vDSO, no syscall), in nanoseconds, with the kernel tick's
/// resolution (1–10 ms): for deadlines measured in hundreds of milliseconds or more, such as the
/// queue timeout, where a fine clock read on every request would cost more than it tells.
static inline unsigned long long chiredis_coarse_monotonic_ns(void) {
#ifdef CLOCK_MONOTONIC_COARSE
    struct timespec now;
    if (clock_gettime(CLOCK_MONOTONIC_COARSE, &now) == 0)
        return (unsigned long long)now.tv_sec * 1000000000ull + (unsigned long long)now.tv_nsec;
#endif
    struct timespec fine;
    clock_gettime(CLOCK_MONOTONIC, &fine);
    return (unsigned long long)fine.tv_sec * 1000000000ull + (unsigned long long)fine.tv_nsec;
}

#endif
