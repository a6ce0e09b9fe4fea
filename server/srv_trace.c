/* srv_trace.c - request ids and trace context; see srv_trace.h. */
#include "srv_trace.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

static const char hex[] = "0123456789abcdef";

bool srv_request_id_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    return n >= 1 && n <= SRV_REQUEST_ID_MAX &&
           strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

void srv_request_id(const char *incoming, char out[SRV_REQUEST_ID_MAX + 1])
{
    if (srv_request_id_valid(incoming)) {
        memcpy(out, incoming, strlen(incoming) + 1);
        return;
    }
    srv_random_hex(out, 32);
}

/* Fills b with random bytes; without getrandom, a clock-derived sequence (ids stay unique
 * enough for logs, which is all they are for). */
static void random_bytes(unsigned char *b, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = getrandom(b + got, n - got, 0);
        if (r > 0) got += (size_t)r;
        if (r < 0 && errno != EINTR) break;
    }
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t x = (uint64_t)ts.tv_nsec * 0x9E3779B97F4A7C15u ^ (uint64_t)ts.tv_sec;
    for (; got < n; got++) {
        x ^= x >> 31;
        x *= 0xBF58476D1CE4E5B9u;
        b[got] = (unsigned char)(x >> 24);
    }
}

void srv_random_hex(char *out, size_t n)
{
    unsigned char b[64];
    if (n > 2 * sizeof b) n = 2 * sizeof b;
    bool zero = true;
    while (zero) {
        random_bytes(b, (n + 1) / 2);
        for (size_t i = 0; i < n; i++) {
            out[i] = hex[(b[i / 2] >> (i % 2 ? 0 : 4)) & 15];
            zero &= out[i] == '0';
        }
    }
    out[n] = '\0';
}

/* n lowercase hex digits at s; *nonzero tells whether any is not '0'. */
static bool lower_hex(const char *s, size_t n, bool *nonzero)
{
    *nonzero = false;
    for (size_t i = 0; i < n; i++) {
        if (!strchr(hex, s[i]) || !s[i]) return false;
        *nonzero |= s[i] != '0';
    }
    return true;
}

bool srv_traceparent_parse(const char *s, struct srv_trace *t)
{
    size_t n = s ? strlen(s) : 0;
    bool nz_version, nz_trace, nz_parent, nz_flags;
    if (n < 55 || s[2] != '-' || s[35] != '-' || s[52] != '-') return false;
    if (!lower_hex(s, 2, &nz_version) || !strncmp(s, "ff", 2)) return false;
    if (!lower_hex(s + 3, 32, &nz_trace) || !nz_trace) return false;
    if (!lower_hex(s + 36, 16, &nz_parent) || !nz_parent) return false;
    if (!lower_hex(s + 53, 2, &nz_flags)) return false;
    if (!strncmp(s, "00", 2) ? n != 55 : n > 55 && s[55] != '-') return false;
    memcpy(t->trace_id, s + 3, 32);
    t->trace_id[32] = '\0';
    memcpy(t->flags, s + 53, 2);
    t->flags[2] = '\0';
    return true;
}

void srv_trace_init(const char *incoming, struct srv_trace *t)
{
    if (!srv_traceparent_parse(incoming, t)) {
        srv_random_hex(t->trace_id, 32);
        memcpy(t->flags, "00", 3);
    }
    srv_random_hex(t->span_id, 16);
}

void srv_traceparent_format(const struct srv_trace *t, char out[56])
{
    snprintf(out, 56, "00-%.32s-%.16s-%.2s", t->trace_id, t->span_id, t->flags);
}
