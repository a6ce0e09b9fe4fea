/* srv_log.c - diagnostics and the access log; see srv_log.h. */
#include "srv_log.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json_mem.h"

void srv_logf(enum srv_log_level min, enum srv_log_level lvl, const char *fmt, ...)
{
    if (lvl < min) return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "xaid: %s\n", line);
}

/* RFC 3339 in UTC with milliseconds. */
static void rfc3339(double t, char out[32])
{
    time_t s = (time_t)floor(t);
    int ms = (int)((t - (double)s) * 1000.0);
    struct tm tm;
    gmtime_r(&s, &tm);
    size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 32 - n, ".%03dZ", ms < 0 ? 0 : ms > 999 ? 999 : ms);
}

static double ms3(double v)
{
    return round(v * 1000.0) / 1000.0;
}

char *srv_access_line(const struct srv_access *a)
{
    char when[32];
    rfc3339(a->time, when);
    const struct api_timing *m = &a->ms;
    json_t *j = json_pack(
        "{s:s, s:s?, s:s?, s:s?, s:s?, s:s?, s:s?, s:i, s:I, s:I, "
        "s:{s:f, s:f, s:f, s:f, s:f, s:f}, s:s?}",
        "time", when, "request_id", a->request_id, "trace_id", a->trace_id, "route", a->route,
        "model", a->model, "method", a->method, "http_method", a->http_method, "status", a->status,
        "bytes_in", (json_int_t)a->bytes_in, "bytes_out", (json_int_t)a->bytes_out, "ms", "queue",
        ms3(m->queue), "decode", ms3(m->decode), "forward", ms3(m->forward), "explain",
        ms3(m->explain), "encode", ms3(m->encode), "total", ms3(m->total), "token_id", a->token_id);
    char *s = j ? api_json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(10)) : NULL;
    json_decref(j);
    size_t n = s ? strlen(s) : 0;
    char *line = s ? realloc(s, n + 2) : NULL;
    if (!line) {
        free(s);
        return NULL;
    }
    memcpy(line + n, "\n", 2);
    return line;
}

void srv_access_write(const struct srv_access *a)
{
    char *line = srv_access_line(a);
    if (!line) return;
    flockfile(stdout);
    fputs(line, stdout);
    fflush(stdout);
    funlockfile(stdout);
    free(line);
}
