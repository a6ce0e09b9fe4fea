/*
 * alloc_run.h - runs an operation once for every allocation it makes, failing that allocation
 * (tests/alloc/alloc_shim.h), each run in a forked child, and checks how each run ends.
 *
 * The operation runs first twice without failures: a warm-up (one-time allocations of glibc,
 * libgcc's unwinder, libpng's and jansson's first use... happen there, outside the count) and a
 * counted run that gives the total T and must succeed and leave nothing allocated. Then for every
 * N from 1 to T a child fails the N-th allocation (and every one after it when persistent) and
 * must:
 *   - end with an error status, or succeed with the same result as without failures (a failed
 *     allocation that a fallback absorbed);
 *   - leave nothing of what it allocated once the operation has released everything;
 *   - pass the operation's `after` check (e.g. the session is still usable);
 *   - not crash (a signal is reported with N, the failed allocation's call stack and the crash's)
 *     and not hang (killed after a timeout).
 * The children run one at a time from a parent with no other thread, so each starts from the
 * same warmed-up state.
 */
#ifndef ALLOC_RUN_H
#define ALLOC_RUN_H

#include <stdbool.h>
#include <stddef.h>

#define ALLOC_DIGEST_MAX 64

struct alloc_op {
    const char *name;
    void *ctx;
    /* The operation: 0 on success with a digest of its result written, 1 on an error status
     * (its message in msg). Releases everything it allocated before returning. */
    int (*run)(void *ctx, char digest[ALLOC_DIGEST_MAX], char *msg, size_t msg_len);
    /* Optional, after the operation, failures off: 0 when the state it left is fine, else
     * 1 with a message. */
    int (*after)(void *ctx, const char *digest, char *msg, size_t msg_len);
};

struct alloc_opts {
    bool persistent;        /* fail every allocation from the N-th on */
    unsigned long from, to; /* N range; 0: 1 and the total */
    int timeout_s;          /* per child */
    const char *command;    /* how to run this check again (in the reports), e.g. argv */
};

/* Runs the whole check and prints a summary; returns 0 when every N ended well. */
int alloc_run_every(const struct alloc_op *op, const struct alloc_opts *o);

#endif
