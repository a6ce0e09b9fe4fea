/*
 * srv_server.c - `xaid serve`: start, wait for a signal, drain, stop.
 *
 * THREADS. libmicrohttpd runs HTTP_THREADS polling threads (srv_http.c): they accept, read and
 * check requests, parse bodies and validate parameters, and never run a model. A fixed pool of
 * workers (srv_pool.c; --workers, default the CPUs the process may use) runs explain and
 * predict, each on its own engine sessions (one xai_session per model per worker; the loaded
 * models are immutable and shared) and calling OpenBLAS single-threaded. A watchdog thread
 * answers queued jobs whose deadline passed.
 *
 * QUEUE. At most --queue jobs wait beyond the idle workers; one more is answered 503 with
 * Retry-After at once. The HTTP thread suspends the connection while its job waits and runs;
 * the worker resumes it with the answer (srv_http.c). Jobs past --deadline-ms are abandoned
 * (504): in the queue by the watchdog, while running by the session's deadline, which the engine
 * checks between nodes.
 *
 * DRAIN. SIGTERM or SIGINT (blocked in every thread of ours and taken by the main thread; a
 * self-pipe for the threads libraries start) turns /readyz to 503, closes the listening socket
 * (MHD_quiesce_daemon), lets every request already begun finish (each answer then closes its
 * connection; a job that comes after that on a connection kept alive is answered 503 not_ready),
 * stops the daemon and the workers, and exits 0.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "blas_tune.h"
#include "json_mem.h"
#include "json_out.h"
#include "srv_log.h"
#include "srv_server.h"

/* SIGTERM and SIGINT are blocked in the main thread before any thread starts, so every thread
 * of ours inherits the block and the main thread takes them with sigtimedwait. A thread a library
 * started before main (OpenBLAS's) may still receive them: the handler then writes the signal to
 * a self-pipe, which the main thread also watches. These two descriptors are the only global. */
static int signal_pipe[2] = {-1, -1};

static void on_signal(int sig)
{
    int saved = errno;
    char c = (char)sig;
    if (write(signal_pipe[1], &c, 1) < 0) { /* full: a signal is already pending */
    }
    errno = saved;
}

static void term_set(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
}

static int install_signals(void)
{
    if (pipe(signal_pipe)) return -1;
    for (int i = 0; i < 2; i++) {
        fcntl(signal_pipe[i], F_SETFD, FD_CLOEXEC);
        fcntl(signal_pipe[i], F_SETFL, O_NONBLOCK);
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigset_t term;
    term_set(&term);
    if (sigaction(SIGTERM, &sa, NULL) || sigaction(SIGINT, &sa, NULL) ||
        pthread_sigmask(SIG_BLOCK, &term, NULL))
        return -1;
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

static int wait_signal(void)
{
    sigset_t term;
    term_set(&term);
    for (;;) {
        struct timespec tick = {0, 200 * 1000 * 1000};
        int sig = sigtimedwait(&term, NULL, &tick);
        char c;
        if (sig > 0) return sig;
        if (read(signal_pipe[0], &c, 1) == 1) return c;
    }
}

static void close_signals(void)
{
    for (int i = 0; i < 2; i++)
        if (signal_pipe[i] >= 0) close(signal_pipe[i]);
}

/* ---- the answers made once ---- */

static xai_status blob(json_t *j, struct srv_blob *b, struct xai_err *err)
{
    b->data = j ? api_json_dumps(j, API_JSON_FLAGS | JSON_COMPACT) : NULL;
    json_decref(j);
    b->len = b->data ? strlen(b->data) : 0;
    return b->data ? XAI_OK : xai_fail(err, XAI_NO_MEMORY, "out of memory");
}

static xai_status make_blobs(struct srv_server *s, struct xai_err *err)
{
    const struct api_repo *repo = s->repo;
    json_t *list = json_array();
    s->model_json = calloc((size_t)repo->n_models, sizeof *s->model_json);
    s->labels = calloc((size_t)repo->n_models, sizeof *s->labels);
    if (!list || !s->model_json || !s->labels) {
        json_decref(list);
        return xai_fail(err, XAI_NO_MEMORY, "out of memory");
    }
    xai_status st = XAI_OK;
    for (int i = 0; !st && i < repo->n_models; i++) {
        const struct api_model *m = repo->models[i];
        json_t *info = api_model_info_json(m);
        if (!info || json_array_append(list, info)) {
            json_decref(info);
            st = xai_fail(err, XAI_NO_MEMORY, "out of memory");
            break;
        }
        st = blob(info, &s->model_json[i], err);
        s->labels[i] = (struct srv_model_label){m->name, m->version, m->sha256};
    }
    if (!st)
        st = blob(json_pack("{s:o}", "models", list), &s->models_json, err);
    else
        json_decref(list);
    if (!st) st = blob(json_pack("{s:o}", "methods", api_methods_json()), &s->methods_json, err);
    if (!st) st = blob(json_pack("{s:o}", "views", api_views_json()), &s->views_json, err);
    return st;
}

/* ---- start and stop ---- */

static xai_status start(struct srv_server *s, struct xai_err *err)
{
    const struct srv_config *c = &s->cfg;
    xai_blas_set_threads(1);
    xai_status st = api_repo_load(c->models, &s->repo, err);
    if (!st && c->tokens) st = srv_tokens_load(c->tokens, &s->tokens, err);
    if (!st && c->tls_cert) st = srv_tls_load(c->tls_cert, c->tls_key, &s->tls, err);
    if (!st) st = srv_cors_parse(c->cors_origins, &s->cors, err);
    if (!st) st = make_blobs(s, err);
    if (!st && !(s->metrics = srv_metrics_new()))
        st = xai_fail(err, XAI_NO_MEMORY, "out of memory");
    s->body_budget = c->max_body * (size_t)(c->workers + c->queue + 4);
    struct srv_pool_hooks hooks = {srv_worker_init, srv_worker_fini, s};
    if (!st) st = srv_pool_start(c->workers, c->queue, &hooks, &s->pool, err);
    if (!st) st = srv_http_start(s, err);
    return st;
}

void srv_server_free(struct srv_server *s)
{
    if (!s) return;
    if (s->mhd) MHD_stop_daemon(s->mhd);
    srv_conns_stop(s->conns);
    srv_pool_stop(s->pool);
    srv_metrics_free(s->metrics);
    for (int i = 0; s->model_json && s->repo && i < s->repo->n_models; i++)
        free(s->model_json[i].data);
    free(s->model_json);
    free(s->labels);
    free(s->models_json.data);
    free(s->methods_json.data);
    free(s->views_json.data);
    srv_cors_reset(&s->cors);
    srv_tokens_reset(&s->tokens);
    srv_tls_reset(&s->tls);
    api_repo_free(s->repo);
    pthread_mutex_destroy(&s->mhd_log_lock);
    free(s);
}

xai_status srv_server_start(const struct srv_config *c, struct srv_server **out,
                            struct xai_err *err)
{
    struct srv_server *s = calloc(1, sizeof *s);
    *out = NULL;
    if (!s) return xai_fail(err, XAI_NO_MEMORY, "out of memory");
    pthread_mutex_init(&s->mhd_log_lock, NULL);
    s->cfg = *c;
    xai_status st = start(s, err);
    if (st) {
        srv_server_free(s);
        return st;
    }
    atomic_store(&s->ready, true);
    *out = s;
    return XAI_OK;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) && errno == EINTR) {
    }
}

/* Stops accepting, then waits for the requests begun to complete. Past the longest a request may
 * take (its upload, its deadline, a margin), waits only for the jobs: the daemon must not stop
 * while a connection is suspended (libmicrohttpd aborts the process). So jobs are refused from
 * then on (stopping), and the drain waits until every suspended connection is back in the
 * handler, then a little for those answers to be sent. */
static void drain(struct srv_server *s)
{
    atomic_store(&s->ready, false);
    atomic_store(&s->draining, true);
    MHD_socket fd = MHD_quiesce_daemon(s->mhd);
    if (fd != MHD_INVALID_SOCKET) close(fd);
    double limit = xai_monotonic_s() + s->cfg.read_timeout + s->cfg.deadline_ms / 1e3 + 5;
    while (atomic_load(&s->active) > 0 && xai_monotonic_s() < limit) sleep_ms(10);
    atomic_store(&s->stopping, true);
    while (atomic_load(&s->suspended) > 0) sleep_ms(10);
    double sent = xai_monotonic_s() + 2;
    while (atomic_load(&s->active) > 0 && xai_monotonic_s() < sent) sleep_ms(10);
}

static void report_start(const struct srv_server *s)
{
    const struct srv_config *c = &s->cfg;
    for (int i = 0; i < s->repo->n_models; i++)
        srv_logf(c->log_level, SRV_LOG_INFO, "model %s %s sha256 %s", s->repo->models[i]->name,
                 s->repo->models[i]->version, s->repo->models[i]->sha256);
    srv_logf(c->log_level, SRV_LOG_INFO,
             "%d workers, queue %d, max body %zu bytes, deadline %d ms, read timeout %d s, "
             "connections %d (per address %d), head %zu bytes, auth %s, CORS origins %d, TLS %s",
             c->workers, c->queue, c->max_body, c->deadline_ms, c->read_timeout, c->max_connections,
             c->max_per_ip, c->max_header, s->tokens.n ? "bearer" : "off", s->cors.n,
             s->tls.cert ? "on" : "off");
    fprintf(stderr, "xaid: listening on %s://%s:%d\n", s->tls.cert ? "https" : "http", c->listen,
            c->port);
    fflush(stderr);
}

int srv_serve(int argc, char **argv)
{
    struct srv_config cfg;
    struct srv_server *s = NULL;
    struct xai_err err = {{0}};
    int help = 0;
    xai_status st = srv_config_load(argc, argv, &cfg, &help, &err);
    if (st || help) {
        if (st) fprintf(stderr, "xaid serve: %s\n", err.msg);
        srv_config_usage();
        return st ? 2 : 0;
    }
    if (install_signals() || (st = srv_server_start(&cfg, &s, &err))) {
        fprintf(stderr, "xaid serve: %s (%s)\n", st ? err.msg : "cannot install signal handlers",
                xai_status_code(st));
        close_signals();
        return 1;
    }
    report_start(s);
    int sig = wait_signal();
    srv_logf(s->cfg.log_level, SRV_LOG_INFO, "signal %d: draining", sig);
    drain(s);
    srv_server_free(s);
    close_signals();
    srv_logf(SRV_LOG_INFO, SRV_LOG_INFO, "stopped");
    return 0;
}
