/*
 * srv_metrics.h - the server's Prometheus metrics and their text rendering (format 0.0.4).
 *
 *   xaid_requests_total{route,http_method,method,status}   counter; method: attribution method
 *   xaid_request_duration_seconds{route}                     histogram
 *   xaid_queue_depth, xaid_jobs_in_flight, xaid_workers      gauges (read at render time)
 *   xaid_worker_busy_seconds_total                           counter
 *   xaid_model_info{name,version,sha256} 1, xaid_ready       gauges
 *   xaid_connections_open                                    gauge
 *   xaid_connections_cut_total                               counter (srv_conns.h's sweeper)
 *
 * Label values are bounded: routes are templates, HTTP methods outside the known ones count as
 * "OTHER", attribution methods come from the method table, statuses from the server's own
 * answers, so a client cannot grow the series. Counters live in dense arrays under one mutex
 * (one short lock per request); srv_metrics_render copies them and renders without holding it.
 */
#ifndef SRV_METRICS_H
#define SRV_METRICS_H

#include <stdbool.h>
#include <stddef.h>

#include "srv_router.h"

/* What is read from the rest of the server at render time. */
struct srv_gauges {
    int queue_depth, jobs_in_flight, workers;
    double busy_seconds;
    bool ready;
    int connections_open;
    unsigned long long connections_cut;
};

struct srv_model_label {
    const char *name, *version, *sha256;
};

struct srv_metrics;

struct srv_metrics *srv_metrics_new(void);
void srv_metrics_free(struct srv_metrics *m);

/* One answered request. http_method: as received; method: the attribution method's name or
 * NULL; status: the HTTP status sent (0 when none was). */
void srv_metrics_request(struct srv_metrics *m, enum srv_route route, const char *http_method,
                         const char *method, int status, double seconds);

/* The text exposition (malloc'd, NUL-terminated; *len its length), or NULL when out of memory. */
char *srv_metrics_render(struct srv_metrics *m, const struct srv_gauges *g,
                         const struct srv_model_label *models, int n_models, size_t *len);

/* Appends value to out with Prometheus label escaping (\\, \", \n). For tests. */
size_t srv_metrics_escape(const char *value, char *out, size_t size);

#endif
