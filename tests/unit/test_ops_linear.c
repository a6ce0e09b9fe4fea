/*
 * test_ops_linear.c - Conv, ConvTranspose, Gemm, MatMul and BatchNormalization against
 * direct double-precision references written here, at sizes that go through the gemm paths
 * (im2col, 1x1 without im2col, depthwise direct loop, folded MatMul): forward values and
 * input gradients (which must accumulate into a pre-filled buffer). Convolutions also run on
 * a pool of threads (xai_op_run.par), which must give bit-identical results. Also the
 * refusals of unsupported attributes, and several threads sharing one op's params.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "op.h"

#define MAX_IN 5
#define PREFILL 1.0f

/* ---- building a node --------------------------------------------------------------------- */

struct node {
    const char *op;
    int opset;
    struct xai_attr attrs[8];
    int n_attrs;
    int64_t ints[8][8];
    int n_in, n_out;
    bool present[MAX_IN], is_const[MAX_IN];
    struct xai_const consts[MAX_IN];
    const struct xai_const *cptr[MAX_IN];
    struct xai_shape shapes[MAX_IN];
    float *data[MAX_IN];
};

static unsigned long long rng = 12345;

static float frand(void)
{
    rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return (float)((double)(rng >> 11) / (double)(1ULL << 53) * 2.0 - 1.0);
}

static float *random_buf(int64_t n)
{
    float *p = malloc(sizeof(float) * (size_t)(n ? n : 1));
    assert_non_null(p);
    for (int64_t i = 0; i < n; i++) p[i] = frand();
    return p;
}

static void node_start(struct node *n, const char *op, int opset)
{
    memset(n, 0, sizeof *n);
    n->op = op;
    n->opset = opset;
    n->n_out = 1;
}

static struct xai_attr *new_attr(struct node *n, const char *name, enum xai_attr_type t)
{
    struct xai_attr *a = &n->attrs[n->n_attrs++];
    memset(a, 0, sizeof *a);
    a->name = (char *)name;
    a->type = t;
    return a;
}

static void attr_ints(struct node *n, const char *name, int cnt, const int64_t *v)
{
    int k = n->n_attrs;
    struct xai_attr *a = new_attr(n, name, XAI_ATTR_INTS);
    memcpy(n->ints[k], v, sizeof(int64_t) * (size_t)cnt);
    a->ints = n->ints[k];
    a->n = cnt;
}

static void attr_int(struct node *n, const char *name, int64_t v)
{
    new_attr(n, name, XAI_ATTR_INT)->i = v;
}

static void attr_float(struct node *n, const char *name, float v)
{
    new_attr(n, name, XAI_ATTR_FLOAT)->f = v;
}

static void attr_str(struct node *n, const char *name, const char *v)
{
    new_attr(n, name, XAI_ATTR_STRING)->s = (char *)v;
}

/* Adds an input of the given shape with random values (a float constant when is_const). */
static float *add_input(struct node *n, bool is_const, int ndim, const int64_t *d)
{
    int i = n->n_in++;
    n->present[i] = true;
    n->is_const[i] = is_const;
    n->shapes[i] = xai_shape_make(ndim, d);
    n->data[i] = random_buf(xai_shape_numel(&n->shapes[i]));
    n->consts[i] = (struct xai_const){XAI_F32, n->shapes[i], n->data[i], NULL, NULL};
    n->cptr[i] = is_const ? &n->consts[i] : NULL;
    return n->data[i];
}

static void add_absent(struct node *n)
{
    n->n_in++;
}

static void node_free(struct node *n)
{
    for (int i = 0; i < n->n_in; i++) free(n->data[i]);
}

/* ---- running an op ----------------------------------------------------------------------- */

#define POOL_THREADS 3

struct run {
    const struct xai_op_def *op;
    void *params;
    struct xai_shape out;
    float *y, *scratch;
    size_t stride; /* scratch floats per thread */
    xai_par *par;  /* NULL: serial */
    bool relu;     /* forward with a fused Relu */
    struct xai_tensor tin[MAX_IN], tout, tgout, tgin;
    const struct xai_tensor *pin[MAX_IN], *pout[1], *pgout[1], *pgin[MAX_IN];
};

static xai_status run_open(struct node *n, struct run *r, struct xai_err *err)
{
    memset(r, 0, sizeof *r);
    r->op = xai_op_find(n->op, n->opset);
    assert_non_null(r->op);
    struct xai_node_def nd = {"test",  n->op,      n->opset, n->n_attrs, n->attrs,
                              n->n_in, n->present, n->cptr,  n->shapes,  n->n_out};
    xai_status st = r->op->init(&nd, &r->params, err);
    if (!st) st = xai_attrs_check_used(&nd, err);
    if (!st) st = r->op->infer(r->params, n->shapes, n->n_in, &r->out, 1, n->shapes[0].d[0], err);
    if (st) return st;
    size_t sc = r->op->scratch ? r->op->scratch(r->params, n->shapes, n->n_in, &r->out) : 0;
    r->stride = sc;
    r->scratch = calloc(sc * POOL_THREADS + 1, sizeof(float));
    r->y = calloc((size_t)xai_shape_numel(&r->out) + 1, sizeof(float));
    for (int i = 0; i < n->n_in; i++) {
        r->tin[i] = (struct xai_tensor){n->shapes[i], n->data[i]};
        r->pin[i] = n->present[i] ? &r->tin[i] : NULL;
    }
    r->tout = (struct xai_tensor){r->out, r->y};
    r->pout[0] = &r->tout;
    return XAI_OK;
}

static struct xai_op_run run_args(struct node *n, struct run *r)
{
    return (struct xai_op_run){r->params,         n->n_in,  r->pin,    1,
                               r->pout,           r->pgout, r->pgin,   r->scratch,
                               n->shapes[0].d[0], r->par,   r->stride, r->relu};
}

static void run_forward(struct node *n, struct run *r)
{
    struct xai_op_run a = run_args(n, r);
    r->op->forward(&a);
}

/* Gradient of input i for output gradient gy, accumulated onto PREFILL (returned, caller frees). */
static float *run_backward(struct node *n, struct run *r, int i, const float *gy)
{
    int64_t cnt = xai_shape_numel(&n->shapes[i]);
    float *g = malloc(sizeof(float) * (size_t)(cnt ? cnt : 1));
    for (int64_t k = 0; k < cnt; k++) g[k] = PREFILL;
    r->tgout = (struct xai_tensor){r->out, (float *)gy};
    r->pgout[0] = &r->tgout;
    r->tgin = (struct xai_tensor){n->shapes[i], g};
    memset(r->pgin, 0, sizeof r->pgin);
    r->pgin[i] = &r->tgin;
    struct xai_op_run a = run_args(n, r);
    r->op->backward(&a);
    r->pgout[0] = NULL;
    r->pgin[i] = NULL;
    return g;
}

static void run_close(struct run *r)
{
    if (r->params) {
        if (r->op->free_params)
            r->op->free_params(r->params);
        else
            free(r->params);
    }
    free(r->scratch);
    free(r->y);
}

/* Tolerance of expect_close relative to the largest reference value (0: per element, see
 * there). Winograd's transforms round at the scale of the whole tile, not of each output:
 * F(4x4, 3x3) is about 1e-5 of the largest value, where im2col is 1e-7. */
static double tol_of_max = 0;

static void expect_close(const char *what, const float *got, const double *want, int64_t n,
                         float offset)
{
    int bad = 0;
    double top = 0;
    for (int64_t i = 0; i < n; i++)
        if (fabs(want[i]) > top) top = fabs(want[i]);
    for (int64_t i = 0; i < n && bad < 5; i++) {
        double g = (double)got[i] - offset;
        double tol = tol_of_max > 0 ? tol_of_max * top : 1e-4 * (1.0 + fabs(want[i]));
        if (fabs(g - want[i]) > tol) {
            fprintf(stderr, "%s: element %lld is %.7g, reference %.7g\n", what, (long long)i, g,
                    want[i]);
            bad++;
        }
    }
    assert_int_equal(bad, 0);
}

static void expect_shape(const struct xai_shape *s, int ndim, const int64_t *d)
{
    struct xai_shape want = xai_shape_make(ndim, d);
    char a[96], b[96];
    if (!xai_shape_eq(s, &want))
        fail_msg("shape %s, expected %s", xai_shape_str(s, a, sizeof a),
                 xai_shape_str(&want, b, sizeof b));
}

/* ---- convolution references --------------------------------------------------------------- */

struct cv {
    int64_t n, c, h, w, m, kh, kw;
    int64_t s[2], d[2], p[4]; /* pads: top, left, bottom, right */
    int64_t group, opad[2];
    bool bias;
    const char *auto_pad; /* NULL: explicit pads */
};

/* Output size of one axis of a convolution; sets the begin pad (auto_pad resolved here). */
static int64_t conv_axis(const struct cv *cv, int ax, int64_t in, int64_t k, int64_t *pb)
{
    int64_t s = cv->s[ax], eff = (k - 1) * cv->d[ax] + 1;
    if (!cv->auto_pad) {
        *pb = cv->p[ax];
        return (in + cv->p[ax] + cv->p[ax + 2] - eff) / s + 1;
    }
    if (strcmp(cv->auto_pad, "VALID") == 0) {
        *pb = 0;
        return (in - eff) / s + 1;
    }
    int64_t out = (in + s - 1) / s, total = (out - 1) * s + eff - in;
    if (total < 0) total = 0;
    *pb = strcmp(cv->auto_pad, "SAME_UPPER") == 0 ? total / 2 : total - total / 2;
    return out;
}

static void conv_attrs(struct node *n, const struct cv *cv)
{
    int64_t k[2] = {cv->kh, cv->kw};
    attr_ints(n, "strides", 2, cv->s);
    attr_ints(n, "dilations", 2, cv->d);
    attr_ints(n, "kernel_shape", 2, k);
    attr_int(n, "group", cv->group);
    if (cv->auto_pad)
        attr_str(n, "auto_pad", cv->auto_pad);
    else
        attr_ints(n, "pads", 4, cv->p);
}

struct geo {
    int64_t oh, ow, pt, pl, cg, mg;
};

/* y (forward) or gx (backward, from gy) of a direct convolution in double precision. */
static void conv_ref(const struct cv *cv, const struct geo *g, const float *x, const float *w,
                     const float *b, const float *gy, double *out)
{
    for (int64_t n = 0; n < cv->n; n++)
        for (int64_t m = 0; m < cv->m; m++)
            for (int64_t oy = 0; oy < g->oh; oy++)
                for (int64_t ox = 0; ox < g->ow; ox++) {
                    int64_t yi = ((n * cv->m + m) * g->oh + oy) * g->ow + ox, grp = m / g->mg;
                    double acc = b ? b[m] : 0.0;
                    for (int64_t cc = 0; cc < g->cg; cc++)
                        for (int64_t i = 0; i < cv->kh; i++)
                            for (int64_t j = 0; j < cv->kw; j++) {
                                int64_t iy = oy * cv->s[0] - g->pt + i * cv->d[0];
                                int64_t ix = ox * cv->s[1] - g->pl + j * cv->d[1];
                                if (iy < 0 || iy >= cv->h || ix < 0 || ix >= cv->w) continue;
                                int64_t c = grp * g->cg + cc;
                                int64_t xi = ((n * cv->c + c) * cv->h + iy) * cv->w + ix;
                                double wv = w[((m * g->cg + cc) * cv->kh + i) * cv->kw + j];
                                if (gy)
                                    out[xi] += wv * gy[yi];
                                else
                                    acc += wv * x[xi];
                            }
                    if (!gy) out[yi] = acc;
                }
}

/* check_conv runs on a copy of the weights (not the node's constant) */
static bool foreign_weights;
/* check_conv's dY: in bands of 8 output rows, every other band keeps about one element in 8
 * (as behind a max pool) and the others all, so that blocks of both kinds meet in one run */
static bool sparse_gy;

static void sparsify(float *gy, int64_t n, int64_t oh, int64_t ow)
{
    for (int64_t i = 0; i < n; i++)
        if ((i / ow % oh / 8) % 2 && ((uint32_t)i * 2654435761u >> 7) % 8) gy[i] = 0.f;
}

static void check_conv(const struct cv *cv)
{
    struct node nd;
    struct run r;
    struct xai_err err = {{0}};
    struct geo g = {.cg = cv->c / cv->group, .mg = cv->m / cv->group};
    node_start(&nd, "Conv", 11);
    float *x = add_input(&nd, false, 4, (int64_t[]){cv->n, cv->c, cv->h, cv->w});
    float *w = add_input(&nd, true, 4, (int64_t[]){cv->m, g.cg, cv->kh, cv->kw});
    float *b = cv->bias ? add_input(&nd, true, 1, &cv->m) : NULL;
    conv_attrs(&nd, cv);
    if (run_open(&nd, &r, &err)) fail_msg("%s", err.msg);
    g.oh = conv_axis(cv, 0, cv->h, cv->kh, &g.pt);
    g.ow = conv_axis(cv, 1, cv->w, cv->kw, &g.pl);
    expect_shape(&r.out, 4, (int64_t[]){cv->n, cv->m, g.oh, g.ow});
    float *wcopy = NULL;
    if (foreign_weights) { /* other weights than the model's, as LRP's modified copies */
        wcopy = malloc(sizeof(float) * (size_t)xai_shape_numel(&nd.shapes[1]));
        memcpy(wcopy, w, sizeof(float) * (size_t)xai_shape_numel(&nd.shapes[1]));
        r.tin[1].data = wcopy;
    }
    int64_t ny = xai_shape_numel(&r.out), nx = xai_shape_numel(&nd.shapes[0]);
    double *ref = calloc((size_t)(ny > nx ? ny : nx), sizeof(double));
    run_forward(&nd, &r);
    conv_ref(cv, &g, x, w, b, NULL, ref);
    expect_close("Conv forward", r.y, ref, ny, 0.f);
    float *gy = random_buf(ny);
    if (sparse_gy) sparsify(gy, ny, g.oh, g.ow);
    float *gx = run_backward(&nd, &r, 0, gy);
    memset(ref, 0, sizeof(double) * (size_t)nx);
    conv_ref(cv, &g, NULL, w, NULL, gy, ref);
    expect_close("Conv backward", gx, ref, nx, PREFILL);
    /* the same on a pool of threads: bit-identical */
    float *y1 = malloc(sizeof(float) * (size_t)ny);
    memcpy(y1, r.y, sizeof(float) * (size_t)ny);
    memset(r.y, 0, sizeof(float) * (size_t)ny);
    r.par = xai_par_new(POOL_THREADS);
    assert_non_null(r.par);
    run_forward(&nd, &r);
    assert_memory_equal(r.y, y1, sizeof(float) * (size_t)ny);
    float *gx2 = run_backward(&nd, &r, 0, gy);
    assert_memory_equal(gx2, gx, sizeof(float) * (size_t)nx);
    /* with a fused Relu: max(y, 0), exactly; backward masks dY by the Relu's output */
    r.relu = true;
    run_forward(&nd, &r);
    for (int64_t i = 0; i < ny; i++) assert_float_equal(r.y[i], y1[i] > 0.f ? y1[i] : 0.f, 0.f);
    float *gyr = malloc(sizeof(float) * (size_t)ny);
    memcpy(gyr, gy, sizeof(float) * (size_t)ny);
    float *gx3 = run_backward(&nd, &r, 0, gyr);
    r.relu = false;
    for (int64_t i = 0; i < ny; i++) gyr[i] = y1[i] > 0.f ? gy[i] : 0.f;
    float *gx4 = run_backward(&nd, &r, 0, gyr);
    assert_memory_equal(gx3, gx4, sizeof(float) * (size_t)nx);
    free(gyr);
    free(gx3);
    free(gx4);
    xai_par_free(r.par);
    r.par = NULL;
    free(y1);
    free(gx2);
    free(gy);
    free(gx);
    free(ref);
    free(wcopy);
    run_close(&r);
    node_free(&nd);
}

#define CV(...) check_conv(&(struct cv){__VA_ARGS__})

static void test_conv_im2col(void **state)
{
    CV(2, 8, 9, 9, 6, 3, 3, {1, 1}, {1, 1}, {1, 1, 1, 1}, 1, {0, 0}, true, NULL);
    CV(2, 8, 9, 9, 5, 3, 3, {2, 2}, {1, 1}, {0, 1, 2, 1}, 1, {0, 0}, false, NULL);
    CV(2, 8, 9, 9, 4, 3, 3, {1, 1}, {2, 2}, {2, 2, 2, 2}, 1, {0, 0}, true, NULL);
    CV(2, 8, 9, 9, 6, 3, 2, {1, 2}, {2, 1}, {1, 0, 0, 1}, 2, {0, 0}, true, NULL);
    CV(2, 8, 9, 9, 4, 5, 5, {2, 2}, {1, 1}, {2, 2, 2, 2}, 4, {0, 0}, false, NULL);
    CV(2, 3, 16, 16, 8, 7, 7, {2, 2}, {1, 1}, {3, 3, 3, 3}, 1, {0, 0}, false, NULL);
    /* batch 1, a narrow product with k = 1152: the gemm splits k in two (_par_gemm.c), bias
     * and fused Relu after the halves' sum */
    CV(1, 128, 9, 9, 128, 3, 3, {1, 1}, {1, 1}, {1, 1, 1, 1}, 1, {0, 0}, true, NULL);
}

/* Batch items go through the gemm one at a time (feature maps of >= 384 pixels) or several
 * side by side (smaller maps), including a last chunk that is not full. */
static void test_conv_batch_chunks(void **state)
{
    CV(2, 4, 20, 20, 6, 3, 2, {1, 1}, {1, 1}, {1, 1, 1, 0}, 1, {0, 0}, true, NULL);
    CV(2, 4, 20, 20, 6, 1, 1, {1, 1}, {1, 1}, {0, 0, 0, 0}, 2, {0, 0}, true, NULL);
    CV(3, 8, 14, 14, 6, 3, 2, {1, 1}, {1, 1}, {1, 1, 1, 0}, 2, {0, 0}, true, NULL);
    CV(5, 8, 7, 7, 4, 3, 3, {2, 2}, {1, 1}, {1, 1, 1, 1}, 1, {0, 0}, false, NULL);
    CV(1, 8, 7, 7, 4, 3, 3, {1, 1}, {1, 1}, {1, 1, 1, 1}, 1, {0, 0}, true, NULL);
}

/* Big feature maps: im2col and col2im run by bands of output rows (several, the last one
 * short; with threads, bands in parallel), for stride 1 (contiguous rows), stride 2 (paired
 * taps) and with groups and padding rows that fall inside a band's neighbours. */
static void test_conv_bands(void **state)
{
    CV(1, 16, 60, 60, 72, 5, 3, {1, 1}, {1, 1}, {2, 1, 2, 1}, 1, {0, 0}, true, NULL);
    CV(2, 16, 61, 61, 4, 7, 7, {2, 2}, {1, 1}, {3, 3, 3, 3}, 1, {0, 0}, false, NULL);
    CV(1, 64, 50, 40, 6, 3, 3, {1, 1}, {2, 2}, {2, 1, 0, 2}, 2, {0, 0}, true, NULL);
}

/* Stride 1, few output channels, big maps: one gemm per kernel tap over shifted views of a
 * zero-padded copy (no im2col). Pads on either side or none, dilations, windows that stop
 * short of the input's end (VALID: the padded copy is cropped), rectangular kernels, auto_pad,
 * several batch items, and outputs of more than one column block. */
static void test_conv_shift(void **state)
{
    CV(1, 8, 24, 24, 6, 3, 3, {1, 1}, {1, 1}, {1, 1, 1, 1}, 1, {0, 0}, true, NULL);
    CV(1, 8, 40, 40, 6, 3, 3, {1, 1}, {1, 1}, {1, 1, 1, 1}, 1, {0, 0}, true, NULL);
    CV(2, 5, 45, 43, 7, 3, 2, {1, 1}, {2, 3}, {2, 0, 1, 3}, 1, {0, 0}, false, NULL);
    CV(1, 4, 30, 31, 64, 5, 5, {1, 1}, {1, 1}, {0, 0, 0, 0}, 1, {0, 0}, true, NULL);
    CV(1, 3, 22, 40, 9, 1, 3, {1, 1}, {1, 1}, {0, 1, 0, 1}, 1, {0, 0}, true, NULL);
    CV(1, 6, 27, 26, 5, 4, 4, {1, 1}, {1, 1}, {0}, 1, {0, 0}, true, "SAME_LOWER");
    CV(1, 6, 27, 26, 5, 4, 3, {1, 1}, {1, 2}, {0}, 1, {0, 0}, false, "VALID");
    CV(1, 6, 21, 21, 5, 3, 3, {1, 1}, {1, 1}, {4, 3, 0, 5}, 1, {0, 0}, true, NULL);
}

/* 3x3 stride 1 on maps of at least 16 4x4 tiles: Winograd F(4x4, 3x3). Maps that are not a
 * multiple of 4 (partial tiles on the right and bottom), pads on either side, none, more than
 * the kernel's reach, auto_pad, groups, batches over several blocks of tile rows, channel
 * counts where the transforms' rounding adds up. */
static void test_conv_winograd(void **state)
{
    tol_of_max = 2e-5;
    CV(1, 8, 16, 16, 6, 3, 3, {1, 1}, {1, 1}, {1, 1, 1, 1}, 1, {0, 0}, true, NULL);
    CV(2, 5, 17, 19, 7, 3, 3, {1, 1}, {1, 1}, {1, 1, 1, 1}, 1, {0, 0}, false, NULL);
    CV(1, 4, 18, 18, 3, 3, 3, {1, 1}, {1, 1}, {0, 0, 0, 0}, 1, {0, 0}, true, NULL);
    CV(1, 4, 21, 15, 5, 3, 3, {1, 1}, {1, 1}, {2, 0, 1, 3}, 1, {0, 0}, true, NULL);
    CV(1, 3, 14, 14, 4, 3, 3, {1, 1}, {1, 1}, {4, 3, 3, 4}, 1, {0, 0}, false, NULL);
    CV(3, 6, 16, 20, 6, 3, 3, {1, 1}, {1, 1}, {0}, 1, {0, 0}, true, "SAME_UPPER");
    CV(2, 8, 16, 16, 12, 3, 3, {1, 1}, {1, 1}, {1, 1, 1, 1}, 2, {0, 0}, true, NULL);
    CV(5, 16, 60, 36, 16, 3, 3, {1, 1}, {1, 1}, {1, 1, 1, 1}, 1, {0, 0}, true, NULL);
    CV(4, 64, 40, 38, 48, 3, 3, {1, 1}, {1, 1}, {1, 1, 1, 1}, 1, {0, 0}, false, NULL);
    CV(2, 256, 16, 16, 128, 3, 3, {1, 1}, {1, 1}, {1, 1, 1, 1}, 1, {0, 0}, true, NULL);
    /* rows of 16+ tiles (the transforms' row-by-row paths), sweeps of 3 rows ending inside
     * and at the end of each image */
    CV(2, 8, 21, 70, 6, 3, 3, {1, 1}, {1, 1}, {1, 2, 0, 1}, 1, {0, 0}, true, NULL);
    /* 32768+ kernels per group on maps of at most 32 tiles: weights transformed during the
     * call (_winograd_u.c), here and in the 256 x 128 case above: ResNet-18's third stage at
     * batch 1; counts that leave partial blocks of rows and of lanes (200 inputs, 170
     * outputs); two groups. Such layers build their transformed weights only when a run needs
     * them: five items (80 tiles, more than a narrow block) */
    CV(1, 256, 14, 14, 256, 3, 3, {1, 1}, {1, 1}, {1, 1, 1, 1}, 1, {0, 0}, true, NULL);
    CV(1, 200, 15, 17, 170, 3, 3, {1, 1}, {1, 1}, {1, 0, 2, 1}, 1, {0, 0}, false, NULL);
    CV(1, 512, 14, 14, 256, 3, 3, {1, 1}, {1, 1}, {1, 1, 1, 1}, 2, {0, 0}, true, NULL);
    CV(5, 182, 13, 13, 182, 3, 3, {1, 1}, {1, 1}, {1, 1, 1, 1}, 1, {0, 0}, true, NULL);
    tol_of_max = 0;
}

/* 3x3 stride 1 with 64+ channels on maps of fewer than 16 4x4 tiles but at least 16 2x2 tiles
 * (7x7 and up), batches of 2 or more: Winograd F(2x2, 3x3) (batch 1: im2col). Odd sizes
 * (partial tiles), pads on either side, none, auto_pad, groups, batches over several blocks of
 * tile rows, 256 channels. Its transforms round about as plain convolution does: held to the
 * per-element tolerance of the other paths. */
static void test_conv_winograd2(void **state)
{
    CV(2, 64, 7, 7, 64, 3, 3, {1, 1}, {1, 1}, {1, 1, 1, 1}, 1, {0, 0}, true, NULL);
    CV(2, 64, 10, 10, 72, 3, 3, {1, 1}, {1, 1}, {0, 0, 0, 0}, 1, {0, 0}, false, NULL);
    CV(2, 64, 9, 8, 64, 3, 3, {1, 1}, {1, 1}, {2, 0, 1, 2}, 1, {0, 0}, true, NULL);
    CV(1, 64, 7, 7, 64, 3, 3, {1, 1}, {1, 1}, {1, 1, 1, 1}, 1, {0, 0}, true, NULL);
    CV(3, 64, 7, 9, 64, 3, 3, {1, 1}, {1, 1}, {0}, 1, {0, 0}, true, "SAME_UPPER");
    CV(2, 128, 7, 7, 128, 3, 3, {1, 1}, {1, 1}, {1, 1, 1, 1}, 2, {0, 0}, true, NULL);
    CV(16, 64, 8, 8, 64, 3, 3, {1, 1}, {1, 1}, {1, 1, 1, 1}, 1, {0, 0}, false, NULL);
    CV(2, 256, 7, 7, 256, 3, 3, {1, 1}, {1, 1}, {1, 1, 1, 1}, 1, {0, 0}, true, NULL);
}

/* Few input channels with strides of 2 or more: the forward runs direct (_conv_direct.c, on
 * CPUs with AVX-512F), and for kernels 5 to 8 wide the backward too (_conv_direct_bwd.c;
 * check_conv's fused Relu gives it a sparse dY). For the backward: three items of a 5 x 6
 * kernel with stride 3 (blocks of 4 output rows, one of them odd), and no padding where the
 * windows stop short of the last input column. ResNet's stem at full size with bias (its
 * 112-pixel rows: two tiles of 48 and one of 16; 28 blocks); a grey image, two items, 20 output
 * channels (a tile of 4 channels) and rows of 50 pixels (a full tile and a partial one);
 * stride 3 with a 5 x 3 kernel and asymmetric pads; four channels with an 8 x 8 kernel (64
 * taps; 32 kernel rows, 16 vectors) and 9 output channels; stride 2 with no padding and pads
 * past the kernel's reach. */
static void test_conv_direct(void **state)
{
    sparse_gy = true; /* the backward's lists (blocks of 4 output rows: 2 sparse, 2 dense) */
    CV(2, 3, 96, 80, 64, 7, 7, {2, 2}, {1, 1}, {3, 3, 3, 3}, 1, {0, 0}, true, NULL);
    CV(1, 4, 60, 50, 9, 8, 8, {2, 2}, {1, 1}, {1, 2, 3, 4}, 1, {0, 0}, false, NULL);
    CV(3, 2, 23, 29, 8, 5, 6, {3, 3}, {1, 1}, {2, 1, 0, 3}, 1, {0, 0}, true, NULL);
    sparse_gy = false;
    CV(3, 2, 23, 29, 8, 5, 6, {3, 3}, {1, 1}, {2, 1, 0, 3}, 1, {0, 0}, true, NULL);
    CV(1, 1, 20, 22, 8, 5, 5, {2, 2}, {1, 1}, {0, 0, 0, 0}, 1, {0, 0}, false, NULL);
    CV(1, 3, 224, 224, 64, 7, 7, {2, 2}, {1, 1}, {3, 3, 3, 3}, 1, {0, 0}, true, NULL);
    CV(2, 1, 45, 100, 20, 7, 7, {2, 2}, {1, 1}, {3, 3, 3, 3}, 1, {0, 0}, false, NULL);
    CV(1, 3, 31, 40, 16, 5, 3, {3, 3}, {1, 1}, {2, 0, 1, 2}, 1, {0, 0}, true, NULL);
    CV(1, 4, 30, 30, 9, 8, 8, {2, 2}, {1, 1}, {1, 2, 3, 4}, 1, {0, 0}, true, NULL);
    CV(1, 2, 19, 21, 8, 3, 3, {2, 2}, {1, 1}, {0, 0, 0, 0}, 1, {0, 0}, false, NULL);
    CV(1, 3, 17, 17, 12, 3, 3, {2, 2}, {1, 1}, {4, 4, 4, 4}, 1, {0, 0}, true, NULL);
}

/* Batch 1 on maps of at most 64 pixels with the model's weights: im2col products on weights
 * packed at first use (_pgemm.h; on CPUs with AVX-512F, elsewhere OpenBLAS as before), the
 * transposes' for backward. ResNet-18's last stage (512 x 4608, 49 columns: two column tiles,
 * k in chunks of 256); a partial last panel (200 and 72 rows forward, k = 360 and 63 rows
 * backward) with 64 columns (three tiles) and bias; stride 2 with two groups (49 columns); 1x1
 * maps (one column) and 29 columns; two groups of 40 x 63 (the groups' packed sizes differ
 * from their transposes'); pointwise 1x1 (backward adds into dX) with bias. The
 * fused Relu and the thread pool are checked by check_conv. */
static void test_conv_packed(void **state)
{
    CV(1, 512, 7, 7, 512, 3, 3, {1, 1}, {1, 1}, {1, 1, 1, 1}, 1, {0, 0}, true, NULL);
    CV(1, 40, 8, 8, 200, 3, 3, {1, 1}, {1, 1}, {1, 1, 1, 1}, 1, {0, 0}, true, NULL);
    CV(1, 64, 14, 14, 96, 3, 3, {2, 2}, {1, 1}, {1, 1, 1, 1}, 2, {0, 0}, false, NULL);
    CV(1, 7, 3, 3, 72, 3, 3, {1, 1}, {1, 1}, {0, 0, 0, 0}, 1, {0, 0}, true, NULL);
    CV(1, 14, 8, 8, 80, 3, 3, {1, 1}, {1, 1}, {1, 1, 1, 1}, 2, {0, 0}, true, NULL);
    CV(1, 24, 1, 29, 80, 1, 3, {1, 1}, {1, 1}, {0, 1, 0, 1}, 1, {0, 0}, false, NULL);
    CV(1, 64, 7, 7, 48, 1, 1, {1, 1}, {1, 1}, {0, 0, 0, 0}, 1, {0, 0}, true, NULL);
}

/* Runs on other weights than the model's (LRP's modified copies) take no Winograd path: they
 * meet im2col's per-element accuracy, which Winograd's does not at 256 channels. */
static void test_conv_foreign_weights(void **state)
{
    foreign_weights = true;
    CV(2, 256, 16, 16, 128, 3, 3, {1, 1}, {1, 1}, {1, 1, 1, 1}, 1, {0, 0}, true, NULL);
    CV(16, 64, 7, 7, 8, 3, 3, {1, 1}, {1, 1}, {1, 1, 1, 1}, 1, {0, 0}, true, NULL);
    foreign_weights = false;
}

static void test_conv_auto_pad(void **state)
{
    CV(2, 8, 9, 9, 6, 3, 3, {2, 2}, {1, 1}, {0}, 1, {0, 0}, true, "SAME_UPPER");
    CV(2, 8, 9, 9, 6, 4, 4, {2, 2}, {1, 1}, {0}, 1, {0, 0}, false, "SAME_UPPER");
    CV(2, 8, 9, 9, 6, 4, 4, {2, 2}, {1, 1}, {0}, 1, {0, 0}, true, "SAME_LOWER");
    CV(2, 8, 9, 9, 6, 2, 2, {1, 1}, {1, 1}, {0}, 2, {0, 0}, true, "SAME_LOWER");
    CV(2, 8, 9, 9, 6, 3, 3, {2, 2}, {1, 1}, {0}, 1, {0, 0}, false, "VALID");
    CV(2, 8, 9, 9, 8, 3, 3, {1, 1}, {1, 1}, {0}, 8, {0, 0}, true, "SAME_UPPER");
}

static void test_conv_depthwise(void **state)
{
    CV(2, 8, 9, 9, 8, 3, 3, {1, 1}, {1, 1}, {1, 1, 1, 1}, 8, {0, 0}, true, NULL);
    CV(2, 8, 9, 9, 16, 3, 3, {2, 2}, {2, 2}, {2, 1, 0, 2}, 8, {0, 0}, false, NULL);
    CV(2, 8, 9, 9, 8, 5, 5, {2, 1}, {1, 1}, {2, 2, 2, 2}, 8, {0, 0}, true, NULL);
}

static void test_conv_pointwise(void **state)
{
    CV(2, 8, 9, 9, 12, 1, 1, {1, 1}, {1, 1}, {0, 0, 0, 0}, 1, {0, 0}, true, NULL);
    CV(2, 8, 9, 9, 6, 1, 1, {1, 1}, {1, 1}, {0, 0, 0, 0}, 1, {0, 0}, false, NULL);
    CV(2, 8, 9, 9, 6, 1, 1, {1, 1}, {1, 1}, {0, 0, 0, 0}, 2, {0, 0}, true, NULL);
    CV(2, 8, 9, 9, 6, 1, 1, {2, 2}, {1, 1}, {0, 0, 0, 0}, 1, {0, 0}, true, NULL);
    CV(2, 8, 9, 9, 6, 1, 1, {1, 1}, {1, 1}, {1, 0, 0, 1}, 1, {0, 0}, false, NULL);
}

static void test_conv_1d(void **state)
{
    struct node nd;
    struct run r;
    struct xai_err err = {{0}};
    node_start(&nd, "Conv", 13);
    float *x = add_input(&nd, false, 3, (int64_t[]){2, 4, 11});
    float *w = add_input(&nd, true, 3, (int64_t[]){6, 2, 3});
    attr_ints(&nd, "strides", 1, (int64_t[]){2});
    attr_ints(&nd, "pads", 2, (int64_t[]){1, 2});
    attr_int(&nd, "group", 2);
    if (run_open(&nd, &r, &err)) fail_msg("%s", err.msg);
    expect_shape(&r.out, 3, (int64_t[]){2, 6, 6});
    run_forward(&nd, &r);
    /* the same convolution as 2-D with H = 1 */
    struct cv cv = {2, 4, 1, 11, 6, 1, 3, {1, 2}, {1, 1}, {0, 1, 0, 2}, 2, {0, 0}, false, NULL};
    struct geo g = {1, 6, 0, 1, 2, 3};
    double ref[2 * 6 * 6];
    conv_ref(&cv, &g, x, w, NULL, NULL, ref);
    expect_close("Conv 1-D forward", r.y, ref, 2 * 6 * 6, 0.f);
    run_close(&r);
    node_free(&nd);
}

/* ConvTranspose: y (forward) or gx (from gy) by direct scatter. */
static void convt_ref(const struct cv *cv, const struct geo *g, const float *x, const float *w,
                      const float *gy, double *out)
{
    for (int64_t n = 0; n < cv->n; n++)
        for (int64_t c = 0; c < cv->c; c++)
            for (int64_t iy = 0; iy < cv->h; iy++)
                for (int64_t ix = 0; ix < cv->w; ix++) {
                    int64_t xi = ((n * cv->c + c) * cv->h + iy) * cv->w + ix;
                    for (int64_t mm = 0; mm < g->mg; mm++)
                        for (int64_t i = 0; i < cv->kh; i++)
                            for (int64_t j = 0; j < cv->kw; j++) {
                                int64_t oy = iy * cv->s[0] - g->pt + i * cv->d[0];
                                int64_t ox = ix * cv->s[1] - g->pl + j * cv->d[1];
                                if (oy < 0 || oy >= g->oh || ox < 0 || ox >= g->ow) continue;
                                int64_t o = c / g->cg * g->mg + mm;
                                int64_t yi = ((n * cv->m + o) * g->oh + oy) * g->ow + ox;
                                double wv = w[((c * g->mg + mm) * cv->kh + i) * cv->kw + j];
                                if (gy)
                                    out[xi] += wv * gy[yi];
                                else
                                    out[yi] += wv * x[xi];
                            }
                }
}

static void check_convt(const struct cv *cv)
{
    struct node nd;
    struct run r;
    struct xai_err err = {{0}};
    struct geo g = {
        .cg = cv->c / cv->group, .mg = cv->m / cv->group, .pt = cv->p[0], .pl = cv->p[1]};
    node_start(&nd, "ConvTranspose", 11);
    float *x = add_input(&nd, false, 4, (int64_t[]){cv->n, cv->c, cv->h, cv->w});
    float *w = add_input(&nd, true, 4, (int64_t[]){cv->c, g.mg, cv->kh, cv->kw});
    float *b = cv->bias ? add_input(&nd, true, 1, &cv->m) : NULL;
    conv_attrs(&nd, cv);
    attr_ints(&nd, "output_padding", 2, cv->opad);
    if (run_open(&nd, &r, &err)) fail_msg("%s", err.msg);
    g.oh = cv->s[0] * (cv->h - 1) + cv->opad[0] + (cv->kh - 1) * cv->d[0] + 1 - cv->p[0] - cv->p[2];
    g.ow = cv->s[1] * (cv->w - 1) + cv->opad[1] + (cv->kw - 1) * cv->d[1] + 1 - cv->p[1] - cv->p[3];
    expect_shape(&r.out, 4, (int64_t[]){cv->n, cv->m, g.oh, g.ow});
    float *wcopy = NULL;
    if (foreign_weights) { /* other weights than the model's, as LRP's modified copies */
        wcopy = malloc(sizeof(float) * (size_t)xai_shape_numel(&nd.shapes[1]));
        memcpy(wcopy, w, sizeof(float) * (size_t)xai_shape_numel(&nd.shapes[1]));
        r.tin[1].data = wcopy;
    }
    int64_t ny = xai_shape_numel(&r.out), nx = xai_shape_numel(&nd.shapes[0]);
    double *ref = calloc((size_t)(ny > nx ? ny : nx), sizeof(double));
    for (int64_t i = 0; b && i < ny; i++) ref[i] = b[i / (g.oh * g.ow) % cv->m];
    run_forward(&nd, &r);
    convt_ref(cv, &g, x, w, NULL, ref);
    expect_close("ConvTranspose forward", r.y, ref, ny, 0.f);
    float *gy = random_buf(ny), *gx = run_backward(&nd, &r, 0, gy);
    memset(ref, 0, sizeof(double) * (size_t)nx);
    convt_ref(cv, &g, NULL, w, gy, ref);
    expect_close("ConvTranspose backward", gx, ref, nx, PREFILL);
    free(gy);
    free(gx);
    free(ref);
    run_close(&r);
    node_free(&nd);
}

#define CVT(...) check_convt(&(struct cv){__VA_ARGS__})

static void test_conv_transpose(void **state)
{
    CVT(2, 8, 9, 9, 6, 3, 3, {2, 2}, {1, 1}, {1, 1, 1, 1}, 1, {1, 1}, true, NULL);
    CVT(2, 8, 9, 9, 4, 4, 4, {2, 2}, {1, 1}, {1, 1, 1, 1}, 1, {0, 0}, false, NULL);
    CVT(2, 8, 9, 9, 6, 3, 3, {1, 1}, {1, 1}, {0, 1, 2, 1}, 2, {0, 0}, true, NULL);
    CVT(2, 8, 9, 9, 4, 3, 2, {2, 3}, {2, 2}, {1, 0, 0, 2}, 2, {1, 2}, false, NULL);
    CVT(2, 8, 9, 9, 12, 1, 1, {1, 1}, {1, 1}, {0, 0, 0, 0}, 1, {0, 0}, true, NULL);
    CVT(2, 8, 9, 9, 8, 3, 3, {2, 2}, {1, 1}, {1, 1, 1, 1}, 8, {1, 1}, true, NULL);
}

/* ---- Gemm ------------------------------------------------------------------------------------ */

struct gm {
    int64_t m, k, n;
    bool ta, tb;
    float alpha, beta;
    int c_ndim; /* -1: no C input; -2: C given as an omitted optional input */
    int64_t c_d[2];
    bool b_runtime;
};

static void gemm_ref(const struct gm *t, const float *a, const float *b, const float *c,
                     const struct xai_shape *cs, double *y)
{
    for (int64_t i = 0; i < t->m; i++)
        for (int64_t j = 0; j < t->n; j++) {
            double acc = 0;
            for (int64_t l = 0; l < t->k; l++)
                acc += (double)a[t->ta ? l * t->m + i : i * t->k + l] *
                       b[t->tb ? j * t->k + l : l * t->n + j];
            y[i * t->n + j] = t->alpha * acc;
            if (!c) continue;
            int64_t ci = 0, r = cs->ndim == 2 ? cs->d[0] : 1,
                    q = cs->ndim ? cs->d[cs->ndim - 1] : 1;
            ci = (r == 1 ? 0 : i) * q + (q == 1 ? 0 : j);
            y[i * t->n + j] += t->beta * c[ci];
        }
}

/* dA (which = 0) or dB (which = 1) of Gemm by definition: d op(A)[i,l] = alpha sum_j dY[i,j]
 * op(B)[l,j]; d op(B)[l,j] = alpha sum_i op(A)[i,l] dY[i,j]. */
static void gemm_grad_ref(const struct gm *t, int which, const float *a, const float *b,
                          const float *gy, double *g)
{
    for (int64_t i = 0; i < t->m; i++)
        for (int64_t j = 0; j < t->n; j++)
            for (int64_t l = 0; l < t->k; l++) {
                int64_t ai = t->ta ? l * t->m + i : i * t->k + l;
                int64_t bi = t->tb ? j * t->k + l : l * t->n + j;
                if (which == 0)
                    g[ai] += (double)t->alpha * gy[i * t->n + j] * b[bi];
                else
                    g[bi] += (double)t->alpha * gy[i * t->n + j] * a[ai];
            }
}

static void check_grad(struct node *nd, struct run *r, int which, const float *gy,
                       const double *ref, const char *what)
{
    float *g = run_backward(nd, r, which, gy);
    expect_close(what, g, ref, xai_shape_numel(&nd->shapes[which]), PREFILL);
    free(g);
}

static void check_gemm(const struct gm *t)
{
    struct node nd;
    struct run r;
    struct xai_err err = {{0}};
    node_start(&nd, "Gemm", 13);
    int64_t ad[2] = {t->ta ? t->k : t->m, t->ta ? t->m : t->k};
    int64_t bd[2] = {t->tb ? t->n : t->k, t->tb ? t->k : t->n};
    float *a = add_input(&nd, false, 2, ad), *b = add_input(&nd, !t->b_runtime, 2, bd), *c = NULL;
    if (t->c_ndim >= 0) c = add_input(&nd, true, t->c_ndim, t->c_d);
    if (t->c_ndim == -2) add_absent(&nd);
    attr_int(&nd, "transA", t->ta);
    attr_int(&nd, "transB", t->tb);
    attr_float(&nd, "alpha", t->alpha);
    attr_float(&nd, "beta", t->beta);
    if (run_open(&nd, &r, &err)) fail_msg("%s", err.msg);
    expect_shape(&r.out, 2, (int64_t[]){t->m, t->n});
    int64_t big = t->m * t->n + t->k * (t->m + t->n);
    double *ref = calloc((size_t)big, sizeof(double));
    run_forward(&nd, &r);
    gemm_ref(t, a, b, c, c ? &nd.shapes[2] : NULL, ref);
    expect_close("Gemm forward", r.y, ref, t->m * t->n, 0.f);
    float *gy = random_buf(t->m * t->n);
    for (int which = 0; which < (t->b_runtime ? 2 : 1); which++) {
        memset(ref, 0, sizeof(double) * (size_t)big);
        gemm_grad_ref(t, which, a, b, gy, ref);
        check_grad(&nd, &r, which, gy, ref, which ? "Gemm dB" : "Gemm dA");
    }
    free(gy);
    free(ref);
    run_close(&r);
    node_free(&nd);
}

#define GM(...) check_gemm(&(struct gm){__VA_ARGS__})

static void test_gemm(void **state)
{
    GM(7, 33, 9, false, false, 1.f, 1.f, -1, {0}, false);
    GM(7, 33, 9, false, true, 1.f, 1.f, 1, {9}, false);
    GM(7, 33, 9, true, true, 1.f, 1.f, -2, {0}, true);
    GM(7, 33, 9, true, false, 0.5f, 2.f, 2, {7, 9}, true);
    GM(7, 33, 9, true, true, 1.5f, -0.5f, 0, {0}, true);
    GM(7, 33, 9, false, true, 1.f, 1.f, 2, {7, 1}, true);
    GM(7, 33, 9, true, false, 1.f, 1.f, 2, {1, 9}, false);
    GM(64, 96, 40, false, true, 1.f, 1.f, 1, {40}, false);
}

/* ---- MatMul ---------------------------------------------------------------------------------- */

/* Matrix offset of batch index t (over the result's batch shape ob) in an operand whose batch
 * shape is sb (right-aligned, size-1 axes broadcast). */
static int64_t bcast_index(const struct xai_shape *ob, const struct xai_shape *sb, int64_t t)
{
    int64_t off = 0, stride = 1;
    for (int i = ob->ndim - 1; i >= 0; i--) {
        int64_t ix = t % ob->d[i];
        t /= ob->d[i];
        int is = i - (ob->ndim - sb->ndim);
        if (is < 0) continue;
        if (sb->d[is] != 1) off += ix * stride;
        stride *= sb->d[is];
    }
    return off;
}

struct mmref {
    struct xai_shape ab, bb, ob;
    int64_t m, k, n, nb;
};

static void mm_setup(const struct xai_shape *a, const struct xai_shape *b, struct mmref *p)
{
    p->m = a->ndim >= 2 ? a->d[a->ndim - 2] : 1;
    p->k = a->d[a->ndim - 1];
    p->n = b->ndim >= 2 ? b->d[b->ndim - 1] : 1;
    p->ab = xai_shape_make(a->ndim > 2 ? a->ndim - 2 : 0, a->d);
    p->bb = xai_shape_make(b->ndim > 2 ? b->ndim - 2 : 0, b->d);
    assert_int_equal(xai_shape_broadcast(&p->ab, &p->bb, &p->ob, NULL), XAI_OK);
    p->nb = xai_shape_numel(&p->ob);
}

/* which = -1: y; 0: dA; 1: dB (from gy). */
static void mm_ref(const struct mmref *p, int which, const float *a, const float *b,
                   const float *gy, double *out)
{
    for (int64_t t = 0; t < p->nb; t++) {
        int64_t oa = bcast_index(&p->ob, &p->ab, t) * p->m * p->k;
        int64_t ob = bcast_index(&p->ob, &p->bb, t) * p->k * p->n;
        for (int64_t i = 0; i < p->m; i++)
            for (int64_t j = 0; j < p->n; j++) {
                int64_t yi = (t * p->m + i) * p->n + j;
                for (int64_t l = 0; l < p->k; l++) {
                    int64_t ai = oa + i * p->k + l, bi = ob + l * p->n + j;
                    if (which < 0)
                        out[yi] += (double)a[ai] * b[bi];
                    else if (which == 0)
                        out[ai] += (double)gy[yi] * b[bi];
                    else
                        out[bi] += (double)gy[yi] * a[ai];
                }
            }
    }
}

static void check_matmul(int an, const int64_t *ad, int bn, const int64_t *bd, int on,
                         const int64_t *od)
{
    struct node nd;
    struct run r;
    struct mmref p;
    struct xai_err err = {{0}};
    node_start(&nd, "MatMul", 13);
    float *a = add_input(&nd, false, an, ad), *b = add_input(&nd, false, bn, bd);
    if (run_open(&nd, &r, &err)) fail_msg("%s", err.msg);
    expect_shape(&r.out, on, od);
    mm_setup(&nd.shapes[0], &nd.shapes[1], &p);
    int64_t big =
        xai_shape_numel(&r.out) + xai_shape_numel(&nd.shapes[0]) + xai_shape_numel(&nd.shapes[1]);
    double *ref = calloc((size_t)big, sizeof(double));
    run_forward(&nd, &r);
    mm_ref(&p, -1, a, b, NULL, ref);
    expect_close("MatMul forward", r.y, ref, xai_shape_numel(&r.out), 0.f);
    float *gy = random_buf(xai_shape_numel(&r.out));
    for (int which = 0; which < 2; which++) {
        memset(ref, 0, sizeof(double) * (size_t)big);
        mm_ref(&p, which, a, b, gy, ref);
        check_grad(&nd, &r, which, gy, ref, which ? "MatMul dB" : "MatMul dA");
    }
    free(gy);
    free(ref);
    run_close(&r);
    node_free(&nd);
}

#define SH(...)                                                                                    \
    (int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), (int64_t[])                         \
    {                                                                                              \
        __VA_ARGS__                                                                                \
    }

static void test_matmul(void **state)
{
    check_matmul(SH(17, 33), SH(33, 9), SH(17, 9));
    check_matmul(SH(3, 17, 33), SH(3, 33, 9), SH(3, 17, 9));
    check_matmul(SH(2, 3, 17, 33), SH(33, 9), SH(2, 3, 17, 9));
    check_matmul(SH(2, 1, 7, 12), SH(1, 3, 12, 5), SH(2, 3, 7, 5));
    check_matmul(SH(7, 12), SH(4, 12, 5), SH(4, 7, 5));
    check_matmul(SH(1, 7, 12), SH(3, 12, 5), SH(3, 7, 5));
    check_matmul(SH(33), SH(33, 9), SH(9));
    check_matmul(SH(17, 33), SH(33), SH(17));
    check_matmul(SH(33), SH(33), 0, NULL);
    check_matmul(SH(12), SH(2, 2, 12, 5), SH(2, 2, 5));
    check_matmul(SH(2, 7, 12), SH(12), SH(2, 7));
}

/* ---- BatchNormalization ---------------------------------------------------------------------- */

static void check_bn(int ndim, const int64_t *d)
{
    struct node nd;
    struct run r;
    struct xai_err err = {{0}};
    int64_t c = d[1], hw = 1;
    for (int i = 2; i < ndim; i++) hw *= d[i];
    node_start(&nd, "BatchNormalization", 15);
    float *x = add_input(&nd, false, ndim, d), *v[4];
    for (int i = 0; i < 4; i++) v[i] = add_input(&nd, true, 1, &c);
    for (int64_t i = 0; i < c; i++) v[3][i] = v[3][i] * v[3][i] + 0.1f;
    attr_float(&nd, "epsilon", 1e-3f);
    if (run_open(&nd, &r, &err)) fail_msg("%s", err.msg);
    expect_shape(&r.out, ndim, d);
    int64_t n = xai_shape_numel(&nd.shapes[0]);
    double *ref = calloc((size_t)n, sizeof(double)), *gref = calloc((size_t)n, sizeof(double));
    float *gy = random_buf(n);
    run_forward(&nd, &r);
    for (int64_t i = 0; i < n; i++) {
        int64_t ch = i / hw % c;
        double a = v[0][ch] / sqrt((double)v[3][ch] + 1e-3);
        ref[i] = (x[i] - v[2][ch]) * a + v[1][ch];
        gref[i] = a * gy[i];
    }
    expect_close("BatchNormalization forward", r.y, ref, n, 0.f);
    check_grad(&nd, &r, 0, gy, gref, "BatchNormalization backward");
    free(gy);
    free(ref);
    free(gref);
    run_close(&r);
    node_free(&nd);
}

static void test_batch_normalization(void **state)
{
    check_bn(SH(2, 8, 9, 9));
    check_bn(SH(5, 16));
    check_bn(SH(2, 4, 10));
}

/* ---- refusals -------------------------------------------------------------------------------- */

static void expect_refused(struct node *nd, xai_status want, const char *needle)
{
    struct run r;
    struct xai_err err = {{0}};
    xai_status st = run_open(nd, &r, &err);
    if (st != want || !strstr(err.msg, needle))
        fail_msg("status %d, message '%s'; expected %d mentioning '%s'", st, err.msg, want, needle);
    run_close(&r);
    node_free(nd);
}

static void conv_node(struct node *nd, const char *op, int wdim)
{
    int64_t x[5] = {1, 4, 6, 6, 6}, w[5] = {4, 4, 3, 3, 3};
    node_start(nd, op, 11);
    add_input(nd, false, wdim, x);
    add_input(nd, true, wdim, w);
}

static void test_refusals(void **state)
{
    struct node nd;
    conv_node(&nd, "Conv", 5);
    expect_refused(&nd, XAI_UNSUPPORTED, "2-D");
    conv_node(&nd, "Conv", 4);
    attr_ints(&nd, "kernel_shape", 2, (int64_t[]){5, 5});
    expect_refused(&nd, XAI_BAD_MODEL, "kernel_shape");
    conv_node(&nd, "Conv", 4);
    attr_int(&nd, "group", 3);
    expect_refused(&nd, XAI_BAD_MODEL, "groups");
    conv_node(&nd, "Conv", 4);
    attr_str(&nd, "auto_pad", "SAME_UPPER");
    attr_ints(&nd, "pads", 4, (int64_t[]){1, 1, 1, 1});
    expect_refused(&nd, XAI_BAD_MODEL, "auto_pad");
    conv_node(&nd, "Conv", 4);
    attr_int(&nd, "foo", 1);
    expect_refused(&nd, XAI_UNSUPPORTED, "foo");
    conv_node(&nd, "Conv", 4);
    nd.cptr[1] = NULL;
    expect_refused(&nd, XAI_UNSUPPORTED, "constant");
    conv_node(&nd, "ConvTranspose", 4);
    attr_ints(&nd, "output_shape", 2, (int64_t[]){8, 8});
    expect_refused(&nd, XAI_UNSUPPORTED, "output_shape");
    conv_node(&nd, "ConvTranspose", 4);
    attr_str(&nd, "auto_pad", "SAME_LOWER");
    expect_refused(&nd, XAI_UNSUPPORTED, "auto_pad");
}

static void bn_node(struct node *nd)
{
    int64_t x[4] = {1, 3, 2, 2}, c = 3;
    node_start(nd, "BatchNormalization", 15);
    add_input(nd, false, 4, x);
    for (int i = 0; i < 4; i++) add_input(nd, true, 1, &c);
}

static void test_refusals_bn_gemm(void **state)
{
    struct node nd;
    bn_node(&nd);
    attr_int(&nd, "training_mode", 1);
    expect_refused(&nd, XAI_UNSUPPORTED, "training_mode");
    bn_node(&nd);
    nd.n_out = 3;
    expect_refused(&nd, XAI_UNSUPPORTED, "outputs");
    bn_node(&nd);
    nd.cptr[3] = NULL;
    expect_refused(&nd, XAI_UNSUPPORTED, "mean");
    node_start(&nd, "Gemm", 13);
    add_input(&nd, false, 2, (int64_t[]){3, 4});
    add_input(&nd, true, 2, (int64_t[]){5, 4});
    expect_refused(&nd, XAI_SHAPE_MISMATCH, "multiply");
    node_start(&nd, "Gemm", 13);
    add_input(&nd, false, 2, (int64_t[]){3, 4});
    add_input(&nd, true, 2, (int64_t[]){4, 5});
    add_input(&nd, true, 1, (int64_t[]){3});
    expect_refused(&nd, XAI_SHAPE_MISMATCH, "broadcast");
    node_start(&nd, "MatMul", 13);
    add_input(&nd, false, 3, (int64_t[]){2, 3, 4});
    add_input(&nd, false, 3, (int64_t[]){3, 4, 5});
    expect_refused(&nd, XAI_SHAPE_MISMATCH, "multiply");
}

static void test_macs(void **state)
{
    struct node nd;
    struct run r;
    struct xai_err err = {{0}};
    conv_node(&nd, "Conv", 4);
    attr_ints(&nd, "pads", 4, (int64_t[]){1, 1, 1, 1});
    if (run_open(&nd, &r, &err)) fail_msg("%s", err.msg);
    assert_int_equal(r.op->macs(r.params, nd.shapes, nd.n_in, &r.out), 4 * 36 * 4 * 9);
    run_close(&r);
    node_free(&nd);
}

/* ---- threads sharing params ------------------------------------------------------------------ */

struct job {
    struct node *nd;
    struct run *r; /* shared params; this job uses its own buffers */
    const float *gy, *want_y, *want_gx;
    int bad;
};

static void *job_main(void *arg)
{
    struct job *j = arg;
    struct run mine = *j->r;
    int64_t ny = xai_shape_numel(&mine.out), nx = xai_shape_numel(&j->nd->shapes[0]);
    size_t sc = mine.op->scratch(mine.params, j->nd->shapes, j->nd->n_in, &mine.out);
    mine.scratch = calloc(sc + 1, sizeof(float));
    mine.y = calloc((size_t)ny, sizeof(float));
    mine.tout.data = mine.y;
    mine.pout[0] = &mine.tout;
    for (int rep = 0; rep < 20; rep++) {
        run_forward(j->nd, &mine);
        float *gx = run_backward(j->nd, &mine, 0, j->gy);
        for (int64_t i = 0; i < ny; i++) j->bad += fabsf(mine.y[i] - j->want_y[i]) > 1e-4f;
        for (int64_t i = 0; i < nx; i++) j->bad += fabsf(gx[i] - j->want_gx[i]) > 1e-4f;
        free(gx);
    }
    free(mine.scratch);
    free(mine.y);
    return NULL;
}

static void test_threads_share_params(void **state)
{
    struct node nd;
    struct run r;
    struct xai_err err = {{0}};
    conv_node(&nd, "Conv", 4);
    attr_ints(&nd, "pads", 4, (int64_t[]){1, 1, 1, 1});
    if (run_open(&nd, &r, &err)) fail_msg("%s", err.msg);
    run_forward(&nd, &r);
    float *gy = random_buf(xai_shape_numel(&r.out)), *gx = run_backward(&nd, &r, 0, gy);
    struct job jobs[4];
    pthread_t th[4];
    for (int t = 0; t < 4; t++) {
        jobs[t] = (struct job){&nd, &r, gy, r.y, gx, 0};
        assert_int_equal(pthread_create(&th[t], NULL, job_main, &jobs[t]), 0);
    }
    for (int t = 0; t < 4; t++) {
        pthread_join(th[t], NULL);
        assert_int_equal(jobs[t].bad, 0);
    }
    free(gy);
    free(gx);
    run_close(&r);
    node_free(&nd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conv_im2col),
        cmocka_unit_test(test_conv_batch_chunks),
        cmocka_unit_test(test_conv_bands),
        cmocka_unit_test(test_conv_shift),
        cmocka_unit_test(test_conv_winograd),
        cmocka_unit_test(test_conv_winograd2),
        cmocka_unit_test(test_conv_packed),
        cmocka_unit_test(test_conv_direct),
        cmocka_unit_test(test_conv_foreign_weights),
        cmocka_unit_test(test_conv_auto_pad),
        cmocka_unit_test(test_conv_depthwise),
        cmocka_unit_test(test_conv_pointwise),
        cmocka_unit_test(test_conv_1d),
        cmocka_unit_test(test_conv_transpose),
        cmocka_unit_test(test_gemm),
        cmocka_unit_test(test_matmul),
        cmocka_unit_test(test_batch_normalization),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_refusals_bn_gemm),
        cmocka_unit_test(test_macs),
        cmocka_unit_test(test_threads_share_params),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
