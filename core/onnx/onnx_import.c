/*
 * onnx_import.c - xai_model_load: from ONNX bytes to an immutable struct xai_model.
 *
 * Owns the entry points and the order of the import; the steps live in the other onnx_*.c
 * files (listed in onnx_internal.h). The file is mapped whole (at most 2 GiB), hashed with
 * sha256 (nettle), pre-scanned for nesting depth, parsed with protobuf-c and unmapped; then:
 * value table -> topological sort -> node pass (aliases, folding, BatchNorm folding, runtime
 * nodes) -> outputs, batch check, parameter count, unused values removed.
 *
 * Contract with op authors (see op.h): init gets in_present/in_const/in_shape for every
 * input; in_const is non-NULL for every constant input, float or int64 (int64 ones may carry
 * batch flags); in_shape holds shapes at batch 1 (at the fixed batch for fixed-batch models).
 * The pointers stay valid for the model's life. A failing init must free what it allocated
 * and leave nothing in *params for the loader to free. infer is called twice for
 * dynamic-batch models (batch 1 and batch 2) and its messages are prefixed with the node.
 */
#include <errno.h>
#include <fcntl.h>
#include <nettle/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "onnx_internal.h"

void xai_sha256_hex(const void *buf, size_t len, char out[65])
{
    struct sha256_ctx ctx;
    uint8_t digest[SHA256_DIGEST_SIZE];
    sha256_init(&ctx);
    sha256_update(&ctx, len, buf);
    sha256_digest(&ctx, SHA256_DIGEST_SIZE, digest);
    for (int i = 0; i < SHA256_DIGEST_SIZE; i++) snprintf(out + 2 * i, 3, "%02x", digest[i]);
}

static xai_status read_opset(const Xonnx__ModelProto *mp, int *opset, struct xai_err *err)
{
    for (size_t i = 0; i < mp->n_opset_import; i++) {
        const Xonnx__OperatorSetIdProto *o = mp->opset_import[i];
        if (o->domain && o->domain[0] && strcmp(o->domain, "ai.onnx")) continue;
        if (o->version < XAI_ONNX_OPSET_MIN || o->version > XAI_ONNX_OPSET_MAX)
            return xai_fail(err, XAI_UNSUPPORTED,
                            "opset %lld is not supported; xaid reads opsets %d to %d (PyTorch "
                            "exports with opset_version in that range)",
                            (long long)o->version, XAI_ONNX_OPSET_MIN, XAI_ONNX_OPSET_MAX);
        *opset = (int)o->version;
        return XAI_OK;
    }
    return xai_fail(err, XAI_BAD_MODEL, "the model declares no opset for the default ONNX domain");
}

static char *producer(const Xonnx__ModelProto *mp)
{
    const char *a = mp->producer_name ? mp->producer_name : "";
    const char *b = mp->producer_version ? mp->producer_version : "";
    size_t n = strlen(a) + strlen(b) + 2;
    char *s = malloc(n);
    if (s) snprintf(s, n, "%s%s%s", a, a[0] && b[0] ? " " : "", b);
    return s;
}

static xai_status build(const Xonnx__ModelProto *mp, size_t len, const char *sha256,
                        const struct xai_onnx_opts *opts, xai_model **out, struct xai_err *err)
{
    int64_t budget = len < (size_t)XAI_FOLD_MAX_TOTAL ? (int64_t)len : XAI_FOLD_MAX_TOTAL;
    if (budget < XAI_FOLD_MIN_TOTAL) budget = XAI_FOLD_MIN_TOTAL;
    struct imp im = {.opts = opts, .g = mp->graph, .err = err, .batch1 = 1, .budget = budget};
    if (!mp->graph) return xai_fail(err, XAI_BAD_MODEL, "the model has no graph");
    xai_status st = read_opset(mp, &im.opset, err);
    if (st) return st;
    im.m = calloc(1, sizeof *im.m);
    if (!im.m) return xai_fail(err, XAI_NO_MEMORY, "out of memory loading the model");
    im.m->input = -1;
    im.m->opset = im.opset;
    im.m->producer = producer(mp);
    memcpy(im.m->sha256, sha256, sizeof im.m->sha256);
    if (!im.m->producer) st = xai_fail(err, XAI_NO_MEMORY, "out of memory loading the model");
    if (!st) st = xai_imp_build_values(&im);
    if (!st) st = xai_imp_toposort(&im);
    if (!st) st = xai_imp_run_nodes(&im);
    if (!st) st = xai_imp_finish(&im);
    xai_imp_free(&im);
    if (st)
        xai_model_free(im.m);
    else
        *out = im.m;
    return st;
}

/* Checks, hashes and parses the bytes of a model. */
static xai_status parse(const void *buf, size_t len, char sha256[65], Xonnx__ModelProto **mp,
                        struct xai_err *err)
{
    if (!buf || len == 0) return xai_fail(err, XAI_BAD_MODEL, "the model is empty (0 bytes)");
    if (len > XAI_ONNX_MAX_BYTES)
        return xai_fail(err, XAI_TOO_LARGE, "the model is larger than %zu bytes",
                        XAI_ONNX_MAX_BYTES);
    xai_status st = xai_onnx_check_depth(buf, len, XAI_ONNX_MAX_GRAPH_DEPTH, err);
    if (st) return st;
    *mp = xonnx__model_proto__unpack(NULL, len, buf);
    if (!*mp)
        return xai_fail(err, XAI_BAD_MODEL,
                        "not an ONNX model: the protobuf data does not parse (truncated or "
                        "corrupt file?)");
    xai_sha256_hex(buf, len, sha256);
    return XAI_OK;
}

/* Builds the model from a parsed message, then frees the message (build takes the data of
 * the initializers out of it as it goes). */
static xai_status build_and_free(Xonnx__ModelProto *mp, size_t len, const char *sha256,
                                 const struct xai_onnx_opts *opts, xai_model **out,
                                 struct xai_err *err)
{
    xai_status st = build(mp, len, sha256, opts, out, err);
    xonnx__model_proto__free_unpacked(mp, NULL);
    return st;
}

static xai_status load(const void *buf, size_t len, const struct xai_onnx_opts *opts,
                       xai_model **out, struct xai_err *err)
{
    Xonnx__ModelProto *mp = NULL;
    char sha256[65];
    xai_status st = parse(buf, len, sha256, &mp, err);
    return st ? st : build_and_free(mp, len, sha256, opts, out, err);
}

xai_status xai_onnx_load(const void *buf, size_t len, const struct xai_onnx_opts *opts,
                         xai_model **out, struct xai_err *err)
{
    struct xai_err e = {{0}}; /* the steps write messages freely, even when err is NULL */
    if (!out) return xai_fail(err, XAI_INVALID_ARGUMENT, "no place to store the model");
    *out = NULL;
    xai_status st = load(buf, len, opts, out, &e);
    if (st && err) *err = e;
    return st;
}

xai_status xai_model_load_buffer(const void *buf, size_t len, xai_model **out, struct xai_err *err)
{
    return xai_onnx_load(buf, len, NULL, out, err);
}

static xai_status open_model(const char *path, int *fd, size_t *size, struct xai_err *err)
{
    struct stat st;
    *fd = open(path, O_RDONLY | O_CLOEXEC);
    if (*fd < 0)
        return xai_fail(err, errno == ENOENT ? XAI_NOT_FOUND : XAI_IO, "cannot open '%s': %s", path,
                        strerror(errno));
    xai_status s = XAI_OK;
    if (fstat(*fd, &st) != 0)
        s = xai_fail(err, XAI_IO, "cannot stat '%s': %s", path, strerror(errno));
    else if (!S_ISREG(st.st_mode))
        s = xai_fail(err, XAI_IO, "'%s' is not a regular file", path);
    else if ((uint64_t)st.st_size > XAI_ONNX_MAX_BYTES)
        s = xai_fail(err, XAI_TOO_LARGE, "'%s' is larger than %zu bytes", path, XAI_ONNX_MAX_BYTES);
    else if (st.st_size == 0)
        s = xai_fail(err, XAI_BAD_MODEL, "'%s' is empty", path);
    if (s)
        close(*fd);
    else
        *size = (size_t)st.st_size;
    return s;
}

/* Maps the file, parses it and unmaps it before the model is built: the file's pages and
 * the parsed message are in memory together, the parsed message and the model's constants
 * are not (the constants take the message's data). */
xai_status xai_model_load(const char *path, xai_model **out, struct xai_err *err)
{
    int fd = -1;
    size_t size = 0;
    if (!path || !out) return xai_fail(err, XAI_INVALID_ARGUMENT, "no model path");
    *out = NULL;
    xai_status st = open_model(path, &fd, &size, err);
    if (st) return st;
    void *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    int map_errno = errno;
    close(fd);
    if (map == MAP_FAILED)
        return xai_fail(err, XAI_IO, "cannot read '%s': %s", path, strerror(map_errno));
    Xonnx__ModelProto *mp = NULL;
    char sha256[65];
    struct xai_err e = {{0}};
    st = parse(map, size, sha256, &mp, &e);
    munmap(map, size);
    if (!st) st = build_and_free(mp, size, sha256, NULL, out, &e);
    if (st && err) *err = e;
    return st;
}
