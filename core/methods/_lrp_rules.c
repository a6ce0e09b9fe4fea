/*
 * _lrp_rules.c - LRP rules of one node; see _lrp_rules.h for the definitions.
 *
 * A rule is a list of variants (modified input, modified weight and bias) whose outputs are
 * summed, with signs, into one or two denominators (Zennit's BasicHook: input, parameter and
 * gradient modifiers plus a reducer). Two passes over the variants: forward passes of the node
 * on the modified copies build the denominators; backward passes of the node carry
 * mask * R / s(denominator) down, and each variant adds coef * modified input * that gradient
 * to the relevance of the input. Weights are modified again in the second pass rather than
 * kept, so the scratch is one copy of each of the node's tensors whatever the rule.
 */
#include "_lrp_rules.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum var_in { IN_X, IN_POS, IN_NEG, IN_ONES, IN_LOW, IN_HIGH };
enum var_w { W_ID, W_POS, W_NEG, W_GPOS, W_GNEG, W_SQUARE, W_ONES };
enum var_mask { MASK_NONE, MASK_ZPOS, MASK_ZNEG };

struct variant {
    unsigned char in, w;
    bool zero_bias;
    unsigned char group; /* which denominator */
    float den;           /* sign of this output in its denominator */
    float coef;          /* factor of this variant's input * gradient in the relevance */
};

struct spec {
    int n, n_groups;
    struct variant v[4];
    unsigned char mask[2]; /* per group: gradient masked by the sign of the unmodified z */
    float stab;
};

static struct spec spec_of(enum xai_lrp_rule rule, const struct xai_lrp_hparams *h)
{
    const float a = h->alpha, b = -h->beta;
    struct spec s = {1, 1, {{IN_X, W_ID, false, 0, 1, 1}}, {MASK_NONE, MASK_NONE}, h->stabilizer};
    switch (rule) {
    case XAI_LRP_EPSILON:
        s.stab = h->epsilon;
        break;
    case XAI_LRP_ZPLUS:
        s = (struct spec){2,
                          1,
                          {{IN_POS, W_POS, false, 0, 1, 1}, {IN_NEG, W_NEG, true, 0, 1, 1}},
                          {MASK_NONE, MASK_NONE},
                          h->stabilizer};
        break;
    case XAI_LRP_ALPHA_BETA:
        s = (struct spec){h->beta != 0 ? 4 : 2,
                          h->beta != 0 ? 2 : 1,
                          {{IN_POS, W_POS, false, 0, 1, a},
                           {IN_NEG, W_NEG, true, 0, 1, a},
                           {IN_POS, W_NEG, false, 1, 1, b},
                           {IN_NEG, W_POS, true, 1, 1, b}},
                          {MASK_NONE, MASK_NONE},
                          h->stabilizer};
        break;
    case XAI_LRP_GAMMA:
        s = (struct spec){4,
                          2,
                          {{IN_POS, W_GPOS, false, 0, 1, 1},
                           {IN_NEG, W_GNEG, true, 0, 1, 1},
                           {IN_POS, W_GNEG, false, 1, 1, 1},
                           {IN_NEG, W_GPOS, true, 1, 1, 1}},
                          {MASK_ZPOS, MASK_ZNEG},
                          h->stabilizer};
        break;
    case XAI_LRP_ZBOX:
        s = (struct spec){3,
                          1,
                          {{IN_X, W_ID, false, 0, 1, 1},
                           {IN_LOW, W_POS, false, 0, -1, -1},
                           {IN_HIGH, W_NEG, false, 0, -1, -1}},
                          {MASK_NONE, MASK_NONE},
                          h->stabilizer};
        break;
    case XAI_LRP_FLAT:
        s.v[0] = (struct variant){IN_ONES, W_ONES, true, 0, 1, 1};
        break;
    case XAI_LRP_WSQUARE:
        s.v[0] = (struct variant){IN_ONES, W_SQUARE, false, 0, 1, 1};
        break;
    }
    return s;
}

void xai_lrp_ws_free(struct xai_lrp_ws *ws)
{
    free(ws->p);
    ws->p = NULL;
    ws->cap = 0;
}

static float *ws_get(struct xai_lrp_ws *ws, size_t n)
{
    if (n <= ws->cap) return ws->p;
    float *p = malloc(n * sizeof(float));
    if (!p) return NULL;
    free(ws->p);
    ws->p = p;
    ws->cap = n;
    return p;
}

/* One loop per mode, each free of branches (signs are unpredictable: a branch per element
 * would cost more than the convolution it prepares). pos/neg are exact: v + |v| = 2v or 0. */
static inline float pos(float v)
{
    return 0.5f * (v + fabsf(v));
}

static inline float neg(float v)
{
    return 0.5f * (v - fabsf(v));
}

static void fill(float *out, int64_t n, float v)
{
    for (int64_t i = 0; i < n; i++) out[i] = v;
}

static void mod_input(unsigned char mode, const float *x, int64_t n,
                      const struct xai_lrp_hparams *h, float *out)
{
    switch (mode) {
    case IN_POS:
        for (int64_t i = 0; i < n; i++) out[i] = pos(x[i]);
        return;
    case IN_NEG:
        for (int64_t i = 0; i < n; i++) out[i] = neg(x[i]);
        return;
    case IN_ONES:
        fill(out, n, 1.f);
        return;
    case IN_LOW:
        fill(out, n, h->low);
        return;
    case IN_HIGH:
        fill(out, n, h->high);
        return;
    default:
        memcpy(out, x, sizeof(float) * (size_t)n);
        return;
    }
}

static void mod_param(unsigned char mode, float gamma, const float *w, int64_t n, float *out)
{
    switch (mode) {
    case W_POS:
        for (int64_t i = 0; i < n; i++) out[i] = pos(w[i]);
        return;
    case W_NEG:
        for (int64_t i = 0; i < n; i++) out[i] = neg(w[i]);
        return;
    case W_GPOS:
        for (int64_t i = 0; i < n; i++) out[i] = w[i] + gamma * pos(w[i]);
        return;
    case W_GNEG:
        for (int64_t i = 0; i < n; i++) out[i] = w[i] + gamma * neg(w[i]);
        return;
    case W_SQUARE:
        for (int64_t i = 0; i < n; i++) out[i] = w[i] * w[i];
        return;
    case W_ONES:
        fill(out, n, 1.f);
        return;
    default:
        memcpy(out, w, sizeof(float) * (size_t)n);
        return;
    }
}

/* Zennit's stabilizer: d + e * sign(d), with sign(0) = +1. */
static inline float stabilize(float d, float e)
{
    return d >= 0.f ? d + e : d - e;
}

/* The node's tensors and the scratch they are modified in. */
struct linear_io {
    const struct xai_op_run *r;
    int64_t nin, nout, nw, nb;
    float *xk, *gk, *wk, *bk, *z, *den[2], *zo;
    bool nonneg; /* no negative input (after a ReLU): variants on x- without bias are zero */
};

static bool io_init(struct linear_io *io, const struct xai_op_run *r, struct xai_lrp_ws *ws)
{
    io->r = r;
    io->nin = xai_shape_numel(&r->in[0]->shape);
    io->nout = xai_shape_numel(&r->gout[0]->shape);
    io->nw = xai_shape_numel(&r->in[1]->shape);
    io->nb = r->n_in > 2 && r->in[2] ? xai_shape_numel(&r->in[2]->shape) : 0;
    float *p = ws_get(ws, (size_t)(2 * io->nin + io->nw + io->nb + 4 * io->nout));
    if (!p) return false;
    io->xk = p;
    io->gk = io->xk + io->nin;
    io->wk = io->gk + io->nin;
    io->bk = io->wk + io->nw;
    io->z = io->bk + io->nb;
    io->den[0] = io->z + io->nout;
    io->den[1] = io->den[0] + io->nout;
    io->zo = io->den[1] + io->nout;
    const float *x = r->in[0]->data;
    float lo = 0.f;
    for (int64_t i = 0; i < io->nin; i++) lo = x[i] < lo ? x[i] : lo;
    io->nonneg = lo >= 0.f;
    return true;
}

/* A variant on x- = 0 without bias has output 0 and adds 0 * gradient: skipping it is exact. */
static bool io_skip(const struct linear_io *io, const struct variant *v)
{
    return io->nonneg && v->in == IN_NEG && v->zero_bias;
}

/* Fills xk, wk, bk for variant v. */
static void io_modify(struct linear_io *io, const struct variant *v,
                      const struct xai_lrp_hparams *h)
{
    const struct xai_op_run *r = io->r;
    mod_input(v->in, r->in[0]->data, io->nin, h, io->xk);
    mod_param(v->w, h->gamma, r->in[1]->data, io->nw, io->wk);
    if (!io->nb) return;
    if (v->zero_bias)
        memset(io->bk, 0, sizeof(float) * (size_t)io->nb);
    else
        mod_param(v->w, h->gamma, r->in[2]->data, io->nb, io->bk);
}

/* Runs the node's forward (gy NULL: into io->z) or its backward of gy (into io->gk) on the
 * modified tensors. */
static void io_run(const struct xai_op_def *op, struct linear_io *io, const float *gy)
{
    const struct xai_op_run *r = io->r;
    struct xai_tensor x = {r->in[0]->shape, io->xk}, w = {r->in[1]->shape, io->wk};
    struct xai_tensor b = {io->nb ? r->in[2]->shape : r->in[0]->shape, io->bk};
    struct xai_tensor y = {r->gout[0]->shape, io->z}, g = {r->gout[0]->shape, (float *)gy};
    struct xai_tensor gx = {r->in[0]->shape, io->gk};
    const struct xai_tensor *in[3] = {&x, &w, io->nb ? &b : NULL}, *out[1] = {&y};
    const struct xai_tensor *gout[1] = {&g}, *gin[3] = {&gx, NULL, NULL};
    struct xai_op_run m = *r;
    m.n_in = r->n_in < 3 ? r->n_in : 3;
    m.in = in;
    m.n_out = 1;
    m.out = out;
    m.gout = gout;
    m.gin = gin;
    if (!gy) {
        op->forward(&m);
        return;
    }
    memset(io->gk, 0, sizeof(float) * (size_t)io->nin);
    op->backward(&m);
}

/* den[g] = mask * R / s(sum of the group's outputs). */
static void linear_denominators(const struct xai_op_def *op, struct linear_io *io,
                                const struct spec *s, const struct xai_lrp_hparams *h)
{
    const float *rel = io->r->gout[0]->data;
    memset(io->den[0], 0, sizeof(float) * (size_t)(2 * io->nout));
    if (s->mask[0] != MASK_NONE) {
        struct variant id = {IN_X, W_ID, false, 0, 1, 1};
        io_modify(io, &id, h);
        io_run(op, io, NULL);
        memcpy(io->zo, io->z, sizeof(float) * (size_t)io->nout);
    }
    for (int k = 0; k < s->n; k++) {
        if (io_skip(io, &s->v[k])) continue;
        io_modify(io, &s->v[k], h);
        io_run(op, io, NULL);
        float *d = io->den[s->v[k].group], sign = s->v[k].den;
        for (int64_t i = 0; i < io->nout; i++) d[i] += sign * io->z[i];
    }
    for (int gi = 0; gi < s->n_groups; gi++) {
        float *d = io->den[gi];
        for (int64_t i = 0; i < io->nout; i++) {
            bool keep = s->mask[gi] == MASK_NONE || (s->mask[gi] == MASK_ZPOS && io->zo[i] > 0.f) ||
                        (s->mask[gi] == MASK_ZNEG && io->zo[i] < 0.f);
            d[i] = keep ? rel[i] / stabilize(d[i], s->stab) : 0.f;
        }
    }
}

bool xai_lrp_linear(const struct xai_op_def *op, const struct xai_op_run *r, enum xai_lrp_rule rule,
                    const struct xai_lrp_hparams *h, struct xai_lrp_ws *ws)
{
    struct spec s = spec_of(rule, h);
    struct linear_io io;
    if (!io_init(&io, r, ws)) return false;
    linear_denominators(op, &io, &s, h);
    float *rx = r->gin[0]->data;
    for (int k = 0; k < s.n; k++) {
        const struct variant *v = &s.v[k];
        if (io_skip(&io, v)) continue;
        io_modify(&io, v, h);
        io_run(op, &io, io.den[v->group]);
        for (int64_t i = 0; i < io.nin; i++) rx[i] += v->coef * io.xk[i] * io.gk[i];
    }
    return true;
}

bool xai_lrp_norm(const struct xai_op_def *op, const struct xai_op_run *r, float stabilizer,
                  struct xai_lrp_ws *ws)
{
    int64_t nout = xai_shape_numel(&r->gout[0]->shape), nin = 0;
    if (r->n_in > XAI_MAX_NODE_INPUTS) return false;
    for (int i = 0; i < r->n_in; i++)
        if (r->gin[i] && xai_shape_numel(&r->in[i]->shape) > nin)
            nin = xai_shape_numel(&r->in[i]->shape);
    float *y = ws_get(ws, (size_t)(nout + nin));
    if (!y) return false;
    float *tmp = y + nout;
    struct xai_tensor yt = {r->gout[0]->shape, y};
    const struct xai_tensor *out[1] = {&yt}, *gout[1] = {&yt};
    const struct xai_tensor *gin[XAI_MAX_NODE_INPUTS] = {0};
    struct xai_op_run m = *r;
    m.out = out;
    m.gout = gout;
    m.gin = gin;
    op->forward(&m);
    const float *rel = r->gout[0]->data;
    for (int64_t i = 0; i < nout; i++) y[i] = rel[i] / stabilize(y[i], stabilizer);
    for (int i = 0; i < r->n_in; i++) {
        if (!r->gin[i]) continue;
        int64_t n = xai_shape_numel(&r->in[i]->shape);
        struct xai_tensor gt = {r->in[i]->shape, tmp};
        memset(tmp, 0, sizeof(float) * (size_t)n);
        gin[i] = &gt;
        op->backward(&m);
        gin[i] = NULL;
        const float *x = r->in[i]->data;
        float *rx = r->gin[i]->data;
        for (int64_t k = 0; k < n; k++) rx[k] += x[k] * tmp[k];
    }
    return true;
}

void xai_lrp_pass(const struct xai_op_run *r)
{
    if (!r->gin[0] || !r->gout[0]) return;
    const float *ry = r->gout[0]->data;
    float *rx = r->gin[0]->data;
    int64_t n = xai_shape_numel(&r->gin[0]->shape);
    for (int64_t i = 0; i < n; i++) rx[i] += ry[i];
}
