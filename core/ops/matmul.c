/*
 * matmul.c - MatMul with numpy semantics: [..., M, K] x [..., K, N] -> [..., M, N], batch
 * axes broadcast; a 1-D A is a row [1, K] and a 1-D B a column [K, 1], that axis being
 * dropped from the result. Backward for both inputs, summing over broadcast batch axes:
 *   dA = dY . B^T,  dB = A^T . dY.
 * When B is one matrix and A is not broadcast, A's batch axes fold into M: one gemm.
 */
#include <cblas.h>
#include <string.h>

#include "_util.h"

struct mm {
    int64_t m, k, n;
    int bnd;                                    /* batch axes of the result */
    int64_t bd[XAI_MAX_DIMS];                   /* their sizes */
    int64_t sa[XAI_MAX_DIMS], sb[XAI_MAX_DIMS]; /* matrix strides of A, B (0: broadcast) */
    int64_t nb;                                 /* matrices in the result */
    bool fold;
};

static struct xai_shape batch_of(const struct xai_shape *s)
{
    return xai_shape_make(s->ndim > 2 ? s->ndim - 2 : 0, s->d);
}

static xai_status plan(const struct xai_shape *a, const struct xai_shape *b, struct mm *p,
                       struct xai_shape *out, struct xai_err *err)
{
    char sa[96], sb[96];
    if (a->ndim < 1 || b->ndim < 1)
        return xai_fail(err, XAI_SHAPE_MISMATCH, "MatMul: inputs must have at least one axis");
    p->m = a->ndim >= 2 ? a->d[a->ndim - 2] : 1;
    p->k = a->d[a->ndim - 1];
    p->n = b->ndim >= 2 ? b->d[b->ndim - 1] : 1;
    struct xai_shape ab = batch_of(a), bb = batch_of(b), ob;
    if (p->k != b->d[b->ndim >= 2 ? b->ndim - 2 : 0] || xai_shape_broadcast(&ab, &bb, &ob, NULL))
        return xai_fail(err, XAI_SHAPE_MISMATCH, "MatMul: shapes %s and %s do not multiply",
                        xai_shape_str(a, sa, sizeof sa), xai_shape_str(b, sb, sizeof sb));
    p->bnd = ob.ndim;
    memcpy(p->bd, ob.d, sizeof p->bd);
    xai_shape_bstrides(&ab, &ob, p->sa);
    xai_shape_bstrides(&bb, &ob, p->sb);
    p->nb = xai_shape_numel(&ob);
    p->fold = xai_shape_numel(&bb) == 1 && xai_shape_numel(&ab) == p->nb;
    if (out) {
        *out = ob;
        if (a->ndim >= 2) out->d[out->ndim++] = p->m;
        if (b->ndim >= 2) out->d[out->ndim++] = p->n;
    }
    return XAI_OK;
}

static xai_status infer(const void *pp, const struct xai_shape *in, int n_in, struct xai_shape *out,
                        int n_out, int64_t batch, struct xai_err *err)
{
    struct mm p;
    return plan(&in[0], &in[1], &p, &out[0], err);
}

static int64_t macs(const void *pp, const struct xai_shape *in, int n_in,
                    const struct xai_shape *out)
{
    struct mm p;
    if (plan(&in[0], &in[1], &p, NULL, NULL)) return 0;
    return p.nb * p.m * p.k * p.n;
}

/* Element offsets in A and B of the matrices multiplied for result matrix t. */
static void offsets(const struct mm *p, int64_t t, int64_t *oa, int64_t *ob)
{
    int64_t a = 0, b = 0;
    for (int i = p->bnd - 1; i >= 0; i--) {
        int64_t ix = t % p->bd[i];
        t /= p->bd[i];
        a += ix * p->sa[i];
        b += ix * p->sb[i];
    }
    *oa = a * p->m * p->k;
    *ob = b * p->k * p->n;
}

static void forward(const struct xai_op_run *r)
{
    struct mm p;
    if (plan(&r->in[0]->shape, &r->in[1]->shape, &p, NULL, NULL)) return;
    const float *a = r->in[0]->data, *b = r->in[1]->data;
    float *y = r->out[0]->data;
    if (p.nb * p.m * p.n == 0) return;
    if (p.k == 0) {
        memset(y, 0, sizeof(float) * (size_t)(p.nb * p.m * p.n));
        return;
    }
    int64_t rows = p.fold ? p.nb * p.m : p.m, count = p.fold ? 1 : p.nb, oa, ob;
    for (int64_t t = 0; t < count; t++) {
        offsets(&p, t, &oa, &ob);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows, (int)p.n, (int)p.k, 1.f,
                    a + oa, (int)p.k, b + ob, (int)p.n, 0.f, y + t * p.m * p.n, (int)p.n);
    }
}

static void backward(const struct xai_op_run *r)
{
    struct mm p;
    if (!r->gout[0] || plan(&r->in[0]->shape, &r->in[1]->shape, &p, NULL, NULL)) return;
    if (p.nb * p.m * p.n * p.k == 0) return;
    const float *a = r->in[0]->data, *b = r->in[1]->data, *gy = r->gout[0]->data;
    float *ga = r->gin[0] ? r->gin[0]->data : NULL, *gb = r->gin[1] ? r->gin[1]->data : NULL;
    int m = (int)p.m, k = (int)p.k, n = (int)p.n;
    int64_t count = p.fold ? 1 : p.nb, oa, ob;
    if (p.fold) m = (int)(p.nb * p.m);
    for (int64_t t = 0; t < count; t++) {
        offsets(&p, t, &oa, &ob);
        const float *gyt = gy + t * p.m * p.n;
        if (ga)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, k, n, 1.f, gyt, n, b + ob, n,
                        1.f, ga + oa, k);
        if (gb)
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, k, n, m, 1.f, a + oa, k, gyt, n,
                        1.f, gb + ob, n);
    }
}

const struct xai_op_def xai_op_matmul = {
    .name = "MatMul",
    .opset_min = 1,
    .opset_max = 99,
    .grad_mask = 3u,
    .bwd_in = 3u,
    .init = xai_op_init_two,
    .infer = infer,
    .forward = forward,
    .backward = backward,
    .macs = macs,
};
