/*
 * test_alloc.c - allocation-failure injection (issue 8), in the manner of SQLite's malloc tests:
 * an operation is run once for every allocation it makes, with that allocation failing
 * (tests/alloc/alloc_run.h), and every run must end with an error status (or the same result,
 * when a fallback absorbed the failure), free everything it allocated, and not crash or hang.
 *
 *   test_alloc load DIR                  api_model_load of a model folder, then api_model_free
 *   test_alloc onnx FILE                 xai_model_load of an ONNX file, then xai_model_free
 *   test_alloc explain DIR IMAGE NAME=VALUE...
 *                                        one explain request as the server's worker runs it:
 *                                        parameters as text (api_request_parse), decode, forward,
 *                                        method, PNG renders, the answer JSON (api/request.h),
 *                                        serialised; on a session made before (a worker's), which
 *                                        must then still answer the same
 *   test_alloc serve DIR [TOKENS]        server start-up and stop: configuration, models, bearer
 *                                        tokens (when a tokens file is given), CORS origins, the
 *                                        answers made once, metrics, the worker pool (2
 *                                        workers), libmicrohttpd
 *   test_alloc selftest                  the check itself: an operation that handles failures
 *                                        passes, ones that leak, crash, ignore a failure or hang
 *                                        are caught
 * options: --persistent (every allocation from the N-th on fails), --from N, --to N (one range
 * of N instead of all), --trace N (print where allocation N is made, in the run without
 * failures), --timeout S (per run, default 60). ALLOC_DUMP=1 in the environment prints each
 * result's JSON (what a run that "succeeded with a different result" lost).
 *
 * The counting covers every allocation of the process during the operation: xaid's, jansson's,
 * libpng's, libjpeg's, protobuf-c's, libmicrohttpd's, OpenBLAS's and glibc's own (stdio, strdup,
 * pthread_create...). What a library allocates once per process (glibc's stdio buffers, libgcc's
 * unwinder, jansson's hash seed) happens in a warm-up run before the counted one. OpenBLAS runs
 * with OPENBLAS_NUM_THREADS=1 (the test sets it and re-executes itself), as the server does, and
 * glibc keeps no stacks of ended threads (see environment()).
 *
 * This executable defines malloc & co. (alloc_shim.c), so it is built only without sanitizers
 * (AddressSanitizer owns malloc) and finds leaks by itself: a normal build, Debug or Release.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc_run.h"
#include "alloc_shim.h"
#include "json_mem.h"
#include "json_out.h"
#include "model_repo.h"
#include "request.h"
#include "srv_server.h"

/* FNV-1a of a text, as 16 hex digits. */
static void digest_of(const char *text, size_t len, char out[ALLOC_DIGEST_MAX])
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)text[i]) * 0x100000001b3ULL;
    snprintf(out, ALLOC_DIGEST_MAX, "%016llx", (unsigned long long)h);
}

static int fail_msg(char *msg, size_t n, xai_status st, const struct xai_err *err)
{
    snprintf(msg, n, "%s: %s", xai_status_code(st), err->msg);
    return 1;
}

/* Serialises j (stolen) and digests it; 1 when out of memory. */
static int digest_json(json_t *j, char digest[ALLOC_DIGEST_MAX], char *msg, size_t n)
{
    char *s = j ? api_json_dumps(j, API_JSON_FLAGS | JSON_COMPACT) : NULL; /* as the server */
    json_decref(j);
    if (!s) {
        snprintf(msg, n, "out of memory for the JSON");
        return 1;
    }
    digest_of(s, strlen(s), digest);
    if (getenv("ALLOC_DUMP")) fprintf(stderr, "%s\n", s);
    free(s);
    return 0;
}

/* ---- load: a model folder ---- */

/* What a loaded graph looks like: its sizes, and every value's name, shape and producer. */
static void engine_digest(const xai_model *m, char digest[ALLOC_DIGEST_MAX])
{
    uint64_t h = 0;
    char text[256];
    for (int v = -1; v < m->n_values; v++) {
        int len = v < 0 ? snprintf(text, sizeof text, "%d %d %lld %lld %lld", m->n_values,
                                   m->n_nodes, (long long)m->n_params, (long long)m->fixed_batch,
                                   (long long)xai_model_macs(m))
                        : snprintf(text, sizeof text, "%s %d %lld %lld %d", m->values[v].name,
                                   m->values[v].shape.ndim,
                                   (long long)xai_shape_numel(&m->values[v].shape),
                                   (long long)m->values[v].batch_dims, m->values[v].producer);
        char d[ALLOC_DIGEST_MAX];
        digest_of(text, (size_t)len, d);
        h = h * 31 + strtoull(d, NULL, 16);
    }
    snprintf(digest, ALLOC_DIGEST_MAX, "%016llx", (unsigned long long)h);
}

static int run_load(void *ctx, char digest[ALLOC_DIGEST_MAX], char *msg, size_t n)
{
    struct xai_err err = {{0}};
    struct api_model *m = NULL;
    xai_status st = api_model_load(ctx, &m, &err);
    if (st) return fail_msg(msg, n, st, &err);
    char info[ALLOC_DIGEST_MAX], engine[ALLOC_DIGEST_MAX];
    int rc = digest_json(api_model_info_json(m), info, msg, n);
    engine_digest(m->engine, engine);
    snprintf(digest, ALLOC_DIGEST_MAX, "%.16s%.16s", info, engine);
    api_model_free(m);
    return rc;
}

/* ---- onnx: an ONNX file through the engine alone ---- */

static int run_onnx(void *ctx, char digest[ALLOC_DIGEST_MAX], char *msg, size_t n)
{
    struct xai_err err = {{0}};
    xai_model *m = NULL;
    xai_status st = xai_model_load(ctx, &m, &err);
    if (st) return fail_msg(msg, n, st, &err);
    engine_digest(m, digest);
    xai_model_free(m);
    return 0;
}

/* ---- explain: one request on a worker's session ---- */

#define NAMES_MAX 1024 /* the NAME=VALUE texts together */

struct explain_ctx {
    struct api_model *model;
    xai_session *session;
    unsigned char *image;
    size_t image_len;
    int n_params;
    char **params; /* NAME=VALUE */
};

static xai_status add_params(const struct explain_ctx *c, struct api_args *a, char *names,
                             struct xai_err *err)
{
    /* names: a copy of the NAME=VALUE texts, cut at '=' */
    for (int i = 0; i < c->n_params; i++) {
        char *eq = strchr(names, '=');
        if (!eq) return xai_fail(err, XAI_INVALID_ARGUMENT, "parameter without '='");
        *eq = '\0';
        xai_status st = api_args_add_text(a, names, eq + 1, err);
        if (st) return st;
        names = eq + 1 + strlen(eq + 1) + 1;
    }
    return XAI_OK;
}

static int explain_once(struct explain_ctx *c, char digest[ALLOC_DIGEST_MAX], char *msg, size_t n)
{
    struct xai_err err = {{0}};
    struct api_args a = {0};
    struct api_explain_opts o;
    struct api_explanation e;
    struct api_timing t = {0};
    char names[NAMES_MAX], *p = names;    /* main_explain checked the length */
    for (int i = 0; i < c->n_params; i++) /* NAME=VALUE\0NAME=VALUE\0... */
        p += snprintf(p, sizeof names - (size_t)(p - names), "%s", c->params[i]) + 1;
    xai_status st = add_params(c, &a, names, &err);
    if (!st) st = api_request_parse(c->model, &a, &o, &err);
    if (st) return fail_msg(msg, n, st, &err);
    st = api_run_explain(c->model, c->session, c->image, c->image_len, &o, &e, &t, &err);
    if (st) return fail_msg(msg, n, st, &err);
    struct api_timing zero = {0}; /* timings would change the digest */
    int rc = digest_json(api_explain_answer("alloc-test", c->model, &o, &e, &zero), digest, msg, n);
    api_explanation_reset(&e);
    return rc;
}

static int run_explain(void *ctx, char digest[ALLOC_DIGEST_MAX], char *msg, size_t n)
{
    return explain_once(ctx, digest, msg, n);
}

/* The worker's session answers the next request as if nothing had happened. */
static int after_explain(void *ctx, const char *want, char *msg, size_t n)
{
    char digest[ALLOC_DIGEST_MAX];
    if (explain_once(ctx, digest, msg, n)) return 1;
    if (!strcmp(digest, want)) return 0;
    snprintf(msg, n, "the session's next request answers differently (%s, expected %s)", digest,
             want);
    return 1;
}

/* ---- serve: start-up and stop ---- */

struct serve_ctx {
    int argc;
    char **argv;
};

static int run_serve(void *ctx, char digest[ALLOC_DIGEST_MAX], char *msg, size_t n)
{
    struct serve_ctx *c = ctx;
    struct srv_config cfg;
    struct srv_server *s = NULL;
    struct xai_err err = {{0}};
    int help = 0;
    xai_status st = srv_config_load(c->argc, c->argv, &cfg, &help, &err);
    if (!st) st = srv_server_start(&cfg, &s, &err);
    if (st) return fail_msg(msg, n, st, &err);
    /* the answers made at start: a member lost there would be lost for the server's life */
    uint64_t h = 0;
    for (int i = -3; i < s->repo->n_models; i++) {
        const struct srv_blob *b = i == -3   ? &s->models_json
                                   : i == -2 ? &s->methods_json
                                   : i == -1 ? &s->views_json
                                             : &s->model_json[i];
        digest_of(b->data, b->len, digest);
        h = h * 31 + strtoull(digest, NULL, 16);
    }
    snprintf(digest, ALLOC_DIGEST_MAX, "%016llx", (unsigned long long)h);
    srv_server_free(s);
    return 0;
}

/* ---- selftest: the check catches what it is for ---- */

enum bad { BAD_NONE, BAD_LEAK, BAD_CRASH, BAD_WRONG, BAD_HANG };

/* Two allocations, handled well (BAD_NONE) or in one of the ways the check must catch. */
static int run_bad(void *ctx, char digest[ALLOC_DIGEST_MAX], char *msg, size_t n)
{
    enum bad kind = *(enum bad *)ctx;
    char *volatile a = malloc(16);
    char *volatile b = malloc(16);
    if (kind == BAD_CRASH) a[0] = b[0] = 1; /* no check: a NULL write */
    if (kind == BAD_HANG && (!a || !b))
        for (;;) pause();
    if (kind == BAD_WRONG) { /* a failure ignored: success with another result */
        snprintf(digest, ALLOC_DIGEST_MAX, "%d%d", a != NULL, b != NULL);
        free(a);
        free(b);
        return 0;
    }
    if (!a || !b) {
        snprintf(msg, n, "out of memory");
        if (kind != BAD_LEAK) free(a), free(b); /* BAD_LEAK forgets the one it got */
        return 1;
    }
    snprintf(digest, ALLOC_DIGEST_MAX, "ok");
    free(a);
    free(b);
    return 0;
}

static int selftest(void)
{
    static const char *const names[] = {"none", "leak", "crash", "wrong", "hang"};
    int bad = 0;
    for (enum bad k = BAD_NONE; k <= BAD_HANG; k++) {
        char name[32];
        snprintf(name, sizeof name, "selftest-%s", names[k]);
        struct alloc_op op = {name, &k, run_bad, NULL};
        struct alloc_opts o = {.timeout_s = 1, .command = "test_alloc selftest"};
        int rc = alloc_run_every(&op, &o);
        bool ok = (rc != 0) == (k != BAD_NONE);
        printf("%s: %s\n", name,
               ok ? (k == BAD_NONE ? "passes, as it should" : "caught, as it should")
                  : (k == BAD_NONE ? "FAILS A CORRECT OPERATION" : "MISSED"));
        bad |= !ok;
    }
    return bad;
}

/* ---- main ---- */

static int usage(void)
{
    fprintf(stderr, "usage: test_alloc load DIR | onnx FILE | explain DIR IMAGE NAME=VALUE... | "
                    "serve DIR [TOKENS] | selftest  [--persistent] [--from N] [--to N] [--trace N] "
                    "[--timeout S]\n");
    return 2;
}

static unsigned char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *b = NULL;
    long size = -1;
    if (f && !fseek(f, 0, SEEK_END) && (size = ftell(f)) >= 0 && !fseek(f, 0, SEEK_SET) &&
        (b = malloc((size_t)size + 1)) && fread(b, 1, (size_t)size, f) == (size_t)size) {
        *len = (size_t)size;
    } else {
        free(b);
        b = NULL;
        fprintf(stderr, "cannot read %s\n", path);
    }
    if (f) fclose(f);
    return b;
}

/* The trailing options; returns the number of positional arguments, or -1. */
static int options(int argc, char **argv, struct alloc_opts *o)
{
    int pos = argc;
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "--", 2)) continue;
        if (pos == argc) pos = i;
        if (!strcmp(argv[i], "--persistent")) {
            o->persistent = true;
            continue;
        }
        if (i + 1 >= argc) return -1;
        unsigned long v = strtoul(argv[++i], NULL, 10);
        if (!strcmp(argv[i - 1], "--from"))
            o->from = v;
        else if (!strcmp(argv[i - 1], "--to"))
            o->to = v;
        else if (!strcmp(argv[i - 1], "--trace"))
            alloc_shim_trace(v);
        else if (!strcmp(argv[i - 1], "--timeout"))
            o->timeout_s = (int)v;
        else
            return -1;
    }
    return pos;
}

/* The environment the counts assume, read by libraries when they are loaded: set it and start
 * again. OpenBLAS on one thread (as the server calls it); glibc's cache of the stacks of ended
 * threads off, because a cached stack keeps the TLS block calloc'd for its thread, which would
 * show as a leak of whichever run started the thread (with it off, a thread never joined shows
 * as one). */
#define TUNABLES "glibc.pthread.stack_cache_size=0"
static void environment(char **argv)
{
    const char *v = getenv("OPENBLAS_NUM_THREADS"), *t = getenv("GLIBC_TUNABLES");
    if (v && !strcmp(v, "1") && t && !strcmp(t, TUNABLES)) return;
    setenv("OPENBLAS_NUM_THREADS", "1", 1);
    setenv("GLIBC_TUNABLES", TUNABLES, 1);
    execv("/proc/self/exe", argv);
    perror("execv /proc/self/exe");
    exit(2);
}

static int main_explain(int npos, char **argv, const struct alloc_opts *o)
{
    struct explain_ctx c = {.n_params = npos - 4, .params = argv + 4};
    struct xai_err err = {{0}};
    size_t text = 0;
    for (int i = 4; i < npos; i++) text += strlen(argv[i]) + 1;
    if (npos < 4 || text > NAMES_MAX) return usage();
    if (api_model_load(argv[2], &c.model, &err) ||
        xai_session_new(c.model->engine, &c.session, &err)) {
        fprintf(stderr, "%s: %s\n", argv[2], err.msg);
        return 1;
    }
    if (!(c.image = read_all(argv[3], &c.image_len))) return 1;
    struct alloc_op op = {"explain", &c, run_explain, after_explain};
    int rc = alloc_run_every(&op, o);
    xai_session_free(c.session);
    api_model_free(c.model);
    free(c.image);
    return rc;
}

static int main_serve(int npos, char **argv, const struct alloc_opts *o)
{
    if (npos != 3 && npos != 4) return usage();
    /* clang-format off */
    char *args[] = {"serve", "--listen", "127.0.0.1", "--port", "0", "--models", argv[2],
                    "--workers", "2", "--queue", "4",
                    "--cors-origins", "https://a.example,https://b.example:8443",
                    "--log-level", "error", "--tokens", argv[3], NULL};
    /* clang-format on */
    int argc = (int)(sizeof args / sizeof args[0]) - (npos == 4 ? 1 : 3);
    struct serve_ctx c = {argc, args};
    struct alloc_op op = {"serve", &c, run_serve, NULL};
    return alloc_run_every(&op, o);
}

int main(int argc, char **argv)
{
    environment(argv);
    struct alloc_opts o = {.timeout_s = 60};
    int npos = options(argc, argv, &o);
    char command[4096];
    size_t off = 0;
    for (int i = 0; i < npos && off < sizeof command; i++)
        off += (size_t)snprintf(command + off, sizeof command - off, "%s%s", i ? " " : "", argv[i]);
    if (o.persistent && off < sizeof command)
        snprintf(command + off, sizeof command - off, " --persistent");
    o.command = command;
    if (npos < 2) return usage();
    if (!strcmp(argv[1], "load") && npos == 3) {
        struct alloc_op op = {"load", argv[2], run_load, NULL};
        return alloc_run_every(&op, &o);
    }
    if (!strcmp(argv[1], "onnx") && npos == 3) {
        struct alloc_op op = {"onnx", argv[2], run_onnx, NULL};
        return alloc_run_every(&op, &o);
    }
    if (!strcmp(argv[1], "explain")) return main_explain(npos, argv, &o);
    if (!strcmp(argv[1], "selftest") && npos == 2) return selftest();
    if (!strcmp(argv[1], "serve")) return main_serve(npos, argv, &o);
    return usage();
}
