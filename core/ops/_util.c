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
