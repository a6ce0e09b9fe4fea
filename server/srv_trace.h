/*
 * srv_trace.h - request ids and W3C trace context, as every response and log line carries them.
 *
 * X-Request-ID: the client's own when it is 1-64 characters of [A-Za-z0-9._-], else a new random
 * 32-hex-digit id. traceparent (W3C Trace Context, version 00): a valid incoming header keeps its
 * trace id and flags; the server's span gets a new id; without a valid header the trace is new.
 * Pure functions but the random ones (getrandom).
 */
#ifndef SRV_TRACE_H
#define SRV_TRACE_H

#include <stdbool.h>
#include <stddef.h>

#define SRV_REQUEST_ID_MAX 64

struct srv_trace {
    char trace_id[33]; /* 32 lowercase hex digits */
    char span_id[17];  /* this server's span: 16 lowercase hex digits */
    char flags[3];     /* 2 hex digits */
};

/* 1-64 characters of [A-Za-z0-9._-]. */
bool srv_request_id_valid(const char *s);
/* out gets incoming when valid, else a new random id. */
void srv_request_id(const char *incoming, char out[SRV_REQUEST_ID_MAX + 1]);

/* Parses a traceparent header into t (trace id and flags; span_id untouched). false when it is
 * not a valid one: wrong length or separators, upper-case or non-hex digits, version ff, an
 * all-zero trace or parent id, a version-00 header with extra characters. */
bool srv_traceparent_parse(const char *s, struct srv_trace *t);
/* The trace of one request: incoming's trace id and flags when valid, else a new trace id and
 * flags 00; always a new span id. */
void srv_trace_init(const char *incoming, struct srv_trace *t);
/* "00-<trace id>-<span id>-<flags>" (55 characters and a NUL). */
void srv_traceparent_format(const struct srv_trace *t, char out[56]);

/* n random lowercase hex digits and a NUL into out (never all zeros). */
void srv_random_hex(char *out, size_t n);

#endif
