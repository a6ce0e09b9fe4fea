/* _util.c - helpers shared by op files. */
#include "_util.h"

xai_status xai_op_init_none(const struct xai_node_def *nd, void **params, struct xai_err *err)
{
    *params = NULL;
    return XAI_OK;
}

xai_status xai_op_init_two(const struct xai_node_def *nd, void **params, struct xai_err *err)
{
    *params = NULL;
    if (nd->n_in == 2 && nd->in_present[0] && nd->in_present[1]) return XAI_OK;
    return xai_fail(err, XAI_BAD_MODEL, "node '%s' (%s): needs 2 inputs, has %d", nd->name,
                    nd->op_type, nd->n_in);
}

bool xai_op_pointwise_yes(const void *p, const struct xai_shape *in, int n_in,
                          const struct xai_shape *out)
{
    return true;
}

xai_status xai_op_infer_same(const void *p, const struct xai_shape *in, int n_in,
                             struct xai_shape *out, int n_out, int64_t batch, struct xai_err *err)
{
    out[0] = in[0];
    return XAI_OK;
}

struct range_ctx {
    int64_t n, piece;
    xai_range_fn fn;
    void *ctx;
};

static void range_item(void *c, int64_t i, int tid)
{
    const struct range_ctx *r = c;
    int64_t lo = i * r->piece, hi = lo + r->piece < r->n ? lo + r->piece : r->n;
    r->fn(r->ctx, lo, hi);
}

void xai_par_range(xai_par *par, int64_t n, int64_t piece, xai_range_fn fn, void *ctx)
{
    if (n <= 0) return;
    if (piece < 1) piece = 1;
    struct range_ctx r = {n, piece, fn, ctx};
    xai_par_for(par, (n + piece - 1) / piece, range_item, &r);
}

int64_t xai_par_piece(int64_t each)
{
    return each >= XAI_PAR_ELEMS ? 1 : (XAI_PAR_ELEMS + each - 1) / (each > 0 ? each : 1);
}

static void mask_piece(void *ctx, int64_t lo, int64_t hi)
{
    const struct xai_op_run *r = ctx;
    const float *y = r->out[0]->data;
    float *g = r->gout[0]->data;
    for (int64_t i = lo; i < hi; i++) {
        float v = g[i]; /* read unconditionally, so that it vectorises */
        g[i] = y[i] > 0.f ? v : 0.f;
    }
}

void xai_op_mask_relu(const struct xai_op_run *r)
{
    xai_par_range(r->par, xai_shape_numel(&r->out[0]->shape), XAI_PAR_ELEMS, mask_piece, (void *)r);
}
