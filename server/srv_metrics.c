/* srv_metrics.c - counters and the Prometheus text renderer; see srv_metrics.h. */
#include "srv_metrics.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "method.h"

enum { N_HTTP = 8, N_STATUS = 18, N_METHOD_MAX = 64, N_BUCKETS = 14 };

static const char *const http_methods[N_HTTP] = {"GET",    "HEAD",  "POST",    "PUT",
                                                 "DELETE", "PATCH", "OPTIONS", "OTHER"};
static const int statuses[N_STATUS] = {0,   200, 204, 400, 401, 403, 404, 405, 408,
                                       413, 415, 422, 499, 500, 503, 504, 431, 1000};
static const double buckets[N_BUCKETS] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                          1,     2.5,  5,     10,   30,  60,   1e300};

struct srv_counts {
    uint64_t req[SRV_ROUTE_COUNT][N_HTTP][N_METHOD_MAX + 1][N_STATUS];
    uint64_t hist[SRV_ROUTE_COUNT][N_BUCKETS];
    uint64_t hist_n[SRV_ROUTE_COUNT];
    double hist_sum[SRV_ROUTE_COUNT];
};

struct srv_metrics {
    pthread_mutex_t lock;
    struct srv_counts c;
};

struct srv_metrics *srv_metrics_new(void)
{
    struct srv_metrics *m = calloc(1, sizeof *m);
    if (m && pthread_mutex_init(&m->lock, NULL)) {
        free(m);
        return NULL;
    }
    return m;
}

void srv_metrics_free(struct srv_metrics *m)
{
    if (!m) return;
    pthread_mutex_destroy(&m->lock);
    free(m);
}

static int http_index(const char *s)
{
    for (int i = 0; s && i < N_HTTP - 1; i++)
        if (!strcmp(http_methods[i], s)) return i;
    return N_HTTP - 1;
}

static int status_index(int status)
{
    for (int i = 0; i < N_STATUS - 1; i++)
        if (statuses[i] == status) return i;
    return N_STATUS - 1; /* any other: rendered as its own number is impossible, "other" */
}

/* 0 for none, else 1 + the method's position in the table. */
static int method_index(const char *name)
{
    int n;
    const struct xai_method_def *const *all = xai_method_all(&n);
    for (int i = 0; name && i < n && i < N_METHOD_MAX; i++)
        if (!strcmp(all[i]->name, name)) return i + 1;
    return 0;
}

void srv_metrics_request(struct srv_metrics *m, enum srv_route route, const char *http_method,
                         const char *method, int status, double seconds)
{
    int r = route < SRV_ROUTE_COUNT ? (int)route : 0;
    int h = http_index(http_method), k = method_index(method), s = status_index(status);
    pthread_mutex_lock(&m->lock);
    m->c.req[r][h][k][s]++;
    for (int b = 0; b < N_BUCKETS; b++)
        if (seconds <= buckets[b]) m->c.hist[r][b]++;
    m->c.hist_n[r]++;
    m->c.hist_sum[r] += seconds;
    pthread_mutex_unlock(&m->lock);
}

/* ---- rendering ---- */

struct text {
    char *p;
    size_t len, cap;
    bool failed;
};

static void put(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct text *t, const char *fmt, ...)
{
    for (int tries = 0; !t->failed && tries < 2; tries++) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(t->p + t->len, t->cap - t->len, fmt, ap);
        va_end(ap);
        if (n < 0) break;
        if ((size_t)n < t->cap - t->len) {
            t->len += (size_t)n;
            return;
        }
        size_t cap = (t->cap + (size_t)n + 1) * 2;
        char *p = realloc(t->p, cap);
        if (!p) break;
        t->p = p;
        t->cap = cap;
    }
    t->failed = true;
}

size_t srv_metrics_escape(const char *v, char *out, size_t size)
{
    size_t o = 0;
    for (; v && *v && o + 3 < size; v++) {
        if (*v == '\\' || *v == '"' || *v == '\n') out[o++] = '\\';
        out[o++] = *v == '\n' ? 'n' : *v;
    }
    if (size) out[o] = '\0';
    return o;
}

static void help(struct text *t, const char *name, const char *type, const char *text)
{
    put(t, "# HELP %s %s\n# TYPE %s %s\n", name, text, name, type);
}

static void render_requests(struct text *t, const struct srv_counts *c)
{
    int n;
    const struct xai_method_def *const *all = xai_method_all(&n);
    help(t, "xaid_requests_total", "counter",
         "Requests answered, by route template, HTTP method, attribution method and status.");
    for (int r = 0; r < SRV_ROUTE_COUNT; r++)
        for (int h = 0; h < N_HTTP; h++)
            for (int k = 0; k <= N_METHOD_MAX && k <= n; k++)
                for (int s = 0; s < N_STATUS; s++) {
                    uint64_t v = c->req[r][h][k][s];
                    if (!v) continue;
                    char st[8];
                    snprintf(st, sizeof st, "%d", statuses[s]);
                    put(t,
                        "xaid_requests_total{route=\"%s\",http_method=\"%s\",method=\"%s\","
                        "status=\"%s\"} %llu\n",
                        srv_route_template((enum srv_route)r), http_methods[h],
                        k ? all[k - 1]->name : "", s == N_STATUS - 1 ? "other" : st,
                        (unsigned long long)v);
                }
}

static void render_histogram(struct text *t, const struct srv_counts *c)
{
    help(t, "xaid_request_duration_seconds", "histogram",
         "Time from a request's headers to its answer, by route template.");
    for (int r = 0; r < SRV_ROUTE_COUNT; r++) {
        if (!c->hist_n[r]) continue;
        const char *route = srv_route_template((enum srv_route)r);
        for (int b = 0; b < N_BUCKETS; b++) {
            char le[32];
            snprintf(le, sizeof le, b == N_BUCKETS - 1 ? "+Inf" : "%g", buckets[b]);
            put(t, "xaid_request_duration_seconds_bucket{route=\"%s\",le=\"%s\"} %llu\n", route, le,
                (unsigned long long)c->hist[r][b]);
        }
        put(t, "xaid_request_duration_seconds_sum{route=\"%s\"} %.6f\n", route, c->hist_sum[r]);
        put(t, "xaid_request_duration_seconds_count{route=\"%s\"} %llu\n", route,
            (unsigned long long)c->hist_n[r]);
    }
}

static void render_gauges(struct text *t, const struct srv_gauges *g)
{
    help(t, "xaid_queue_depth", "gauge", "Jobs waiting for a worker.");
    put(t, "xaid_queue_depth %d\n", g->queue_depth);
    help(t, "xaid_jobs_in_flight", "gauge", "Jobs a worker is running.");
    put(t, "xaid_jobs_in_flight %d\n", g->jobs_in_flight);
    help(t, "xaid_workers", "gauge", "Worker threads.");
    put(t, "xaid_workers %d\n", g->workers);
    help(t, "xaid_worker_busy_seconds_total", "counter", "Seconds workers spent running jobs.");
    put(t, "xaid_worker_busy_seconds_total %.6f\n", g->busy_seconds);
    help(t, "xaid_ready", "gauge", "1 when the server takes requests, 0 while draining.");
    put(t, "xaid_ready %d\n", g->ready ? 1 : 0);
    help(t, "xaid_connections_open", "gauge", "Open client connections.");
    put(t, "xaid_connections_open %d\n", g->connections_open);
    help(t, "xaid_connections_cut_total", "counter",
         "Connections closed for taking longer than --read-timeout over a request's head, body "
         "or answer.");
    put(t, "xaid_connections_cut_total %llu\n", g->connections_cut);
}

static void render_models(struct text *t, const struct srv_model_label *models, int n)
{
    help(t, "xaid_model_info", "gauge", "The models served: name, version and sha256.");
    for (int i = 0; i < n; i++) {
        char name[512], version[512], sha[160];
        srv_metrics_escape(models[i].name, name, sizeof name);
        srv_metrics_escape(models[i].version, version, sizeof version);
        srv_metrics_escape(models[i].sha256, sha, sizeof sha);
        put(t, "xaid_model_info{name=\"%s\",version=\"%s\",sha256=\"%s\"} 1\n", name, version, sha);
    }
}

char *srv_metrics_render(struct srv_metrics *m, const struct srv_gauges *g,
                         const struct srv_model_label *models, int n_models, size_t *len)
{
    struct srv_counts *c = malloc(sizeof *c);
    struct text t = {malloc(16384), 0, 16384, false};
    if (!c || !t.p) {
        free(c);
        free(t.p);
        return NULL;
    }
    pthread_mutex_lock(&m->lock);
    memcpy(c, &m->c, sizeof *c);
    pthread_mutex_unlock(&m->lock);
    t.p[0] = '\0';
    render_requests(&t, c);
    render_histogram(&t, c);
    render_gauges(&t, g);
    render_models(&t, models, n_models);
    free(c);
    if (t.failed) {
        free(t.p);
        return NULL;
    }
    *len = t.len;
    return t.p;
}
