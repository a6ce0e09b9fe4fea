/* max_pool.c - MaxPool: the maximum over each (dilated) window; padding never wins.
 * Backward routes each output's gradient to the first maximum of its window (row-major scan
 * order), like PyTorch. The Indices output is not supported. Geometry: _pool.h. */
#include <stdlib.h>

#include "_layout.h"
#include "_pool.h"

static xai_status init(const struct xai_node_def *nd, void **params, struct xai_err *err)
{
    if (nd->n_out != 1)
        return xai_fail(err, XAI_UNSUPPORTED,
                        "node '%s' (%s): the second output (Indices) is not supported", nd->name,
                        nd->op_type);
    struct xai_pool_attrs a;
    int64_t order;
    xai_status st = xai_lay_check_io(nd, err);
    if (st || (st = xai_pool_read(nd, &a, err)) ||
        (st = xai_attr_int(nd, "storage_order", 0, &order, err)))
        return st;
    if (order != 0) return xai_lay_refuse(nd, "storage_order", "must be 0", err);
    struct xai_pool_attrs *p = malloc(sizeof *p);
    if (!p) return xai_fail(err, XAI_NO_MEMORY, "out of memory");
    *p = a;
    *params = p;
    return XAI_OK;
}

static xai_status infer(const void *p, const struct xai_shape *in, int n_in, struct xai_shape *out,
                        int n_out, int64_t batch, struct xai_err *err)
{
    return xai_pool_infer("MaxPool", p, &in[0], &out[0], err);
}

struct ctx {
    const struct xai_pool_geom *g;
    int64_t isz, osz; /* elements per plane */
    const float *x, *gy;
    float *y, *gx;
};

static void forward_one(void *c, int64_t p, int64_t o, const struct xai_pool_win *w)
{
    struct ctx *k = c;
    const float *xp = k->x + p * k->isz;
    int64_t i = xai_pool_argmax(xp, k->g, w);
    k->y[p * k->osz + o] = i < 0 ? 0.f : xp[i];
}

static void backward_one(void *c, int64_t p, int64_t o, const struct xai_pool_win *w)
{
    struct ctx *k = c;
    int64_t i = xai_pool_argmax(k->x + p * k->isz, k->g, w);
    if (i >= 0) k->gx[p * k->isz + i] += k->gy[p * k->osz + o];
}

static void run(const struct xai_op_run *r, bool back)
{
    struct xai_pool_geom g;
    if (xai_pool_geom("MaxPool", r->p, &r->in[0]->shape, &g, NULL)) return;
    struct ctx k = {&g,
                    g.in[0] * g.in[1] * g.in[2],
                    g.out[0] * g.out[1] * g.out[2],
                    r->in[0]->data,
                    NULL,
                    r->out[0]->data,
                    NULL};
    if (back) {
        k.gy = r->gout[0]->data;
        k.gx = r->gin[0]->data;
    }
    xai_pool_visit(&g, back ? backward_one : forward_one, &k);
}

static void forward(const struct xai_op_run *r)
{
    run(r, false);
}

static void backward(const struct xai_op_run *r)
{
    if (r->gout[0] && r->gin[0]) run(r, true);
}

const struct xai_op_def xai_op_max_pool = {
    .name = "MaxPool",
    .opset_min = 1,
    .opset_max = 21,
    .grad_mask = 1u,
    .bwd_in = 1u,
    .init = init,
    .infer = infer,
    .forward = forward,
    .backward = backward,
};
