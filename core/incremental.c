/* incremental.c - planning incremental runs (see incremental.h): the box of every value for
 * every window position, which nodes run on crops, the arena, and the clean run. */
#include "incremental_impl.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mem_plan.h"

/* Measured single-threaded on ResNet-18 and DenseNet-121 (occlusion, 32 px at stride 16):
 * CPU time falls from 0.4 to 0.8 and is flat or rising above (crops nearly as large as the
 * map cost the gathering on top of the same arithmetic). */
#define DEFAULT_FULL_FRAC 0.8

static int floor_div(int a, int b)
{
    return a >= 0 ? a / b : -((-a + b - 1) / b);
}

static int clampi(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* The outputs (of n along the axis) whose window meets the input positions a. */
static struct xai_ival through_window(struct xai_ival a, const struct xai_op_window *w, int ax,
                                      int n)
{
    if (a.lo >= a.hi) return a;
    int e = (int)((w->k[ax] - 1) * w->d[ax] + 1), s = (int)w->s[ax], p = (int)w->pb[ax];
    struct xai_ival o = {floor_div(a.lo + p - e, s) + 1, floor_div(a.hi - 1 + p, s) + 1};
    o.lo = clampi(o.lo, 0, n);
    o.hi = clampi(o.hi, 0, n);
    return o;
}

static struct xai_ival join(struct xai_ival a, struct xai_ival b)
{
    if (a.lo >= a.hi) return b;
    if (b.lo >= b.hi) return a;
    return (struct xai_ival){a.lo < b.lo ? a.lo : b.lo, a.hi > b.hi ? a.hi : b.hi};
}

/* Projective field thresholding: at most field x n positions, around the centre. */
static struct xai_ival cut(struct xai_ival a, double field, int n)
{
    int c = (int)ceil(field * n);
    if (field >= 1 || a.hi - a.lo <= c) return a;
    c = c < 1 ? 1 : c;
    int lo = a.lo + (a.hi - a.lo - c) / 2;
    return (struct xai_ival){lo, lo + c};
}

static bool is_act(const xai_model *m, int v)
{
    return v >= 0 && !m->values[v].cst;
}

/* ---- which nodes run on crops ---- */

static enum xai_window_fit window_capable(struct xai_incr *inc, int k)
{
    const xai_model *m = inc->m;
    const struct xai_node *n = &m->nodes[k];
    struct xai_inode *nd = &inc->nd[k];
    if (!is_act(m, n->in[0]) || inc->v[n->in[0]].kind != K_BOX) return XAI_WINDOW_NO;
    for (int i = 1; i < n->n_in; i++)
        if (is_act(m, n->in[i])) return XAI_WINDOW_NO;
    enum xai_window_fit fit =
        n->op->window(n->params, &m->values[n->in[0]].shape, &nd->w, &nd->unpadded);
    nd->window = fit == XAI_WINDOW_YES;
    return fit;
}

static bool pointwise_capable(struct xai_incr *inc, int k, const struct xai_shape *out)
{
    const xai_model *m = inc->m;
    const struct xai_node *n = &m->nodes[k];
    struct xai_shape in[XAI_MAX_NODE_INPUTS];
    for (int i = 0; i < n->n_in; i++)
        if (n->in[i] >= 0)
            in[i] = m->values[n->in[i]].shape;
        else
            memset(&in[i], 0, sizeof in[i]);
    if (!n->op->pointwise(n->params, in, n->n_in, out)) return false;
    for (int i = 0; i < n->n_in; i++) {
        if (n->in[i] < 0) continue;
        bool spans = in[i].ndim == 4 && in[i].d[2] == out->d[2] && in[i].d[3] == out->d[3];
        if (is_act(m, n->in[i]) ? !spans || inc->v[n->in[i]].kind != K_BOX
                                : spans && out->d[2] * out->d[3] > 1)
            return false;
    }
    return true;
}

static enum xai_window_fit crop_capable(struct xai_incr *inc, int k)
{
    const struct xai_node *n = &inc->m->nodes[k];
    const struct xai_shape *out = &inc->m->values[n->out[0]].shape;
    if (n->n_out != 1 || out->ndim != 4 || out->d[0] != 1) return XAI_WINDOW_NO;
    if (n->op->window) return window_capable(inc, k);
    return n->op->pointwise && pointwise_capable(inc, k, out) ? XAI_WINDOW_YES : XAI_WINDOW_NO;
}

/* The changed interval of node k's output for grid row/column j along axis ax (0: rows). */
static struct xai_ival node_ival(const struct xai_incr *inc, int k, int ax, int j, int len)
{
    const struct xai_node *n = &inc->m->nodes[k];
    const struct xai_inode *nd = &inc->nd[k];
    struct xai_ival r = {0, 0};
    if (nd->window) {
        const struct xai_ivalue *x = &inc->v[n->in[0]];
        r = through_window(ax ? x->rx[j] : x->ry[j], &nd->w, ax, len);
    } else {
        for (int i = 0; i < n->n_in; i++)
            if (is_act(inc->m, n->in[i]))
                r = join(r, ax ? inc->v[n->in[i]].rx[j] : inc->v[n->in[i]].ry[j]);
    }
    return cut(r, inc->field, len);
}

static int longest(const struct xai_ival *r, int n)
{
    int best = 1;
    for (int j = 0; j < n; j++)
        if (r[j].hi - r[j].lo > best) best = r[j].hi - r[j].lo;
    return best;
}

static xai_status set_box(struct xai_ivalue *v, const struct xai_shape *s,
                          const struct xai_incr *inc)
{
    v->kind = K_BOX;
    v->c = (int)s->d[1], v->h = (int)s->d[2], v->w = (int)s->d[3];
    v->ry = malloc(sizeof *v->ry * (size_t)inc->g.ny);
    v->rx = malloc(sizeof *v->rx * (size_t)inc->g.nx);
    return v->ry && v->rx ? XAI_OK : XAI_NO_MEMORY;
}

static void drop_box(struct xai_ivalue *v)
{
    free(v->ry);
    free(v->rx);
    v->ry = v->rx = NULL;
    v->kind = K_FULL;
}

/* Decides node k: on crops when it can and its output box stays below the threshold. */
static xai_status plan_node(struct xai_incr *inc, int k)
{
    const struct xai_node *n = &inc->m->nodes[k];
    for (int j = 0; j < n->n_out; j++) inc->v[n->out[j]].kind = K_FULL;
    enum xai_window_fit fit = crop_capable(inc, k);
    if (fit == XAI_WINDOW_NO_MEMORY) return XAI_NO_MEMORY;
    if (fit == XAI_WINDOW_NO) return XAI_OK;
    struct xai_ivalue *o = &inc->v[n->out[0]];
    if (set_box(o, &inc->m->values[n->out[0]].shape, inc)) return XAI_NO_MEMORY;
    for (int j = 0; j < inc->g.ny; j++) o->ry[j] = node_ival(inc, k, 0, j, o->h);
    for (int j = 0; j < inc->g.nx; j++) o->rx[j] = node_ival(inc, k, 1, j, o->w);
    o->mh = longest(o->ry, inc->g.ny);
    o->mw = longest(o->rx, inc->g.nx);
    inc->nd[k].box = (double)o->mh * o->mw < inc->frac * o->h * o->w;
    if (inc->nd[k].box) return XAI_OK;
    drop_box(o);
    free(inc->nd[k].unpadded);
    inc->nd[k].unpadded = NULL;
    inc->nd[k].window = false;
    return XAI_OK;
}

static xai_status plan_input(struct xai_incr *inc)
{
    struct xai_ivalue *v = &inc->v[inc->m->input];
    if (set_box(v, &inc->m->values[inc->m->input].shape, inc)) return XAI_NO_MEMORY;
    for (int j = 0; j < inc->g.ny; j++)
        v->ry[j] = (struct xai_ival){inc->g.ys[j], inc->g.ys[j] + inc->g.bh};
    for (int j = 0; j < inc->g.nx; j++)
        v->rx[j] = (struct xai_ival){inc->g.xs[j], inc->g.xs[j] + inc->g.bw};
    v->mh = inc->g.bh;
    v->mw = inc->g.bw;
    return XAI_OK;
}

/* Steps at which each value is produced, last read, and first read whole. */
static void plan_uses(struct xai_incr *inc)
{
    const xai_model *m = inc->m;
    int end = xai_incr_end(inc);
    for (int v = 0; v < m->n_values; v++) {
        inc->v[v].t0 = inc->v[v].t1 = m->values[v].producer + 1;
        inc->v[v].tfull = end + 1;
    }
    for (int k = 0; k < m->n_nodes; k++)
        for (int i = 0; i < m->nodes[k].n_in; i++) {
            int v = m->nodes[k].in[i];
            if (!is_act(m, v)) continue;
            inc->v[v].t1 = k + 1;
            if (!inc->nd[k].box && inc->v[v].tfull > k + 1) inc->v[v].tfull = k + 1;
        }
    inc->v[inc->value].t1 = end;
    if (inc->v[inc->value].tfull > end) inc->v[inc->value].tfull = end;
    for (int v = 0; v < m->n_values; v++)
        inc->v[v].mat = inc->v[v].kind == K_BOX && inc->v[v].tfull <= end;
}

/* ---- the arena ---- */

struct reqs {
    struct xai_mreq *r;
    size_t **dst; /* where each placed offset goes */
    int n;
};

static void add_req(struct reqs *q, int t0, int t1, size_t floats, size_t *dst)
{
    q->r[q->n] = (struct xai_mreq){t0, t1, (floats + 15) / 16 * 16, 0};
    q->dst[q->n++] = dst;
}

static void value_reqs(struct xai_incr *inc, const struct xai_shape *sb, struct reqs *q)
{
    size_t b = (size_t)inc->max_batch;
    for (int i = 0; i < inc->m->n_values; i++) {
        struct xai_ivalue *v = &inc->v[i];
        size_t whole = (size_t)xai_shape_numel(&sb[i]);
        if (v->kind == K_BOX) add_req(q, v->t0, v->t1, b * v->c * v->mh * v->mw, &v->box_off);
        if (v->kind == K_BOX && v->mat) add_req(q, v->tfull, v->t1, whole, &v->full_off);
        if (v->kind == K_FULL) add_req(q, v->t0, v->t1, whole, &v->full_off);
    }
}

static xai_status node_reqs(struct xai_incr *inc, struct reqs *q)
{
    const xai_model *m = inc->m;
    for (int k = 0; k < m->n_nodes; k++) {
        const struct xai_node *n = &m->nodes[k];
        struct xai_inode *nd = &inc->nd[k];
        if (!nd->box) continue;
        if (!(nd->gather = malloc(sizeof(size_t) * (size_t)n->n_in))) return XAI_NO_MEMORY;
        const struct xai_ivalue *o = &inc->v[n->out[0]];
        for (int i = 0; i < n->n_in; i++) {
            nd->gather[i] = SIZE_MAX;
            if (!is_act(m, n->in[i])) continue;
            size_t gh = (size_t)o->mh, gw = (size_t)o->mw;
            if (nd->window) {
                gh = (gh - 1) * (size_t)nd->w.s[0] + (size_t)((nd->w.k[0] - 1) * nd->w.d[0] + 1);
                gw = (gw - 1) * (size_t)nd->w.s[1] + (size_t)((nd->w.k[1] - 1) * nd->w.d[1] + 1);
            }
            size_t c = (size_t)inc->v[n->in[i]].c;
            add_req(q, k + 1, k + 1, (size_t)inc->max_batch * c * gh * gw, &nd->gather[i]);
        }
    }
    return XAI_OK;
}

static xai_status plan_arena(struct xai_incr *inc, struct xai_err *err)
{
    const xai_model *m = inc->m;
    int cap = 2 * m->n_values;
    for (int k = 0; k < m->n_nodes; k++) cap += m->nodes[k].n_in;
    struct reqs q = {calloc((size_t)cap, sizeof *q.r), calloc((size_t)cap, sizeof *q.dst), 0};
    int *work = calloc(2 * (size_t)cap, sizeof(int));
    struct xai_shape *sb = calloc((size_t)m->n_values, sizeof *sb);
    xai_status st = q.r && q.dst && work && sb ? XAI_OK : XAI_NO_MEMORY;
    if (!st) st = xai_model_infer(m, inc->max_batch, sb, err);
    if (!st) {
        value_reqs(inc, sb, &q);
        st = node_reqs(inc, &q);
    }
    if (!st) {
        size_t top = xai_plan_place(q.r, q.n, 0, work);
        for (int i = 0; i < q.n; i++) *q.dst[i] = q.r[i].off;
        if (posix_memalign((void **)&inc->arena, 64, (top ? top : 1) * sizeof(float)))
            inc->arena = NULL, st = XAI_NO_MEMORY;
    }
    free(q.r);
    free(q.dst);
    free(work);
    free(sb);
    return st == XAI_NO_MEMORY ? xai_fail(err, st, "out of memory for incremental inference") : st;
}

/* ---- creation ---- */

static xai_status check_args(const xai_model *m, const struct xai_tensor *x, int value,
                             const struct xai_incr_grid *g, int max_batch, struct xai_err *err)
{
    const struct xai_shape *s = &x->shape;
    if (s->ndim != 4 || s->d[0] != 1 || value < 0 || value >= m->n_values || !is_act(m, value) ||
        max_batch < 1)
        return xai_fail(err, XAI_INVALID_ARGUMENT,
                        "incremental inference needs a [1, C, H, W] input and a result value");
    bool ok = g->bh >= 1 && g->bw >= 1 && g->ny >= 1 && g->nx >= 1;
    for (int j = 0; ok && j < g->ny; j++) ok = g->ys[j] >= 0 && g->ys[j] + g->bh <= s->d[2];
    for (int j = 0; ok && j < g->nx; j++) ok = g->xs[j] >= 0 && g->xs[j] + g->bw <= s->d[3];
    if (!ok)
        return xai_fail(err, XAI_INVALID_ARGUMENT,
                        "incremental inference: a box lies outside the %lldx%lld input",
                        (long long)s->d[3], (long long)s->d[2]);
    return XAI_OK;
}

static xai_status alloc_incr(xai_session *s, const struct xai_incr_grid *g, int max_batch,
                             xai_incr **out)
{
    const xai_model *m = xai_session_model(s);
    xai_incr *inc = calloc(1, sizeof *inc);
    if (!inc) return XAI_NO_MEMORY;
    *out = inc;
    inc->m = m;
    inc->s = s;
    inc->g = *g;
    inc->max_batch = max_batch;
    int *grid = malloc(sizeof(int) * (size_t)(g->ny + g->nx));
    inc->g.ys = inc->g.xs = grid;
    inc->org = calloc(2 * (size_t)m->n_values * (size_t)max_batch, sizeof(int));
    inc->v = calloc((size_t)m->n_values, sizeof *inc->v);
    inc->nd = calloc((size_t)m->n_nodes + 1, sizeof *inc->nd);
    inc->shapes = calloc((size_t)m->n_values, sizeof *inc->shapes);
    inc->pin = calloc(XAI_MAX_NODE_INPUTS + XAI_MAX_NODE_OUTPUTS, sizeof *inc->pin);
    inc->pnull = calloc(XAI_MAX_NODE_INPUTS + XAI_MAX_NODE_OUTPUTS, sizeof *inc->pnull);
    inc->tin = calloc(XAI_MAX_NODE_INPUTS + XAI_MAX_NODE_OUTPUTS, sizeof *inc->tin);
    if (!grid || !inc->org || !inc->v || !inc->nd || !inc->shapes || !inc->pin || !inc->pnull ||
        !inc->tin)
        return XAI_NO_MEMORY;
    memcpy(grid, g->ys, sizeof(int) * (size_t)g->ny);
    memcpy(grid + g->ny, g->xs, sizeof(int) * (size_t)g->nx);
    inc->g.xs = grid + g->ny;
    inc->pout = inc->pin + XAI_MAX_NODE_INPUTS;
    inc->tout = inc->tin + XAI_MAX_NODE_INPUTS;
    for (int v = 0; v < m->n_values; v++) {
        inc->v[v].kind = m->values[v].cst ? K_CONST : K_FULL;
        inc->v[v].oy = inc->org + 2 * (size_t)v * (size_t)max_batch;
        inc->v[v].ox = inc->v[v].oy + max_batch;
    }
    return XAI_OK;
}

/* Runs x through the session, keeping every BOX value the runs read, and the result. */
static xai_status clean_run(struct xai_incr *inc, const struct xai_tensor *x, struct xai_err *err)
{
    xai_status st = XAI_OK;
    for (int v = 0; v < inc->m->n_values && !st; v++)
        if ((inc->v[v].kind == K_BOX && inc->v[v].t1 > inc->v[v].t0) || v == inc->value)
            st = xai_session_keep(inc->s, v, err);
    if (!st) st = xai_session_forward(inc->s, x, err);
    xai_session_keep_clear(inc->s);
    for (int v = 0; v < inc->m->n_values && !st; v++)
        if (inc->v[v].kind == K_BOX || v == inc->value)
            inc->v[v].clean = xai_session_value(inc->s, v);
    return st;
}

xai_status xai_incr_new(xai_session *s, const struct xai_tensor *x, int value,
                        const struct xai_incr_grid *g, const struct xai_incr_opts *o, int max_batch,
                        xai_incr **out, struct xai_err *err)
{
    *out = NULL;
    const xai_model *m = xai_session_model(s);
    xai_status st = check_args(m, x, value, g, max_batch, err);
    if (st) return st;
    xai_incr *inc = NULL;
    if ((st = alloc_incr(s, g, max_batch, &inc))) {
        xai_incr_free(inc);
        return xai_fail(err, st, "out of memory for incremental inference");
    }
    inc->value = value;
    inc->frac = o && o->full_frac > 0 ? o->full_frac : DEFAULT_FULL_FRAC;
    inc->field = o && o->field > 0 && o->field < 1 ? o->field : 1.0;
    inc->macs_one = (double)xai_model_macs(m);
    st = plan_input(inc);
    for (int k = 0; k < m->n_nodes && !st; k++) st = plan_node(inc, k);
    if (st) st = xai_fail(err, st, "out of memory for incremental inference");
    if (!st) {
        plan_uses(inc);
        st = plan_arena(inc, err);
    }
    if (!st) st = clean_run(inc, x, err);
    if (st) {
        xai_incr_free(inc);
        return st;
    }
    *out = inc;
    return XAI_OK;
}

void xai_incr_free(xai_incr *inc)
{
    if (!inc) return;
    for (int v = 0; inc->v && v < inc->m->n_values; v++) drop_box(&inc->v[v]);
    for (int k = 0; inc->nd && k < inc->m->n_nodes; k++) {
        free(inc->nd[k].unpadded);
        free(inc->nd[k].gather);
    }
    free(inc->org);
    free((void *)inc->g.ys);
    free(inc->v);
    free(inc->nd);
    free(inc->arena);
    free(inc->scratch);
    free(inc->shapes);
    free(inc->pin);
    free(inc->pnull);
    free(inc->tin);
    free(inc);
}

const struct xai_tensor *xai_incr_clean(const xai_incr *inc)
{
    return inc->v[inc->value].clean;
}

void xai_incr_macs(const xai_incr *inc, double *done, double *whole)
{
    *done = inc->macs_done;
    *whole = inc->macs_whole;
}

int xai_incr_box_nodes(const xai_incr *inc)
{
    int n = 0;
    for (int k = 0; k < inc->m->n_nodes; k++) n += inc->nd[k].box;
    return n;
}
