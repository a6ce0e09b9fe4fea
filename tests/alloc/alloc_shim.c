/*
 * alloc_shim.c - the failing allocator; see alloc_shim.h. Compiled with -fno-builtin so that the
 * compiler makes no assumption about the functions it defines.
 *
 * Recorded blocks live in an open-addressing table (linear probing, deletion by backward shift)
 * in an anonymous mapping, so the bookkeeping never allocates. One mutex serialises requests
 * while the shim is active; a thread-local flag lets the shim's own calls (backtrace loading
 * libgcc) reach glibc directly.
 */
#define _GNU_SOURCE
#include "alloc_shim.h"

#include <errno.h>
#include <execinfo.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

void *__libc_malloc(size_t n);
void *__libc_calloc(size_t n, size_t size);
void *__libc_realloc(void *p, size_t n);
void __libc_free(void *p);
void *__libc_memalign(size_t align, size_t n);

#define TABLE_BITS 21
#define TABLE_SIZE (1UL << TABLE_BITS)
#define STACK_MAX 48

struct block {
    uintptr_t p; /* 0: empty */
    unsigned long seq;
    size_t size;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct block *table;
static unsigned long n_live;
static bool counting, persistent;
static unsigned long seq, fail_at, n_failed, trace_seq;
static void *fail_stack[STACK_MAX];
static int fail_depth;
static _Thread_local bool inside;

/* ---- the table ---- */

static size_t slot(uintptr_t p)
{
    return (size_t)(((uint64_t)p * 0x9E3779B97F4A7C15ULL) >> (64 - TABLE_BITS));
}

static void table_put(void *p, unsigned long s, size_t size)
{
    if (!table) {
        void *m = mmap(NULL, TABLE_SIZE * sizeof *table, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (m == MAP_FAILED) return;
        table = m;
    }
    if (n_live >= TABLE_SIZE / 2) {
        static const char msg[] = "alloc_shim: too many live blocks to record\n";
        if (write(2, msg, sizeof msg - 1) < 0) {
        }
        _exit(99);
    }
    size_t i = slot((uintptr_t)p);
    while (table[i].p) i = (i + 1) & (TABLE_SIZE - 1);
    table[i] = (struct block){(uintptr_t)p, s, size};
    n_live++;
}

/* Removes p; false when it was not recorded. */
static bool table_take(void *p, struct block *out)
{
    if (!table || !n_live || !p) return false;
    size_t i = slot((uintptr_t)p);
    while (table[i].p && table[i].p != (uintptr_t)p) i = (i + 1) & (TABLE_SIZE - 1);
    if (!table[i].p) return false;
    if (out) *out = table[i];
    /* backward shift: move later entries of the run into the hole when their home allows */
    size_t hole = i;
    for (size_t j = (i + 1) & (TABLE_SIZE - 1); table[j].p; j = (j + 1) & (TABLE_SIZE - 1)) {
        size_t home = slot(table[j].p);
        bool movable = hole <= j ? (home <= hole || home > j) : (home <= hole && home > j);
        if (movable) {
            table[hole] = table[j];
            hole = j;
        }
    }
    table[hole].p = 0;
    n_live--;
    return true;
}

/* ---- numbering and failing ---- */

static void print_stack(void *const *frames, int depth)
{
    backtrace_symbols_fd(frames, depth, 2);
}

/* The number of a new request, or 0 outside a region; *fail when it must fail. Under lock. */
static unsigned long next(bool *fail)
{
    *fail = false;
    if (!counting) return 0;
    unsigned long s = ++seq;
    if (s == trace_seq) {
        void *frames[STACK_MAX];
        fprintf(stderr, "alloc_shim: allocation #%lu made at:\n", s);
        print_stack(frames, backtrace(frames, STACK_MAX));
    }
    if (fail_at && (s == fail_at || (persistent && s > fail_at))) {
        *fail = true;
        if (!n_failed++) fail_depth = backtrace(fail_stack, STACK_MAX);
    }
    return s;
}

static void *done(void *p, unsigned long s, size_t size)
{
    if (p && s) table_put(p, s, size);
    return p;
}

void *malloc(size_t n)
{
    if (inside) return __libc_malloc(n);
    inside = true;
    pthread_mutex_lock(&lock);
    bool fail;
    unsigned long s = next(&fail);
    void *p = fail ? NULL : done(__libc_malloc(n), s, n);
    pthread_mutex_unlock(&lock);
    inside = false;
    if (!p) errno = ENOMEM;
    return p;
}

void *calloc(size_t n, size_t size)
{
    if (inside) return __libc_calloc(n, size);
    inside = true;
    pthread_mutex_lock(&lock);
    bool fail;
    unsigned long s = next(&fail);
    void *p = fail ? NULL : done(__libc_calloc(n, size), s, n * size);
    pthread_mutex_unlock(&lock);
    inside = false;
    if (!p) errno = ENOMEM;
    return p;
}

void free(void *p)
{
    if (!p) return;
    if (inside) {
        __libc_free(p);
        return;
    }
    inside = true;
    pthread_mutex_lock(&lock);
    table_take(p, NULL);
    __libc_free(p);
    pthread_mutex_unlock(&lock);
    inside = false;
}

void *realloc(void *p, size_t n)
{
    if (!p) return malloc(n);
    if (!n) { /* glibc frees and returns NULL: not a request that can fail */
        free(p);
        return NULL;
    }
    if (inside) return __libc_realloc(p, n);
    inside = true;
    pthread_mutex_lock(&lock);
    bool fail;
    next(&fail); /* numbered and may fail; the block keeps its first number */
    void *q = NULL;
    if (!fail) {
        struct block b;
        bool recorded = table_take(p, &b);
        q = __libc_realloc(p, n);
        if (recorded) table_put(q ? q : p, b.seq, q ? n : b.size);
    }
    pthread_mutex_unlock(&lock);
    inside = false;
    if (!q) errno = ENOMEM;
    return q;
}

static void *aligned(size_t align, size_t n)
{
    if (inside) return __libc_memalign(align, n);
    inside = true;
    pthread_mutex_lock(&lock);
    bool fail;
    unsigned long s = next(&fail);
    void *p = fail ? NULL : done(__libc_memalign(align, n), s, n);
    pthread_mutex_unlock(&lock);
    inside = false;
    return p;
}

int posix_memalign(void **out, size_t align, size_t n)
{
    if (align % sizeof(void *) || (align & (align - 1)) || !align) return EINVAL;
    void *p = aligned(align, n);
    if (!p) return ENOMEM;
    *out = p;
    return 0;
}

void *aligned_alloc(size_t align, size_t n)
{
    void *p = aligned(align, n);
    if (!p) errno = ENOMEM;
    return p;
}

void *memalign(size_t align, size_t n)
{
    return aligned_alloc(align, n);
}

void *valloc(size_t n)
{
    return aligned_alloc((size_t)sysconf(_SC_PAGESIZE), n);
}

void *pvalloc(size_t n)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    return aligned_alloc(page, (n + page - 1) / page * page);
}

/* ---- the region ---- */

void alloc_shim_begin(unsigned long at, bool persist)
{
    void *frames[4];
    backtrace(frames, 4); /* loads libgcc now, not inside a counted request */
    pthread_mutex_lock(&lock);
    seq = 0;
    n_failed = 0;
    fail_depth = 0;
    fail_at = at;
    persistent = persist;
    counting = true;
    pthread_mutex_unlock(&lock);
}

void alloc_shim_end(void)
{
    pthread_mutex_lock(&lock);
    counting = false;
    pthread_mutex_unlock(&lock);
}

unsigned long alloc_shim_count(void)
{
    pthread_mutex_lock(&lock);
    unsigned long n = seq;
    pthread_mutex_unlock(&lock);
    return n;
}

unsigned long alloc_shim_failed(void)
{
    pthread_mutex_lock(&lock);
    unsigned long n = n_failed;
    pthread_mutex_unlock(&lock);
    return n;
}

unsigned long alloc_shim_live(void)
{
    pthread_mutex_lock(&lock);
    unsigned long n = n_live;
    pthread_mutex_unlock(&lock);
    return n;
}

void alloc_shim_print_live(int max)
{
    inside = true; /* stdio's buffers bypass the shim */
    pthread_mutex_lock(&lock);
    for (size_t i = 0; table && i < TABLE_SIZE && max > 0; i++) {
        if (!table[i].p) continue;
        fprintf(stderr, "  leaked: allocation #%lu, %zu bytes\n", table[i].seq, table[i].size);
        max--;
    }
    pthread_mutex_unlock(&lock);
    inside = false;
}

void alloc_shim_forget(void)
{
    pthread_mutex_lock(&lock);
    if (table && n_live) madvise(table, TABLE_SIZE * sizeof *table, MADV_DONTNEED); /* zeroes */
    n_live = 0;
    pthread_mutex_unlock(&lock);
}

int alloc_shim_fail_stack(void **frames, int max)
{
    int n = fail_depth < max ? fail_depth : max;
    memcpy(frames, fail_stack, (size_t)n * sizeof *frames);
    return n;
}

void alloc_shim_trace(unsigned long s)
{
    trace_seq = s;
}
