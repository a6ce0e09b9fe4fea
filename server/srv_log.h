/*
 * srv_log.h - the server's two outputs: diagnostics on stderr (by level) and the access log on
 * stdout, one JSON object per line per request.
 *
 * An access line holds only what identifies and measures a request: time, request and trace ids,
 * route template, model name (a served model's, never a name a client made up), attribution
 * method, HTTP method, status, bytes in and out, stage timings, and the token's ID. Never pixels,
 * file names, tokens, or other client free text.
 */
#ifndef SRV_LOG_H
#define SRV_LOG_H

#include "request.h"
#include "srv_config.h"

struct srv_access {
    double time; /* seconds since the epoch, when the request arrived */
    const char *request_id, *trace_id, *route, *model, *method, *http_method, *token_id;
    int status;
    unsigned long long bytes_in, bytes_out;
    struct api_timing ms;
};

/* One line on stderr, "xaid: " + the message, when lvl is at least min. */
void srv_logf(enum srv_log_level min, enum srv_log_level lvl, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* {"time", "request_id", "trace_id", "route", "model", "method", "http_method", "status",
 *  "bytes_in", "bytes_out", "ms": {queue, decode, forward, explain, encode, total}, "token_id"}
 * and a newline (malloc'd), or NULL when out of memory. NULL fields are written as null. */
char *srv_access_line(const struct srv_access *a);
/* Writes the line to stdout in one piece. */
void srv_access_write(const struct srv_access *a);

#endif
