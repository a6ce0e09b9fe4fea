/* incremental_run.c - one batch of incremental inference: the nodes in order, on crops or
 * whole, as incremental.c planned them (see incremental.h). */
#include <stdlib.h>
#include <string.h>

#include "incremental_impl.h"
#include "par.h"

static float *box_of(const struct xai_incr *inc, const struct xai_ivalue *v)
{
    return inc->arena + v->box_off;
}

static float *full_of(const struct xai_incr *inc, const struct xai_ivalue *v)
{
    return inc->arena + v->full_off;
}

static int fit(int lo, int len, int n)
{
    if (lo + len > n) lo = n - len;
    return lo < 0 ? 0 : lo;
}

/* This batch's boxes of BOX value v: each copy's changed box, widened to the batch's largest
 * size inside the map. */
static void batch_boxes(struct xai_ivalue *v, int n, const int *iy, const int *ix)
{
    v->bh = v->bw = 1;
    for (int i = 0; i < n; i++) {
        struct xai_ival a = v->ry[iy[i]], b = v->rx[ix[i]];
        if (a.hi - a.lo > v->bh) v->bh = a.hi - a.lo;
        if (b.hi - b.lo > v->bw) v->bw = b.hi - b.lo;
    }
    for (int i = 0; i < n; i++) {
        v->oy[i] = fit(v->ry[iy[i]].lo, v->bh, v->h);
        v->ox[i] = fit(v->rx[ix[i]].lo, v->bw, v->w);
    }
}

/* ---- gathering crops ---- */

/* A crop: rows from oy[i] * s[0] - p[0], columns from ox[i] * s[1] - p[1] of copy i, gh x gw,
 * reading `pad` beyond the map. */
struct crop {
    const int *oy, *ox;
    int s[2], p[2];
    int gh, gw;
    float pad;
};

/* One row of a crop: positions x0 .. x0 + gw of a clean row of width w, overlaid with the
 * row of the box (columns bx .. bx + bw) when box is not NULL. */
static void crop_row(const float *clean, const float *box, int w, int x0, int gw, int bx, int bw,
                     float pad, float *dst)
{
    int a = x0 < 0 ? -x0 : 0, b = x0 + gw > w ? w - x0 : gw;
    if (a > gw) a = gw;
    if (b < a) b = a;
    for (int j = 0; j < a; j++) dst[j] = pad;
    for (int j = b; j < gw; j++) dst[j] = pad;
    memcpy(dst + a, clean + x0 + a, sizeof(float) * (size_t)(b - a));
    if (!box) return;
    int lo = x0 > bx ? x0 : bx, hi = x0 + gw < bx + bw ? x0 + gw : bx + bw;
    if (hi > lo) memcpy(dst + (lo - x0), box + (lo - bx), sizeof(float) * (size_t)(hi - lo));
}

/* The crop of each of the n copies of BOX value x into dst ([n, C, gh, gw]). */
static void gather(const struct xai_incr *inc, const struct xai_ivalue *x, int n,
                   const struct crop *c, float *dst)
{
    const float *box = box_of(inc, x);
    int64_t hw = (int64_t)x->h * x->w, bhw = (int64_t)x->bh * x->bw;
    for (int i = 0; i < n; i++) {
        int y0 = c->oy[i] * c->s[0] - c->p[0], x0 = c->ox[i] * c->s[1] - c->p[1];
        for (int ch = 0; ch < x->c; ch++) {
            const float *cl = x->clean->data + ch * hw;
            const float *bx = box + ((int64_t)i * x->c + ch) * bhw;
            for (int r = 0; r < c->gh; r++, dst += c->gw) {
                int y = y0 + r;
                if (y < 0 || y >= x->h) {
                    for (int j = 0; j < c->gw; j++) dst[j] = c->pad;
                    continue;
                }
                bool in_box = y >= x->oy[i] && y < x->oy[i] + x->bh;
                crop_row(cl + (int64_t)y * x->w,
                         in_box ? bx + (int64_t)(y - x->oy[i]) * x->bw : NULL, x->w, x0, c->gw,
                         x->ox[i], x->bw, c->pad, dst);
            }
        }
    }
}

/* Copy i of BOX value v whole: the clean value with the box pasted in. */
static void materialize(const struct xai_incr *inc, struct xai_ivalue *v, int n)
{
    int64_t chw = (int64_t)v->c * v->h * v->w, bhw = (int64_t)v->bh * v->bw;
    const float *box = box_of(inc, v);
    float *out = full_of(inc, v);
    for (int i = 0; i < n; i++) {
        float *o = out + i * chw;
        memcpy(o, v->clean->data, sizeof(float) * (size_t)chw);
        for (int ch = 0; ch < v->c; ch++)
            for (int r = 0; r < v->bh; r++)
                memcpy(o + ((int64_t)ch * v->h + v->oy[i] + r) * v->w + v->ox[i],
                       box + ((int64_t)i * v->c + ch) * bhw + (int64_t)r * v->bw,
                       sizeof(float) * (size_t)v->bw);
    }
    v->mat_done = true;
}

/* ---- running one node ---- */

static void shape4(struct xai_shape *s, int64_t n, int64_t c, int64_t h, int64_t w)
{
    int64_t d[4] = {n, c, h, w};
    *s = xai_shape_make(4, d);
}

/* The view of constant v (NULL for int64 constants, which init consumed). */
static const struct xai_tensor *const_view(struct xai_incr *inc, int slot, int v)
{
    const struct xai_value *val = &inc->m->values[v];
    if (val->cst->dtype != XAI_F32) return NULL;
    inc->tin[slot] = (struct xai_tensor){val->shape, val->cst->f};
    return &inc->tin[slot];
}

static xai_status run_op(struct xai_incr *inc, int k, const void *params, int64_t n,
                         struct xai_err *err)
{
    const struct xai_node *nd = &inc->m->nodes[k];
    struct xai_shape in[XAI_MAX_NODE_INPUTS], out[XAI_MAX_NODE_OUTPUTS];
    for (int i = 0; i < nd->n_in; i++)
        if (inc->pin[i])
            in[i] = inc->pin[i]->shape;
        else
            memset(&in[i], 0, sizeof in[i]);
    for (int j = 0; j < nd->n_out; j++) out[j] = inc->pout[j]->shape;
    /* The session's threads, each with its own block of scratch (op.h: xai_op_scratch). */
    xai_par *par = xai_session_par(inc->s);
    size_t need = nd->op->scratch ? nd->op->scratch(params, in, nd->n_in, out) : 0;
    size_t total = need * (size_t)xai_par_threads(par);
    if (total > inc->scratch_cap) {
        free(inc->scratch);
        inc->scratch_cap = 0;
        if (posix_memalign((void **)&inc->scratch, 64, total * sizeof(float)))
            return inc->scratch = NULL, xai_fail(err, XAI_NO_MEMORY, "out of memory for scratch");
        inc->scratch_cap = total;
    }
    if (nd->op->macs) inc->macs_done += (double)nd->op->macs(params, in, nd->n_in, out);
    struct xai_op_run r = {params,
                           nd->n_in,
                           inc->pin,
                           nd->n_out,
                           inc->pout,
                           inc->pnull,
                           inc->pnull,
                           inc->scratch,
                           n,
                           .par = par,
                           .scratch_stride = need};
    nd->op->forward(&r);
    return XAI_OK;
}

static xai_status run_full(struct xai_incr *inc, int k, int n, struct xai_err *err)
{
    const struct xai_node *nd = &inc->m->nodes[k];
    for (int i = 0; i < nd->n_in; i++) {
        int v = nd->in[i];
        struct xai_ivalue *x = v >= 0 ? &inc->v[v] : NULL;
        if (!x || x->kind == K_CONST) {
            inc->pin[i] = x ? const_view(inc, i, v) : NULL;
            continue;
        }
        if (x->kind == K_BOX && !x->mat_done) materialize(inc, x, n);
        inc->tin[i] = (struct xai_tensor){inc->shapes[v], full_of(inc, x)};
        inc->pin[i] = &inc->tin[i];
    }
    for (int j = 0; j < nd->n_out; j++) {
        inc->tout[j] =
            (struct xai_tensor){inc->shapes[nd->out[j]], full_of(inc, &inc->v[nd->out[j]])};
        inc->pout[j] = &inc->tout[j];
    }
    return run_op(inc, k, nd->params, n, err);
}

static bool same_boxes(const struct xai_ivalue *a, const struct xai_ivalue *b, int n)
{
    if (a->bh != b->bh || a->bw != b->bw) return false;
    for (int i = 0; i < n; i++)
        if (a->oy[i] != b->oy[i] || a->ox[i] != b->ox[i]) return false;
    return true;
}

/* Input i of a node on crops: a constant whole, an activation cropped to the output box (with
 * the window's halo and padding for window ops). */
static void crop_input(struct xai_incr *inc, int k, int i, const struct xai_ivalue *o, int n)
{
    const struct xai_node *nd = &inc->m->nodes[k];
    const struct xai_inode *in = &inc->nd[k];
    int v = nd->in[i];
    struct xai_ivalue *x = v >= 0 ? &inc->v[v] : NULL;
    if (!x || x->kind == K_CONST) {
        inc->pin[i] = x ? const_view(inc, i, v) : NULL;
        return;
    }
    float *buf = inc->arena + in->gather[i];
    struct crop c = {o->oy, o->ox, {1, 1}, {0, 0}, o->bh, o->bw, 0.f};
    if (in->window) {
        const struct xai_op_window *w = &in->w;
        for (int a = 0; a < 2; a++) c.s[a] = (int)w->s[a], c.p[a] = (int)w->pb[a];
        c.gh = (o->bh - 1) * c.s[0] + (int)((w->k[0] - 1) * w->d[0] + 1);
        c.gw = (o->bw - 1) * c.s[1] + (int)((w->k[1] - 1) * w->d[1] + 1);
        c.pad = w->pad;
    }
    if (!in->window && same_boxes(x, o, n))
        buf = box_of(inc, x);
    else
        gather(inc, x, n, &c, buf);
    shape4(&inc->tin[i].shape, n, x->c, c.gh, c.gw);
    inc->tin[i].data = buf;
    inc->pin[i] = &inc->tin[i];
}

static xai_status run_box(struct xai_incr *inc, int k, int n, const int *iy, const int *ix,
                          struct xai_err *err)
{
    const struct xai_node *nd = &inc->m->nodes[k];
    struct xai_ivalue *o = &inc->v[nd->out[0]];
    batch_boxes(o, n, iy, ix);
    for (int i = 0; i < nd->n_in; i++) crop_input(inc, k, i, o, n);
    shape4(&inc->tout[0].shape, n, o->c, o->bh, o->bw);
    inc->tout[0].data = box_of(inc, o);
    inc->pout[0] = &inc->tout[0];
    const void *params = inc->nd[k].window ? inc->nd[k].unpadded : nd->params;
    struct xai_shape in[XAI_MAX_NODE_INPUTS], want;
    for (int i = 0; i < nd->n_in; i++)
        if (inc->pin[i])
            in[i] = inc->pin[i]->shape;
        else
            memset(&in[i], 0, sizeof in[i]);
    if (nd->op->infer(params, in, nd->n_in, &want, 1, n, err) ||
        !xai_shape_eq(&want, &inc->tout[0].shape))
        return xai_fail(err, XAI_INTERNAL, "incremental inference: node '%s' (%s) on a crop",
                        nd->name, nd->op->name);
    return run_op(inc, k, params, n, err);
}

/* ---- a batch ---- */

static xai_status start_batch(struct xai_incr *inc, int n, const int *iy, const int *ix,
                              const float *patch, struct xai_err *err)
{
    const xai_model *m = inc->m;
    if (n < 1 || n > inc->max_batch || (m->fixed_batch && n != m->fixed_batch))
        return xai_fail(err, XAI_INVALID_ARGUMENT, "incremental inference: %d copies in a run", n);
    for (int i = 0; i < n; i++)
        if (iy[i] < 0 || iy[i] >= inc->g.ny || ix[i] < 0 || ix[i] >= inc->g.nx)
            return xai_fail(err, XAI_INVALID_ARGUMENT, "incremental inference: no box %d, %d",
                            iy[i], ix[i]);
    if (inc->shapes_n != n) {
        xai_status st = xai_model_infer(m, n, inc->shapes, err);
        if (st) return st;
        inc->shapes_n = n;
    }
    for (int v = 0; v < m->n_values; v++) inc->v[v].mat_done = false;
    struct xai_ivalue *x = &inc->v[m->input];
    batch_boxes(x, n, iy, ix);
    memcpy(box_of(inc, x), patch, sizeof(float) * (size_t)n * x->c * x->bh * x->bw);
    return XAI_OK;
}

xai_status xai_incr_run(xai_incr *inc, int n, const int *iy, const int *ix, const float *patch,
                        const struct xai_tensor **out, struct xai_err *err)
{
    *out = NULL;
    xai_status st = start_batch(inc, n, iy, ix, patch, err);
    for (int k = 0; k < inc->m->n_nodes && !st; k++)
        st = inc->nd[k].box ? run_box(inc, k, n, iy, ix, err) : run_full(inc, k, n, err);
    if (st) return st;
    struct xai_ivalue *r = &inc->v[inc->value];
    if (r->kind == K_BOX && !r->mat_done) materialize(inc, r, n);
    inc->result = (struct xai_tensor){inc->shapes[inc->value], full_of(inc, r)};
    inc->macs_whole += inc->macs_one * n;
    *out = &inc->result;
    return XAI_OK;
}
