/*
 * srv_http.c - the libmicrohttpd glue: one access handler for every request, in three phases.
 *
 *   line      (libmicrohttpd's URI callback, before the headers) the request's state begins; a
 *             query string of more than API_MAX_ARGS parameters is cut short here (see
 *             uri_seen) and refused once the head is parsed.
 *   headers   request id, trace, route; CORS origin, method, token, model; for explain and
 *             predict the Content-Type and Content-Length. Any refusal is answered at once
 *             (libmicrohttpd then skips the body and closes the connection).
 *   body      pieces are appended to a buffer capped at --max-body and counted against the
 *             server's memory budget; past either, the rest is read and dropped and the answer
 *             (413, 503) waits for the end. A body that takes longer than --read-timeout is cut
 *             off (the connection closes); an idle connection is closed by libmicrohttpd's own
 *             timeout, and a head, body or answer that trickles past --read-timeout by the
 *             sweeper (srv_conns.h). Slow clients therefore cost a buffer, never a worker.
 *   complete  GET routes are answered here. explain/predict: the body is parsed and the
 *             parameters validated on this thread, a place is reserved in the queue (or 503
 *             at once), the connection is suspended and the job committed. The worker runs it,
 *             stores the answer and resumes the connection; libmicrohttpd calls the handler again
 *             and the answer is queued from this thread.
 *
 * Every response carries X-Request-ID, traceparent, X-Content-Type-Options and, for an allowed
 * Origin, the CORS headers. The completion callback writes the access log line and the metrics.
 * Each connection's phase (head, body, job, answer) is kept in srv_conns for its time limits
 * and to notice a client that leaves while its job waits or runs.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "report.h"
#include "srv_log.h"
#include "srv_server.h"
#include "viewer.h"

#define HTTP_THREADS 2
/* HTTPS: TLS 1.2 and 1.3 only, GnuTLS's default ciphers otherwise. */
#define TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"
#define PREFLIGHT_MAX_AGE "600"
#define CORS_HEADERS "Authorization, Content-Type, X-Request-ID, traceparent"

static const char *header(struct srv_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

/* ---- responses ---- */

static void add(struct MHD_Response *resp, const char *name, const char *value)
{
    MHD_add_response_header(resp, name, value);
}

static void add_cors(struct srv_req *r, struct MHD_Response *resp)
{
    if (!srv_route_is_api(r->route) || !r->srv->cors.n) return;
    add(resp, "Vary", "Origin");
    if (!r->origin) return;
    add(resp, "Access-Control-Allow-Origin", r->origin);
    if (!r->preflight) {
        add(resp, "Access-Control-Expose-Headers", "X-Request-ID, traceparent, Retry-After");
        return;
    }
    add(resp, "Access-Control-Allow-Methods", srv_route_allow(r->route));
    add(resp, "Access-Control-Allow-Headers", CORS_HEADERS);
    add(resp, "Access-Control-Max-Age", PREFLIGHT_MAX_AGE);
}

/* What a browser may load for the pages the server sends: the viewer's files, and a report as
 * HTML (server/viewer/viewer.h). JSON answers need none. */
static void add_policy(struct srv_req *r, struct MHD_Response *resp)
{
    bool html_report = r->route == SRV_ROUTE_REPORT && r->status == 200 && !r->report_json;
    if (r->route != SRV_ROUTE_VIEWER && !html_report) return;
    add(resp, "Content-Security-Policy",
        r->route == SRV_ROUTE_VIEWER ? srv_viewer_csp() : srv_report_csp());
    add(resp, "Referrer-Policy", "no-referrer");
}

static void add_headers(struct srv_req *r, struct MHD_Response *resp)
{
    char tp[56];
    srv_traceparent_format(&r->trace, tp);
    if (r->out_type) add(resp, "Content-Type", r->out_type);
    add(resp, "X-Request-ID", r->request_id);
    add(resp, "traceparent", tp);
    add(resp, "X-Content-Type-Options", "nosniff");
    add(resp, "Cache-Control", "no-store");
    add_policy(r, resp);
    add_cors(r, resp);
    if (r->code == XAI_UNAUTHORIZED) add(resp, "WWW-Authenticate", "Bearer realm=\"xaid\"");
    if (r->code == XAI_METHOD_NOT_ALLOWED || (r->preflight && r->status == 204))
        add(resp, "Allow", srv_route_allow(r->route));
    if (r->code == XAI_OVERLOADED || r->code == XAI_NOT_READY) add(resp, "Retry-After", "1");
    if (atomic_load(&r->srv->draining)) add(resp, "Connection", "close");
}

static enum MHD_Result send_answer(struct srv_req *r)
{
    struct MHD_Response *resp =
        r->out ? MHD_create_response_from_buffer(r->out_len, r->out, MHD_RESPMEM_MUST_FREE)
               : MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (!resp) return MHD_NO;
    r->out = NULL; /* libmicrohttpd frees it */
    r->bytes_out = r->out_len;
    srv_conn_phase(r->srv->conns, r->sc, SRV_PHASE_SEND);
    add_headers(r, resp);
    enum MHD_Result ok = MHD_queue_response(r->conn, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    return ok;
}

static enum MHD_Result send_error(struct srv_req *r, xai_status st, const char *msg)
{
    srv_answer_error(r, st, msg);
    return send_answer(r);
}

/* ---- phase 1: the headers ---- */

static xai_status check_auth(struct srv_req *r, struct xai_err *err)
{
    switch (srv_auth_check(&r->srv->tokens, header(r, "Authorization"), &r->token_id)) {
    case SRV_AUTH_OK:
        return XAI_OK;
    case SRV_AUTH_MISSING:
        return xai_fail(err, XAI_UNAUTHORIZED,
                        "this route needs the header Authorization: Bearer <token>");
    default:
        return xai_fail(err, XAI_FORBIDDEN, "the bearer token is not one this server accepts");
    }
}

/* Reserves n bytes of the body budget for r. */
static bool budget_take(struct srv_req *r, size_t n)
{
    struct srv_server *s = r->srv;
    size_t before = atomic_fetch_add(&s->body_bytes, n);
    if (before + n > s->body_budget) {
        atomic_fetch_sub(&s->body_bytes, n);
        return false;
    }
    r->budget_held += n;
    return true;
}

static xai_status check_body(struct srv_req *r, struct xai_err *err)
{
    size_t max = r->srv->cfg.max_body;
    xai_status st = srv_content_type(header(r, "Content-Type"), &r->enc, r->boundary, err);
    if (st) return st;
    r->body.max = max;
    const char *cl = header(r, "Content-Length");
    unsigned long long n = cl ? strtoull(cl, NULL, 10) : 0;
    if (n > max)
        return xai_fail(err, XAI_TOO_LARGE,
                        "the body (%llu bytes) is over this server's limit "
                        "of %zu bytes",
                        n, max);
    if (n && !budget_take(r, (size_t)n))
        return xai_fail(err, XAI_OVERLOADED, "too many request bodies in memory; retry shortly");
    return XAI_OK;
}

static xai_status check_headers(struct srv_req *r, struct xai_err *err)
{
    struct srv_server *s = r->srv;
    if (r->route == SRV_ROUTE_NONE)
        return xai_fail(err, XAI_NOT_FOUND,
                        "no such route; the API has POST /v1/models/{model}/explain, /predict, "
                        "/report, /features, /maximize and /embed, GET "
                        "/v1/models/{model}/filters, /v1/models, /v1/models/{model}, /v1/methods, "
                        "/v1/views, /healthz, /readyz, /metrics, and the viewer at /");
    bool api = srv_route_is_api(r->route);
    const char *origin = header(r, "Origin");
    if (origin && srv_cors_same_origin(origin, header(r, "Host"))) origin = NULL; /* viewer */
    if (api && origin && !srv_cors_allowed(&s->cors, origin))
        return xai_fail(err, XAI_FORBIDDEN, "this origin is not on the server's CORS allow-list");
    r->origin = api ? origin : NULL;
    if (api && !strcmp(r->http_method, "OPTIONS")) {
        r->preflight = true;
        return XAI_OK;
    }
    if (!srv_route_allows(r->route, r->http_method))
        return xai_fail(err, XAI_METHOD_NOT_ALLOWED, "this route takes %s",
                        srv_route_allow(r->route));
    xai_status st = api && s->tokens.n ? check_auth(r, err) : XAI_OK;
    if (st) return st;
    if (srv_route_has_model(r->route)) {
        for (int i = 0; i < s->repo->n_models && r->model < 0; i++)
            if (!strcmp(s->repo->models[i]->name, r->model_name)) r->model = i;
        if (r->model < 0)
            return xai_fail(err, XAI_NOT_FOUND, "no model of that name; GET /v1/models lists them");
    }
    if (r->route == SRV_ROUTE_MAXIMIZE && !header(r, "Content-Type")) return XAI_OK; /* none */
    return srv_route_has_body(r->route) ? check_body(r, err) : XAI_OK;
}

/* The request's state, from its request line (uri_seen) or, when that failed, its head. */
static struct srv_req *req_new(struct srv_server *s, struct MHD_Connection *conn)
{
    struct srv_req *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    *r = (struct srv_req){.srv = s, .conn = conn, .model = -1};
    r->t_start = xai_monotonic_s();
    r->t_wall = (double)now.tv_sec + (double)now.tv_nsec * 1e-9;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    r->sc = ci ? ci->socket_context : NULL;
    srv_request_id(NULL, r->request_id); /* replaced from the headers, if they come */
    srv_trace_init(NULL, &r->trace);
    atomic_fetch_add(&s->active, 1);
    return r;
}

/* Parameters in a query string, as libmicrohttpd splits them (at '&'). */
static int query_params(const char *q)
{
    int n = *q != '\0';
    for (; *q; q++) n += *q == '&';
    return n;
}

/* libmicrohttpd's URI callback: the request line is parsed, the headers are not, and the query
 * string is not split yet. Its return value becomes the handler's per-request pointer.
 *
 * libmicrohttpd 0.9.75 stores one record per query parameter in the connection's memory pool;
 * when thousands of them overflow it, it means to answer 431 but loses that answer and closes
 * the connection without a word. Past API_MAX_ARGS parameters (more than any route takes), the
 * query string is therefore ended at its first byte: uri points into the connection's own read
 * buffer, which libmicrohttpd splits in place right after this call, so it then finds no
 * parameter, and the handler answers 400 with the server's usual headers. */
static void *uri_seen(void *cls, const char *uri, struct MHD_Connection *conn)
{
    struct srv_req *r = req_new(cls, conn);
    char *q = r ? strchr(uri, '?') : NULL;
    if (q && query_params(q + 1) > API_MAX_ARGS) {
        r->query_refused = true;
        q[1] = '\0';
    }
    return r;
}

static enum MHD_Result first_call(struct srv_server *s, struct MHD_Connection *conn,
                                  const char *url, const char *method, void **con_cls)
{
    struct srv_req *r = *con_cls ? *con_cls : req_new(s, conn);
    if (!r) return MHD_NO;
    *con_cls = r;
    r->started = true;
    r->http_method = method;
    r->t_body = xai_monotonic_s();
    srv_conn_phase(s->conns, r->sc, SRV_PHASE_BODY);
    srv_request_id(header(r, "X-Request-ID"), r->request_id);
    srv_trace_init(header(r, "traceparent"), &r->trace);
    r->route = srv_route_match(url, r->model_name);
    r->url = url;
    struct xai_err err = {{0}};
    xai_status st = r->query_refused
                        ? xai_fail(&err, XAI_INVALID_ARGUMENT,
                                   "the query string has more than %d parameters", API_MAX_ARGS)
                        : check_headers(r, &err);
    return st ? send_error(r, st, err.msg) : MHD_YES;
}

/* ---- phase 2: the body ---- */

static enum MHD_Result upload(struct srv_req *r, const char *data, size_t n)
{
    struct srv_server *s = r->srv;
    r->bytes_in += n;
    if (xai_monotonic_s() - r->t_body > s->cfg.read_timeout) {
        r->cut_off = true; /* a slow client: close without an answer */
        return MHD_NO;
    }
    if (!srv_route_has_body(r->route) || r->preflight) /* read and dropped */
        return r->bytes_in > s->cfg.max_body ? MHD_NO : MHD_YES;
    if (r->body_st) /* dropped until the end, then answered (up to twice the cap) */
        return r->bytes_in / 2 > s->cfg.max_body ? MHD_NO : MHD_YES;
    struct xai_err err;
    size_t need = r->body.len + n;
    if (need > r->budget_held && !budget_take(r, need - r->budget_held + (1u << 20))) {
        r->body_st = XAI_OVERLOADED;
        srv_body_reset(&r->body);
        return MHD_YES;
    }
    xai_status st = srv_body_append(&r->body, data, n, &err);
    if (st) r->body_st = st;
    return MHD_YES;
}

/* ---- phase 3: the complete request ---- */

/* Body and query string into validated options (on this thread, before any queueing). */
static xai_status prepare_job(struct srv_req *r, struct xai_err *err)
{
    const struct api_model *m = r->srv->repo->models[r->model];
    if (srv_route_is_view(r->route)) return srv_view_prepare(r, err);
    xai_status st = srv_input_parse(r->enc, r->boundary, r->body.data, r->body.len, &r->input, err);
    if (st) return st;
    if (r->enc == SRV_ENC_JSON) srv_body_reset(&r->body); /* the image was decoded out of it */
    if ((st = srv_query_args(r->conn, &r->input.args, err))) return st;
    if (r->route == SRV_ROUTE_PREDICT) return api_predict_args_check(&r->input.args, err);
    if (r->route == SRV_ROUTE_REPORT) {
        r->report_json = srv_report_wants_json(header(r, "Accept"));
        st = api_report_parse(m, &r->input.args, &r->opts, err);
    } else {
        st = api_request_parse(m, &r->input.args, &r->opts, err);
    }
    if (!st) r->method_name = r->opts.method->name;
    return st;
}

/* The connection is no longer counted as suspended (see drain in srv_server.c). */
static void release(struct srv_req *r)
{
    if (r->held) atomic_fetch_sub(&r->srv->suspended, 1);
    r->held = false;
}

static enum MHD_Result queue_job(struct srv_req *r)
{
    struct srv_server *s = r->srv;
    struct xai_err err = {{0}};
    if (r->body_st == XAI_TOO_LARGE)
        return send_error(r, XAI_TOO_LARGE, "the body is over this server's limit");
    if (r->body_st)
        return send_error(r, r->body_st, "too many request bodies in memory; retry shortly");
    xai_status st = prepare_job(r, &err);
    if (st) return send_error(r, st, err.msg);
    /* counted before stopping is read, and the drain sets stopping before it reads the count:
     * either the drain waits for this connection, or this job is refused */
    atomic_fetch_add(&s->suspended, 1);
    r->held = true;
    if (atomic_load(&s->stopping)) {
        release(r);
        return send_error(r, XAI_NOT_READY, "the server is shutting down; retry");
    }
    if (!srv_pool_reserve(s->pool)) {
        release(r);
        return send_error(r, XAI_OVERLOADED,
                          "every worker is busy and the queue is full; retry "
                          "shortly");
    }
    r->job.run = srv_job_run;
    r->job.done = srv_job_done;
    r->job.deadline = xai_monotonic_s() + s->cfg.deadline_ms / 1e3;
    srv_conn_phase(s->conns, r->sc, SRV_PHASE_JOB);
    MHD_suspend_connection(r->conn); /* before commit: a worker may resume it at once */
    srv_pool_commit(s->pool, &r->job);
    return MHD_YES;
}

static enum MHD_Result complete(struct srv_req *r)
{
    if (r->job_done) { /* resumed after the job; nobody to answer when the client left */
        release(r);
        return r->client_gone ? MHD_NO : send_answer(r);
    }
    if (r->preflight) {
        r->status = 204;
        return send_answer(r);
    }
    if (srv_route_is_job(r->route)) return queue_job(r);
    srv_answer_get(r);
    return send_answer(r);
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *conn, const char *url,
                               const char *method, const char *version, const char *upload_data,
                               size_t *upload_size, void **con_cls)
{
    struct srv_req *r = *con_cls;
    if (!r || !r->started) return first_call(cls, conn, url, method, con_cls);
    if (*upload_size) {
        size_t n = *upload_size;
        *upload_size = 0;
        return upload(r, upload_data, n);
    }
    return complete(r);
}

/* ---- completion: log, metrics, cleanup ---- */

static int final_status(const struct srv_req *r, enum MHD_RequestTerminationCode toe)
{
    bool timeout =
        toe == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED || srv_conn_swept(r->srv->conns, r->sc);
    bool broken = toe == MHD_REQUEST_TERMINATED_WITH_ERROR ||
                  toe == MHD_REQUEST_TERMINATED_CLIENT_ABORT ||
                  toe == MHD_REQUEST_TERMINATED_READ_ERROR;
    if (r->cut_off || timeout) return 408; /* head, body or answer past --read-timeout */
    if (r->client_gone || srv_conn_gone(r->srv->conns, r->sc))
        return 499; /* left mid-head, mid-body, or while the job waited or ran */
    if (!r->started && toe == MHD_REQUEST_TERMINATED_WITH_ERROR)
        return 400; /* libmicrohttpd refused the head itself (400, or 431 past its memory) */
    if (r->status) return broken ? 499 : r->status; /* 499: the answer was cut short */
    if (toe == MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN) return 503;
    return 499; /* the client went away before an answer */
}

static void log_request(struct srv_req *r, int status, double seconds)
{
    struct srv_server *s = r->srv;
    if (!r->timing.total) r->timing.total = seconds * 1e3;
    srv_metrics_request(s->metrics, r->route, r->http_method, r->method_name, status, seconds);
    if (s->cfg.log_level > SRV_LOG_INFO) return;
    struct srv_access a = {r->t_wall,
                           r->request_id,
                           r->trace.trace_id,
                           srv_route_template(r->route),
                           r->model >= 0 ? s->repo->models[r->model]->name : NULL,
                           r->method_name,
                           r->http_method,
                           r->token_id,
                           status,
                           r->bytes_in,
                           r->bytes_out,
                           r->timing};
    srv_access_write(&a);
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    struct srv_req *r = *con_cls;
    if (!r) return;
    *con_cls = NULL;
    log_request(r, final_status(r, toe), xai_monotonic_s() - r->t_start);
    srv_conn_phase(r->srv->conns, r->sc, SRV_PHASE_HEAD); /* the next request's, if any */
    atomic_fetch_sub(&r->srv->body_bytes, r->budget_held);
    srv_input_reset(&r->input);
    srv_view_reset(r);
    srv_body_reset(&r->body);
    free(r->out);
    release(r);
    atomic_fetch_sub(&r->srv->active, 1);
    free(r);
}

/* libmicrohttpd's messages: debug lines; the first since the start began is kept, for a start-up
 * failure (the cause comes first, e.g. "GnuTLS failed to setup x509 certificate/key: ..."). */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    struct srv_server *s = cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    msg[strcspn(msg, "\n")] = '\0';
    pthread_mutex_lock(&s->mhd_log_lock);
    if (!s->mhd_error[0]) snprintf(s->mhd_error, sizeof s->mhd_error, "%s", msg);
    pthread_mutex_unlock(&s->mhd_log_lock);
    srv_logf(s->cfg.log_level, SRV_LOG_DEBUG, "libmicrohttpd: %s", msg);
}

/* A connection opens or closes: its entry in srv_conns (the socket context). */
static void conn_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                        enum MHD_ConnectionNotificationCode code)
{
    struct srv_server *s = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        *socket_context = ci ? srv_conn_open(s->conns, ci->connect_fd) : NULL;
        return;
    }
    srv_conn_close(s->conns, *socket_context);
    *socket_context = NULL;
}

static struct MHD_Daemon *start_daemon(struct srv_server *s, const struct sockaddr_in *sa)
{
    const struct srv_config *c = &s->cfg;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_ERROR_LOG | (s->tls.cert ? MHD_USE_TLS : 0);
    struct MHD_OptionItem tls[] = {
        {s->tls.cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, s->tls.cert},
        {MHD_OPTION_HTTPS_MEM_KEY, 0, s->tls.key},
        {MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)TLS_PRIORITIES},
        {MHD_OPTION_END, 0, NULL}};
    return MHD_start_daemon(
        flags, 0, NULL, NULL, handler, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s,
        MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)sa, MHD_OPTION_THREAD_POOL_SIZE,
        (unsigned)HTTP_THREADS, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)c->read_timeout,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)c->max_connections,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)c->max_per_ip,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, c->max_header, MHD_OPTION_URI_LOG_CALLBACK, uri_seen, s,
        MHD_OPTION_NOTIFY_CONNECTION, conn_notify, s, MHD_OPTION_NOTIFY_COMPLETED, completed, s,
        MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1, MHD_OPTION_ARRAY, tls, MHD_OPTION_END);
}

xai_status srv_http_start(struct srv_server *s, struct xai_err *err)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)s->cfg.port)};
    inet_pton(AF_INET, s->cfg.listen, &sa.sin_addr);
    xai_status st = srv_conns_start(s->cfg.read_timeout, true, &s->conns, err);
    if (st) return st;
    errno = 0;
    s->mhd_error[0] = '\0';
    s->mhd = start_daemon(s, &sa);
    bool tls_failed = s->tls.cert && (strstr(s->mhd_error, "TLS") || strstr(s->mhd_error, "x509"));
    if (!s->mhd && tls_failed)
        return xai_fail(err, XAI_INVALID_ARGUMENT,
                        "cannot serve HTTPS with --tls-cert and --tls-key (a PEM certificate "
                        "and its private key): libmicrohttpd: %s",
                        s->mhd_error);
    if (!s->mhd)
        return xai_fail(err, XAI_IO, "cannot listen on %s:%d (%s)", s->cfg.listen, s->cfg.port,
                        errno             ? strerror(errno)
                        : s->mhd_error[0] ? s->mhd_error
                                          : "libmicrohttpd refused to start");
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_BIND_PORT);
    if (info && info->port) s->cfg.port = info->port;
    return XAI_OK;
}
