/* _binary.c - broadcast walk shared by the elementwise binary ops (see _binary.h). */
#include "_binary.h"

#include <string.h>

#include "_vec.h"

/* The output as merged dimensions; the last one is the row. Strides are in elements of each
 * input (0 where it is broadcast); the output is contiguous. */
struct bplan {
    int nd;
    int64_t d[XAI_MAX_DIMS], sa[XAI_MAX_DIMS], sb[XAI_MAX_DIMS];
};

struct bcursor {
    int64_t idx[XAI_MAX_DIMS];
    int64_t oa, ob;
};

static void plan_make(const struct xai_shape *a, const struct xai_shape *b,
                      const struct xai_shape *y, struct bplan *p)
{
    int64_t sa[XAI_MAX_DIMS], sb[XAI_MAX_DIMS];
    xai_shape_bstrides(a, y, sa);
    xai_shape_bstrides(b, y, sb);
    memset(p, 0, sizeof *p);
    for (int i = 0; i < y->ndim; i++) {
        if (y->d[i] == 1) continue;
        int k = p->nd - 1;
        if (k >= 0 && p->sa[k] == sa[i] * y->d[i] && p->sb[k] == sb[i] * y->d[i]) {
            p->d[k] *= y->d[i];
        } else {
            k = p->nd++;
            p->d[k] = y->d[i];
        }
        p->sa[k] = sa[i];
        p->sb[k] = sb[i];
    }
    if (p->nd == 0) { /* a single element */
        p->nd = 1;
        p->d[0] = 1;
    }
}

/* Steps to the next row; false after the last one. */
static bool advance(const struct bplan *p, struct bcursor *c)
{
    for (int k = p->nd - 2; k >= 0; k--) {
        c->oa += p->sa[k];
        c->ob += p->sb[k];
        if (++c->idx[k] < p->d[k]) return true;
        c->idx[k] = 0;
        c->oa -= p->sa[k] * p->d[k];
        c->ob -= p->sb[k] * p->d[k];
    }
    return false;
}

xai_status xai_binary_init(const struct xai_node_def *nd, void **params, struct xai_err *err)
{
    *params = NULL;
    if (nd->n_in != 2 || !nd->in_present[0] || !nd->in_present[1])
        return xai_fail(err, XAI_BAD_MODEL, "node '%s' (%s): needs exactly two inputs", nd->name,
                        nd->op_type);
    for (int i = 0; i < 2; i++) {
        const struct xai_const *c = nd->in_const[i];
        if (c && c->dtype != XAI_F32)
            return xai_fail(err, XAI_UNSUPPORTED,
                            "node '%s' (%s): input %d is an integer constant; only float "
                            "operands are supported",
                            nd->name, nd->op_type, i);
    }
    return XAI_OK;
}

xai_status xai_binary_infer(const void *p, const struct xai_shape *in, int n_in,
                            struct xai_shape *out, int n_out, int64_t batch, struct xai_err *err)
{
    return xai_shape_broadcast(&in[0], &in[1], &out[0], err);
}

/* One row over the whole output (same shapes, or a scalar operand), cut into pieces for the
 * run's threads: elementwise, so the pieces give the numbers of the whole row. */
struct row_ctx {
    const struct xai_op_run *r;
    const struct xai_binary_rows *k;
    xai_bin_grad_row grad;
    int64_t sa, sb;
    int which;
};

static void fwd_piece(void *ctx, int64_t lo, int64_t hi)
{
    const struct row_ctx *c = ctx;
    const struct xai_op_run *r = c->r;
    c->k->fwd(r->in[0]->data + lo * c->sa, c->sa, r->in[1]->data + lo * c->sb, c->sb,
              r->out[0]->data + lo, hi - lo);
    if (r->relu) xai_vec_relu(hi - lo, r->out[0]->data + lo);
}

static void grad_piece(void *ctx, int64_t lo, int64_t hi)
{
    const struct row_ctx *c = ctx;
    const struct xai_op_run *r = c->r;
    c->grad(r->gout[0]->data + lo, r->in[0]->data + lo * c->sa, c->sa, r->in[1]->data + lo * c->sb,
            c->sb, r->gin[c->which]->data + lo, hi - lo);
}

bool xai_binary_pointwise(const void *p, const struct xai_shape *in, int n_in,
                          const struct xai_shape *out)
{
    if (out->ndim != 4) return false;
    for (int i = 0; i < n_in; i++) {
        int r = in[i].ndim;
        int64_t h = r >= 2 ? in[i].d[r - 2] : 1, w = r >= 1 ? in[i].d[r - 1] : 1;
        bool spans = r == 4 && h == out->d[2] && w == out->d[3];
        if (!spans && (h != 1 || w != 1)) return false;
    }
    return true;
}

void xai_binary_forward(const struct xai_op_run *r, const struct xai_binary_rows *k)
{
    const struct xai_tensor *a = r->in[0], *b = r->in[1], *y = r->out[0];
    if (xai_shape_numel(&y->shape) == 0) return;
    struct bplan p;
    struct bcursor c;
    plan_make(&a->shape, &b->shape, &y->shape, &p);
    if (p.nd == 1) {
        struct row_ctx rc = {r, k, NULL, p.sa[0], p.sb[0], 0};
        xai_par_range(r->par, p.d[0], XAI_PAR_ELEMS, fwd_piece, &rc);
        return;
    }
    memset(&c, 0, sizeof c);
    int last = p.nd - 1;
    int64_t n = p.d[last];
    float *out = y->data;
    do {
        k->fwd(a->data + c.oa, p.sa[last], b->data + c.ob, p.sb[last], out, n);
        if (r->relu) xai_vec_relu(n, out);
        out += n;
    } while (advance(&p, &c));
}

/* Accumulates the gradient of input `which` (0: a, 1: b) with its row kernel. */
static void grad_walk(const struct xai_op_run *r, xai_bin_grad_row row, int which)
{
    const struct xai_tensor *a = r->in[0], *b = r->in[1], *y = r->out[0];
    if (xai_shape_numel(&y->shape) == 0) return;
    struct bplan p;
    struct bcursor c;
    plan_make(&a->shape, &b->shape, &y->shape, &p);
    if (p.nd == 1 && (which ? p.sb[0] : p.sa[0])) {
        struct row_ctx rc = {r, NULL, row, p.sa[0], p.sb[0], which};
        xai_par_range(r->par, p.d[0], XAI_PAR_ELEMS, grad_piece, &rc);
        return;
    }
    memset(&c, 0, sizeof c);
    int last = p.nd - 1;
    int64_t n = p.d[last];
    const float *gy = r->gout[0]->data;
    float *g = r->gin[which]->data;
    do {
        row(gy, a->data + c.oa, p.sa[last], b->data + c.ob, p.sb[last], g + (which ? c.ob : c.oa),
            n);
        gy += n;
    } while (advance(&p, &c));
}

void xai_binary_backward(const struct xai_op_run *r, const struct xai_binary_rows *k)
{
    if (!r->gout[0]) return;
    if (r->gin[0]) grad_walk(r, k->grad_a, 0);
    if (r->gin[1]) grad_walk(r, k->grad_b, 1);
}
