/*
 * gemm.c - Gemm: Y = alpha * A' . B' + beta * C, A' = transA ? A^T : A (likewise B'), C
 * broadcast to [M, N]. Backward for A, B and C (any of them may be a runtime input):
 *   dA' = alpha * dY . B'^T,  dB' = alpha * A'^T . dY,  dC = beta * dY summed over broadcast.
 */
#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "_util.h"

struct gemm_p {
    float alpha, beta;
    bool ta, tb, c;
};

static xai_status init(const struct xai_node_def *nd, void **params, struct xai_err *err)
{
    struct gemm_p p = {0};
    int64_t ta, tb;
    xai_status st;
    if ((st = xai_attr_float(nd, "alpha", 1.f, &p.alpha, err))) return st;
    if ((st = xai_attr_float(nd, "beta", 1.f, &p.beta, err))) return st;
    if ((st = xai_attr_int(nd, "transA", 0, &ta, err))) return st;
    if ((st = xai_attr_int(nd, "transB", 0, &tb, err))) return st;
    p.ta = ta != 0;
    p.tb = tb != 0;
    p.c = nd->n_in > 2 && nd->in_present[2];
    if (nd->n_in < 2 || !nd->in_present[0] || !nd->in_present[1])
        return xai_fail(err, XAI_BAD_MODEL, "node '%s' (Gemm): inputs A and B are required",
                        nd->name);
    struct gemm_p *out = malloc(sizeof *out);
    if (!out) return xai_fail(err, XAI_NO_MEMORY, "out of memory");
    *out = p;
    *params = out;
    return XAI_OK;
}

struct dims {
    int64_t m, k, n;
};

static xai_status dims(const struct gemm_p *p, const struct xai_shape *in, struct dims *d,
                       struct xai_err *err)
{
    const struct xai_shape *a = &in[0], *b = &in[1];
    char sa[96], sb[96];
    if (a->ndim != 2 || b->ndim != 2)
        return xai_fail(err, XAI_SHAPE_MISMATCH, "Gemm: A %s and B %s must be matrices",
                        xai_shape_str(a, sa, sizeof sa), xai_shape_str(b, sb, sizeof sb));
    d->m = a->d[p->ta ? 1 : 0];
    d->k = a->d[p->ta ? 0 : 1];
    d->n = b->d[p->tb ? 0 : 1];
    if (b->d[p->tb ? 1 : 0] != d->k)
        return xai_fail(err, XAI_SHAPE_MISMATCH, "Gemm: A %s and B %s do not multiply",
                        xai_shape_str(a, sa, sizeof sa), xai_shape_str(b, sb, sizeof sb));
    return XAI_OK;
}

/* Strides of C over [M, N] (0 along broadcast axes); fails unless C broadcasts to [M, N]. */
static xai_status c_strides(const struct xai_shape *c, const struct dims *d, int64_t *st,
                            struct xai_err *err)
{
    int64_t md[2] = {d->m, d->n};
    struct xai_shape mn = xai_shape_make(2, md), bc;
    char buf[96];
    xai_status s = xai_shape_broadcast(c, &mn, &bc, err);
    if (s || c->ndim > 2 || !xai_shape_eq(&bc, &mn))
        return xai_fail(err, XAI_SHAPE_MISMATCH, "Gemm: C %s does not broadcast to [%lld,%lld]",
                        xai_shape_str(c, buf, sizeof buf), (long long)d->m, (long long)d->n);
    xai_shape_bstrides(c, &mn, st);
    return XAI_OK;
}

static xai_status infer(const void *pp, const struct xai_shape *in, int n_in, struct xai_shape *out,
                        int n_out, int64_t batch, struct xai_err *err)
{
    const struct gemm_p *p = pp;
    struct dims d;
    int64_t st[2];
    xai_status s = dims(p, in, &d, err);
    if (s) return s;
    if (p->c && (s = c_strides(&in[2], &d, st, err))) return s;
    int64_t od[2] = {d.m, d.n};
    out[0] = xai_shape_make(2, od);
    return XAI_OK;
}

static int64_t macs(const void *pp, const struct xai_shape *in, int n_in,
                    const struct xai_shape *out)
{
    struct dims d;
    if (dims(pp, in, &d, NULL)) return 0;
    return d.m * d.k * d.n;
}

static void forward(const struct xai_op_run *r)
{
    const struct gemm_p *p = r->p;
    struct dims d;
    int64_t st[2];
    struct xai_shape in[2] = {r->in[0]->shape, r->in[1]->shape};
    if (dims(p, in, &d, NULL)) return;
    float *y = r->out[0]->data;
    bool add_c = p->c && p->beta != 0.f && !c_strides(&r->in[2]->shape, &d, st, NULL);
    if (add_c) {
        const float *c = r->in[2]->data;
        for (int64_t i = 0; i < d.m; i++)
            for (int64_t j = 0; j < d.n; j++) y[i * d.n + j] = p->beta * c[i * st[0] + j * st[1]];
    }
    if (d.m * d.n == 0) return;
    if (d.k == 0) {
        if (!add_c) memset(y, 0, sizeof(float) * (size_t)(d.m * d.n));
        return;
    }
    cblas_sgemm(CblasRowMajor, p->ta ? CblasTrans : CblasNoTrans, p->tb ? CblasTrans : CblasNoTrans,
                (int)d.m, (int)d.n, (int)d.k, p->alpha, r->in[0]->data, (int)r->in[0]->shape.d[1],
                r->in[1]->data, (int)r->in[1]->shape.d[1], add_c ? 1.f : 0.f, y, (int)d.n);
}

/* gA += alpha * dY . B'^T (as [M, K]), or its transpose when transA. */
static void grad_a(const struct gemm_p *p, const struct dims *d, const float *gy, const float *b,
                   float *ga)
{
    int ldb = (int)(p->tb ? d->k : d->n);
    if (!p->ta)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, p->tb ? CblasNoTrans : CblasTrans, (int)d->m,
                    (int)d->k, (int)d->n, p->alpha, gy, (int)d->n, b, ldb, 1.f, ga, (int)d->k);
    else
        cblas_sgemm(CblasRowMajor, p->tb ? CblasTrans : CblasNoTrans, CblasTrans, (int)d->k,
                    (int)d->m, (int)d->n, p->alpha, b, ldb, gy, (int)d->n, 1.f, ga, (int)d->m);
}

/* gB += alpha * A'^T . dY (as [K, N]), or its transpose when transB. */
static void grad_b(const struct gemm_p *p, const struct dims *d, const float *gy, const float *a,
                   float *gb)
{
    int lda = (int)(p->ta ? d->m : d->k);
    if (!p->tb)
        cblas_sgemm(CblasRowMajor, p->ta ? CblasNoTrans : CblasTrans, CblasNoTrans, (int)d->k,
                    (int)d->n, (int)d->m, p->alpha, a, lda, gy, (int)d->n, 1.f, gb, (int)d->n);
    else
        cblas_sgemm(CblasRowMajor, CblasTrans, p->ta ? CblasTrans : CblasNoTrans, (int)d->n,
                    (int)d->k, (int)d->m, p->alpha, gy, (int)d->n, a, lda, 1.f, gb, (int)d->k);
}

static void grad_c(const struct gemm_p *p, const struct dims *d, const float *gy,
                   const struct xai_tensor *gc)
{
    int64_t st[2];
    if (c_strides(&gc->shape, d, st, NULL)) return;
    for (int64_t i = 0; i < d->m; i++)
        for (int64_t j = 0; j < d->n; j++)
            gc->data[i * st[0] + j * st[1]] += p->beta * gy[i * d->n + j];
}

static void backward(const struct xai_op_run *r)
{
    const struct gemm_p *p = r->p;
    struct dims d;
    struct xai_shape in[2] = {r->in[0]->shape, r->in[1]->shape};
    if (!r->gout[0] || dims(p, in, &d, NULL)) return;
    const float *gy = r->gout[0]->data;
    bool empty = d.m * d.n * d.k == 0;
    if (r->gin[0] && !empty) grad_a(p, &d, gy, r->in[1]->data, r->gin[0]->data);
    if (r->gin[1] && !empty) grad_b(p, &d, gy, r->in[0]->data, r->gin[1]->data);
    if (p->c && r->n_in > 2 && r->gin[2]) grad_c(p, &d, gy, r->gin[2]);
}

const struct xai_op_def xai_op_gemm = {
    .name = "Gemm",
    .opset_min = 7,
    .opset_max = 99,
    .grad_mask = 7u,
    .bwd_in = 3u,
    .init = init,
    .infer = infer,
    .forward = forward,
    .backward = backward,
    .macs = macs,
};
