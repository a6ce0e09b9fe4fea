/*
 * alloc_run.c - every-N allocation failure runs in forked children; see alloc_run.h.
 */
#define _GNU_SOURCE
#include "alloc_run.h"

#include <execinfo.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "alloc_shim.h"

/* How a child ended (its exit status). */
enum {
    END_ERROR = 10,   /* error status, nothing left */
    END_HANDLED = 11, /* success with the right result despite a failed allocation */
    END_CLEAN = 12,   /* no allocation failed (N past this run's total), success */
    END_LEAK = 20,
    END_WRONG = 21,    /* success with another result */
    END_AFTER = 22,    /* the after check failed */
    END_SPURIOUS = 23, /* error status without a failed allocation */
};

static unsigned long child_n;

static void say(const char *s)
{
    if (write(2, s, strlen(s)) < 0) {
    }
}

static void on_crash(int sig)
{
    char line[128];
    void *frames[64];
    snprintf(line, sizeof line, "\nCRASH: signal %d (%s) with allocation #%lu failed\n", sig,
             strsignal(sig), child_n);
    say(line);
    int n = alloc_shim_fail_stack(frames, 64);
    say("the failed allocation was requested at:\n");
    backtrace_symbols_fd(frames, n, 2);
    say("the crash is at:\n");
    backtrace_symbols_fd(frames, backtrace(frames, 64), 2);
    raise(sig); /* SA_RESETHAND: the default action now */
}

static void crash_handlers(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_crash;
    sa.sa_flags = (int)SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    const int sigs[] = {SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL, SIGTRAP};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) sigaction(sigs[i], &sa, NULL);
}

/* One run of the operation in this process; returns its END_ code. */
static int one(const struct alloc_op *op, unsigned long n, bool persistent, const char *want)
{
    char digest[ALLOC_DIGEST_MAX] = "", msg[512] = "";
    alloc_shim_begin(n, persistent);
    int rc = op->run(op->ctx, digest, msg, sizeof msg);
    alloc_shim_end();
    unsigned long failed = alloc_shim_failed();
    int end = rc ? END_ERROR : failed ? END_HANDLED : END_CLEAN;
    if (rc && !failed) {
        fprintf(stderr, "error without a failed allocation: %s\n", msg);
        end = END_SPURIOUS;
    }
    if (!rc && want && strcmp(digest, want)) {
        fprintf(stderr, "succeeded with a different result (%s, expected %s)\n", digest, want);
        end = END_WRONG;
    }
    char amsg[512] = "";
    if (op->after && want && op->after(op->ctx, want, amsg, sizeof amsg)) {
        fprintf(stderr, "after the run: %s\n", amsg);
        if (end < END_LEAK) end = END_AFTER;
    }
    if (alloc_shim_live()) {
        fprintf(stderr, "%lu blocks allocated by the run were not freed (%s):\n", alloc_shim_live(),
                rc ? msg : "it succeeded");
        alloc_shim_print_live(10);
        if (end < END_LEAK) end = END_LEAK;
    }
    return end;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Copies what the child wrote to its log to stderr. */
static void show_log(int fd)
{
    char buf[4096];
    ssize_t got;
    size_t total = 0;
    lseek(fd, 0, SEEK_SET);
    while ((got = read(fd, buf, sizeof buf)) > 0 && total < 16384) {
        if (write(2, buf, (size_t)got) < 0) break;
        total += (size_t)got;
    }
}

struct tally {
    unsigned long error, handled, clean, bad;
    unsigned long last_handled; /* for printing the absorbed N as ranges */
    char handled_at[512];
};

/* Notes N as absorbed, extending a range "a-b" when it follows the last one. */
static void note_handled(struct tally *t, unsigned long n)
{
    size_t len = strlen(t->handled_at);
    if (len > sizeof t->handled_at - 32) return;
    if (t->last_handled && n == t->last_handled + 1) {
        char *dash = strrchr(t->handled_at, ' ');
        char *end = dash ? strchr(dash, '-') : NULL;
        if (end) len = (size_t)(end - t->handled_at);
        snprintf(t->handled_at + len, sizeof t->handled_at - len, "-%lu", n);
    } else {
        snprintf(t->handled_at + len, sizeof t->handled_at - len, " %lu", n);
    }
    t->last_handled = n;
}

static void child(const struct alloc_op *op, const struct alloc_opts *o, unsigned long n,
                  const char *want, int log)
{
    child_n = n;
    if (ftruncate(log, 0) || lseek(log, 0, SEEK_SET) || dup2(log, 2) < 0) _exit(2);
    crash_handlers();
    alarm((unsigned)o->timeout_s);
    int end = one(op, n, o->persistent, want);
    fflush(stderr);
    _exit(end);
}

/* Forks a child for N and records how it ended; returns false on a problem. */
static bool check_n(const struct alloc_op *op, const struct alloc_opts *o, unsigned long n,
                    const char *want, int log, struct tally *t)
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        exit(2);
    }
    if (pid == 0) child(op, o, n, want, log);
    int ws = 0;
    while (waitpid(pid, &ws, 0) < 0) {
    }
    int code = WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
    if (code == END_ERROR) t->error++;
    if (code == END_HANDLED) t->handled++, note_handled(t, n);
    if (code == END_CLEAN) t->clean++;
    if (code >= END_ERROR && code <= END_CLEAN) return true;
    t->bad++;
    if (WIFSIGNALED(ws))
        fprintf(stderr, "%s: N=%lu: killed by signal %d (%s)%s\n", op->name, n, WTERMSIG(ws),
                strsignal(WTERMSIG(ws)),
                WTERMSIG(ws) == SIGALRM ? ": no end within the timeout (a hang?)" : "");
    else
        fprintf(stderr, "%s: N=%lu: exit %d\n", op->name, n, code);
    show_log(log);
    fprintf(stderr,
            "  (again: %s --from %lu --to %lu; --trace K prints where allocation K is made)\n",
            o->command, n, n);
    return false;
}

int alloc_run_every(const struct alloc_op *op, const struct alloc_opts *o)
{
    char want[ALLOC_DIGEST_MAX] = "", msg[512] = "";
    double t0 = now_s();
    if (op->run(op->ctx, want, msg, sizeof msg)) { /* warm-up */
        fprintf(stderr, "%s: fails without allocation failures: %s\n", op->name, msg);
        return 1;
    }
    alloc_shim_forget();
    if (one(op, 0, false, want) != END_CLEAN) {
        fprintf(stderr, "%s: the run without failures is not clean (above)\n", op->name);
        return 1;
    }
    unsigned long total = alloc_shim_count();
    alloc_shim_forget();
    printf("%s: %lu allocations without failures (result %s)\n", op->name, total, want);
    FILE *logf = tmpfile();
    if (!logf) {
        perror("tmpfile");
        return 1;
    }
    unsigned long from = o->from ? o->from : 1, to = o->to ? o->to : total;
    struct tally t = {0};
    for (unsigned long n = from; n <= to; n++) {
        check_n(op, o, n, want, fileno(logf), &t);
        if (t.bad >= 20) {
            fprintf(stderr, "%s: stopping after 20 problems\n", op->name);
            break;
        }
    }
    fclose(logf);
    if (t.handled) printf("%s: absorbed at N =%s\n", op->name, t.handled_at);
    printf("%s: N=%lu..%lu %s: %lu error statuses, %lu absorbed (same result), %lu without a "
           "failure, %lu problems; %.1f s\n",
           op->name, from, to, o->persistent ? "(persistent)" : "(N-th only)", t.error, t.handled,
           t.clean, t.bad, now_s() - t0);
    return t.bad ? 1 : 0;
}
