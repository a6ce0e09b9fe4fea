/*
 * srv_server.h - `xaid serve`: the server struct and one request's state, shared by the files
 * of the HTTP daemon:
 *
 *   srv_server.c    start (models, sessions, pool, daemon), signals, drain, stop
 *   srv_http.c      libmicrohttpd glue: the access handler, checks before the body, the body,
 *                   suspend/resume around jobs, responses with their common headers
 *   srv_handlers.c  what each route answers; the job a worker runs; error bodies
 *   srv_report.c    the report route's content negotiation (the report: api/report.h)
 *   srv_pool.c      worker threads and the bounded queue; srv_body.c, srv_multipart.c bodies;
 *                   srv_conns.c connection phases and their time limits; srv_tls.c the TLS
 *                   files; srv_auth.c, srv_cors.c, srv_trace.c, srv_metrics.c, srv_log.c,
 *                   srv_config.c
 *
 * The server struct is the only shared mutable state; what changes after start is atomic
 * (ready, draining, counters) or behind its module's lock (pool, metrics).
 */
#ifndef SRV_SERVER_H
#define SRV_SERVER_H

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "request.h"
#include "srv_auth.h"
#include "srv_body.h"
#include "srv_config.h"
#include "srv_conns.h"
#include "srv_cors.h"
#include "srv_metrics.h"
#include "srv_pool.h"
#include "srv_report.h"
#include "srv_router.h"
#include "srv_tls.h"
#include "srv_trace.h"
#include "srv_views.h"

struct srv_blob {
    char *data;
    size_t len;
};

struct srv_server {
    struct srv_config cfg;
    struct api_repo *repo;
    struct srv_tokens tokens; /* n == 0: no authentication */
    struct srv_cors cors;
    struct srv_metrics *metrics;
    struct srv_model_label *labels;
    struct srv_blob models_json, methods_json, views_json,
        *model_json; /* answers made once at start */
    struct srv_pool *pool;
    struct srv_conns *conns; /* connection phases, the sweeper (srv_conns.h) */
    struct srv_tls tls;      /* the certificate and key, when serving HTTPS */
    struct MHD_Daemon *mhd;
    pthread_mutex_t mhd_log_lock;
    char mhd_error[512];      /* libmicrohttpd's last message, for a start-up failure */
    atomic_bool ready;        /* /readyz; false from SIGTERM on */
    atomic_bool draining;     /* responses close their connection */
    atomic_int active;        /* requests begun and not completed */
    atomic_int suspended;     /* connections suspended for a job and not yet back (srv_req.held) */
    atomic_bool stopping;     /* the drain's last step: jobs are refused (none suspends any more) */
    atomic_size_t body_bytes; /* request bodies held in memory */
    size_t body_budget;       /* beyond it: 503 overloaded */
};

/* One request, from its headers to its completion (libmicrohttpd's per-request pointer). */
struct srv_req {
    struct srv_server *srv;
    struct MHD_Connection *conn;
    struct srv_conn *sc;     /* the connection's phase (srv_conns.h), or NULL */
    bool started;            /* the head was parsed (the handler ran) */
    bool query_refused;      /* the query string holds over API_MAX_ARGS parameters */
    bool client_gone;        /* the client left while its job waited or ran: no answer */
    const char *http_method; /* libmicrohttpd's string, valid until completion */
    enum srv_route route;
    char model_name[SRV_MODEL_NAME_MAX + 1];
    const char *url; /* libmicrohttpd's path, valid until completion (the viewer's files) */
    int model;       /* index in srv->repo, or -1 */
    char request_id[SRV_REQUEST_ID_MAX + 1];
    struct srv_trace trace;
    const char *origin;     /* an allowed Origin (gets CORS headers), or NULL */
    const char *token_id;   /* the bearer token's ID, or NULL */
    bool preflight;         /* OPTIONS on a /v1 route */
    double t_start, t_wall; /* the request line parsed (monotonic; wall clock) */
    double t_body;          /* the head parsed: the body's time starts */
    unsigned long long bytes_in, bytes_out;

    /* the body */
    enum srv_encoding enc;
    char boundary[SRV_BOUNDARY_MAX + 1];
    struct srv_body body;
    size_t budget_held; /* bytes counted in srv->body_bytes */
    xai_status body_st; /* TOO_LARGE or OVERLOADED while streaming: answered at the end */
    bool cut_off;       /* the body took longer than the read timeout */
    struct srv_input input;

    /* the job */
    struct srv_job job;
    struct api_explain_opts opts;
    struct api_view_opts view; /* the inspection views (srv_views.c) */
    struct srv_view_input vin;
    struct api_args vin_args;
    const char *method_name; /* the attribution method, for logs and metrics */
    bool report_json;        /* report: Accept prefers application/json to the HTML */
    bool job_done;           /* the worker (or the watchdog) finished: answer on resume */
    bool held;               /* counted in srv->suspended (until back in the handler or done) */

    /* the answer */
    int status; /* HTTP status queued, 0 before */
    xai_status code;
    char *out; /* response body (malloc'd), handed to libmicrohttpd */
    size_t out_len;
    const char *out_type;
    struct api_timing timing;
};

/* srv_http.c */
xai_status srv_http_start(struct srv_server *s, struct xai_err *err);

/* srv_handlers.c: answers. Each sets r->status, r->out, r->out_len, r->out_type. */
void srv_answer_error(struct srv_req *r, xai_status st, const char *msg);
void srv_answer_get(struct srv_req *r);
/* The worker pool's callbacks for one job (srv_req.job). */
void srv_job_run(struct srv_job *job, void *worker_ctx);
void srv_job_done(struct srv_job *job);
/* Worker contexts: a session per model. */
void *srv_worker_init(int i, void *server, struct xai_err *err);
void srv_worker_fini(void *ctx, void *server);

/* srv_server.c: `xaid serve` (the process exit code). */
int srv_serve(int argc, char **argv);
/* Starts a server on configuration c (copied; its strings must outlive the server): models,
 * tokens, CORS origins, the answers made once, metrics, the worker pool, the daemon; ready.
 * On failure *out is NULL and nothing is left. srv_serve adds signals and the drain. */
xai_status srv_server_start(const struct srv_config *c, struct srv_server **out,
                            struct xai_err *err);
/* Stops the daemon and the workers at once and frees everything (NULL: nothing). */
void srv_server_free(struct srv_server *s);

#endif
