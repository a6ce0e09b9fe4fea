/*
 * srv_handlers.c - what each route answers, and the job a worker runs for explain and predict.
 *
 * GET answers are made on the HTTP threads: the model list, model info and method table were
 * serialised once at start (srv_server.c), health and readiness are constants, /metrics renders
 * the counters, the viewer's files are built in. explain and predict run on a worker: decode,
 * forward, method, renders, answer JSON, all through api/request.h (the same code as
 * `xaid explain`), and the report through api/report.h (`xaid report`); the worker then hands
 * the answer back and resumes the connection (srv_http.c sends it).
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_mem.h"
#include "json_out.h"
#include "report.h"
#include "srv_server.h"
#include "viewer.h"

#define JSON_TYPE "application/json"

static void set_out(struct srv_req *r, int status, char *body, size_t len, const char *type)
{
    free(r->out);
    r->status = status;
    r->out = body;
    r->out_len = len;
    r->out_type = type;
}

static char *memdup(const char *p, size_t n)
{
    char *d = malloc(n + 1);
    if (d) memcpy(d, p, n + 1);
    return d;
}

void srv_answer_error(struct srv_req *r, xai_status st, const char *msg)
{
    json_t *j = json_pack("{s:{s:s, s:s, s:s}}", "error", "code", xai_status_code(st), "message",
                          msg && *msg ? msg : xai_status_code(st), "request_id", r->request_id);
    char *s = j ? api_json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    r->code = st;
    set_out(r, xai_status_http(st), s, s ? strlen(s) : 0, s ? JSON_TYPE : NULL);
}

static void answer_blob(struct srv_req *r, const struct srv_blob *b)
{
    char *d = memdup(b->data, b->len);
    if (!d) {
        srv_answer_error(r, XAI_NO_MEMORY, "out of memory");
        return;
    }
    set_out(r, 200, d, b->len, JSON_TYPE);
}

static void answer_text(struct srv_req *r, int status, const char *text)
{
    char *d = memdup(text, strlen(text));
    if (!d) {
        srv_answer_error(r, XAI_NO_MEMORY, "out of memory");
        return;
    }
    set_out(r, status, d, strlen(text), JSON_TYPE);
}

static void answer_metrics(struct srv_req *r)
{
    struct srv_server *s = r->srv;
    struct srv_pool_stats ps;
    srv_pool_stats(s->pool, &ps);
    struct srv_gauges g = {ps.queued,
                           ps.running,
                           ps.workers,
                           ps.busy_seconds,
                           atomic_load(&s->ready),
                           srv_conns_open(s->conns),
                           srv_conns_cut(s->conns)};
    size_t len = 0;
    char *text = srv_metrics_render(s->metrics, &g, s->labels, s->repo->n_models, &len);
    if (!text) {
        srv_answer_error(r, XAI_NO_MEMORY, "out of memory");
        return;
    }
    set_out(r, 200, text, len, "text/plain; version=0.0.4; charset=utf-8");
}

/* One of the viewer's files, built into the binary. */
static void answer_viewer(struct srv_req *r)
{
    const char *body, *type;
    size_t len;
    char *d;
    if (!srv_viewer_asset(r->url, &body, &len, &type)) {
        srv_answer_error(r, XAI_NOT_FOUND, "no such file");
        return;
    }
    if (!(d = malloc(len))) {
        srv_answer_error(r, XAI_NO_MEMORY, "out of memory");
        return;
    }
    memcpy(d, body, len);
    set_out(r, 200, d, len, type);
}

void srv_answer_get(struct srv_req *r)
{
    struct srv_server *s = r->srv;
    bool ready = atomic_load(&s->ready);
    switch (r->route) {
    case SRV_ROUTE_MODELS:
        answer_blob(r, &s->models_json);
        break;
    case SRV_ROUTE_MODEL:
        answer_blob(r, &s->model_json[r->model]);
        break;
    case SRV_ROUTE_METHODS:
        answer_blob(r, &s->methods_json);
        break;
    case SRV_ROUTE_VIEWS:
        answer_blob(r, &s->views_json);
        break;
    case SRV_ROUTE_HEALTHZ:
        answer_text(r, 200, "{\"status\":\"ok\"}");
        break;
    case SRV_ROUTE_READYZ:
        answer_text(r, ready ? 200 : 503,
                    ready ? "{\"status\":\"ready\"}" : "{\"status\":\"draining\"}");
        if (!ready) r->code = XAI_NOT_READY;
        break;
    case SRV_ROUTE_METRICS:
        answer_metrics(r);
        break;
    case SRV_ROUTE_VIEWER:
        answer_viewer(r);
        break;
    default:
        srv_answer_error(r, XAI_INTERNAL, "no handler for this route");
    }
}

/* ---- jobs ---- */

struct srv_worker {
    int n;
    xai_session **sessions; /* one per model, in repository order */
};

void *srv_worker_init(int i, void *server, struct xai_err *err)
{
    struct srv_server *s = server;
    struct srv_worker *w = calloc(1, sizeof *w);
    if (w) w->sessions = calloc((size_t)s->repo->n_models, sizeof *w->sessions);
    if (!w || !w->sessions) {
        free(w);
        xai_fail(err, XAI_NO_MEMORY, "out of memory for worker %d", i);
        return NULL;
    }
    for (; w->n < s->repo->n_models; w->n++) {
        if (xai_session_new(s->repo->models[w->n]->engine, &w->sessions[w->n], err)) {
            srv_worker_fini(w, server);
            return NULL;
        }
    }
    return w;
}

void srv_worker_fini(void *ctx, void *server)
{
    struct srv_worker *w = ctx;
    for (int i = 0; i < w->n; i++) xai_session_free(w->sessions[i]);
    free(w->sessions);
    free(w);
}

static struct srv_req *req_of(struct srv_job *job)
{
    return (struct srv_req *)((char *)job - offsetof(struct srv_req, job));
}

static void answer_json(struct srv_req *r, json_t *j)
{
    char *s = j ? api_json_dumps(j, API_JSON_FLAGS | JSON_COMPACT) : NULL;
    json_decref(j);
    if (!s) {
        srv_answer_error(r, XAI_NO_MEMORY, "out of memory for the answer");
        return;
    }
    set_out(r, 200, s, strlen(s), JSON_TYPE);
}

/* The pipeline on the worker's session; returns the answer or NULL with st/err set. */
static json_t *run_pipeline(struct srv_req *r, xai_session *s, xai_status *st, struct xai_err *err)
{
    const struct api_model *m = r->srv->repo->models[r->model];
    const void *img = r->input.image;
    size_t len = r->input.image_len;
    json_t *j = NULL;
    if (srv_route_is_view(r->route)) return srv_view_run(r, s, st, err);
    if (r->route == SRV_ROUTE_PREDICT) {
        struct api_scores sc;
        *st = api_run_predict(m, s, img, len, &sc, &r->timing, err);
        r->timing.total = (xai_monotonic_s() - r->t_start) * 1e3;
        if (!*st) j = api_predict_answer(r->request_id, m, &sc, &r->timing);
        api_scores_reset(&sc);
    } else {
        struct api_explanation e;
        *st = api_run_explain(m, s, img, len, &r->opts, &e, &r->timing, err);
        r->timing.total = (xai_monotonic_s() - r->t_start) * 1e3;
        if (!*st) j = api_explain_answer(r->request_id, m, &r->opts, &e, &r->timing);
        api_explanation_reset(&e);
    }
    return j;
}

/* The report job: the HTML document, or its JSON form when the client asked for it. */
static xai_status run_report(struct srv_req *r, xai_session *s, struct xai_err *err)
{
    const struct api_model *m = r->srv->repo->models[r->model];
    struct api_report rep;
    xai_status st = api_run_report(m, s, r->input.image, r->input.image_len, &r->opts,
                                   r->request_id, &rep, &r->timing, err);
    r->timing.total = (xai_monotonic_s() - r->t_start) * 1e3;
    if (st) return st;
    if (r->report_json) {
        answer_json(r, api_report_json(&rep));
    } else {
        size_t len = 0;
        char *html = api_report_html(&rep, &len);
        if (html)
            set_out(r, 200, html, len, "text/html; charset=utf-8");
        else
            srv_answer_error(r, XAI_NO_MEMORY, "out of memory for the report");
    }
    api_report_reset(&rep);
    return XAI_OK;
}

static void deadline_error(struct srv_req *r, const char *where)
{
    char msg[160];
    snprintf(msg, sizeof msg, "the job did not finish within the server's deadline (%d ms): %s",
             r->srv->cfg.deadline_ms, where);
    srv_answer_error(r, XAI_DEADLINE_EXCEEDED, msg);
}

void srv_job_run(struct srv_job *job, void *worker_ctx)
{
    struct srv_req *r = req_of(job);
    struct srv_worker *w = worker_ctx;
    xai_session *s = w->sessions[r->model];
    struct xai_err err = {{0}};
    xai_status st = XAI_OK;
    r->timing.queue = (job->t_started - job->t_queued) * 1e3;
    xai_session_set_deadline(s, job->deadline);
    json_t *j = NULL;
    if (!srv_conn_run(r->srv->conns, r->sc, s)) { /* the client left while the job waited */
        r->client_gone = true;
    } else {
        if (r->route == SRV_ROUTE_REPORT)
            st = run_report(r, s, &err); /* answers itself on success */
        else
            j = run_pipeline(r, s, &st, &err);
        srv_conn_ran(r->srv->conns, r->sc);
        r->client_gone = srv_conn_gone(r->srv->conns, r->sc); /* and stopped the run */
    }
    xai_session_set_deadline(s, 0);
    srv_input_reset(&r->input); /* the image's memory goes back before the answer is sent */
    srv_view_reset(r);
    srv_body_reset(&r->body);
    if (r->client_gone)
        json_decref(j); /* nobody to answer */
    else if (st == XAI_DEADLINE_EXCEEDED)
        deadline_error(r, "abandoned while running");
    else if (st)
        srv_answer_error(r, st, err.msg);
    else if (r->route != SRV_ROUTE_REPORT)
        answer_json(r, j);
}

void srv_job_done(struct srv_job *job)
{
    struct srv_req *r = req_of(job);
    if (job->expired) {
        r->timing.queue = (job->t_started - job->t_queued) * 1e3;
        r->timing.total = (xai_monotonic_s() - r->t_start) * 1e3;
        srv_input_reset(&r->input);
        srv_view_reset(r);
        srv_body_reset(&r->body);
        deadline_error(r, "it waited in the queue until then");
    }
    r->job_done = true;
    MHD_resume_connection(r->conn);
}
