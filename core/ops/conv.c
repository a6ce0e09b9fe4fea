/*
 * conv.c - Conv (1-D and 2-D): y = W * x + B, per group. Backward: the input's gradient only
 * (the weights are constants).
 *
 * The ways it computes (_conv_paths.h), chosen per node and shape: depthwise convolutions
 * (one input channel per group) run a direct loop; 3x3 stride-1 convolutions run Winograd
 * F(4x4, 3x3) (_winograd.h) when their maps are big enough, F(2x2, 3x3) on smaller maps with
 * many channels (see WINO_TILES; weights other than the model's, as LRP's modified copies,
 * never use the kept transform); other stride-1 convolutions with few output channels run
 * shifted views of a padded copy (_conv_shift.c); the rest im2col + sgemm (_conv_gemm.c).
 * All split their work between the session's threads by shape only. A following Relu can be
 * fused (op.h).
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "_conv_paths.h"
#include "_conv_util.h"
#include "_depthwise.h"
#include "_pgemm.h"
#include "_util.h"
#include "_vec.h"
#include "_winograd.h"

/* Weights derived from the model's on their first use (see derived), not at load: forms that
 * only some batch sizes use (F(2x2, 3x3)'s from batch 2, the packed ones at batch 1) then take
 * memory only in processes that run those. Shared by the node's params and their crop copies
 * (crop_window); set once, atomically, so sessions on several threads may race to build them. */
struct conv_lazy {
    _Atomic(float *) u;   /* Winograd weights (see wino_u), group after group */
    _Atomic(float *) wp;  /* packed for _pgemm.h, group after group (forward) */
    _Atomic(float *) wtp; /* their transposes packed (backward) */
};

struct conv_p {
    struct xai_conv_attrs a;
    int64_t m, cg; /* output channels; input channels per group */
    bool bias;
    bool own_gemm; /* xai_pgemm_on() at load: own AVX-512 kernels (_pgemm.h, _conv_direct.c) */
    bool pack;     /* narrow im2col products on the model's weights use _pgemm.h (batch 1) */
    struct conv_lazy *lz;
    float *u;        /* F(4x4, 3x3) weights, group after group (see wino_tile); NULL: none, or
                        built on first use (conv_lazy.u, see wino_u) */
    int tile;        /* their output tile: 4 (F(4x4, 3x3)) or 2 (F(2x2, 3x3)) */
    float *w9;       /* F(4x4, 3x3) on maps of at most WINO_FLY_TILES tiles: the weights tap by
                        tap, group after group (xai_wino_job.w9); NULL: none */
    const float *w0; /* the model's weights: runs on others (LRP's modified copies) take no
                        Winograd path (see path_of) */
};

static void free_params(void *pp)
{
    struct conv_p *p = pp;
    if (p) {
        free(p->u);
        free(p->w9);
        if (p->lz) {
            free(atomic_load(&p->lz->u));
            free(atomic_load(&p->lz->wp));
            free(atomic_load(&p->lz->wtp));
        }
        free(p->lz);
    }
    free(p);
}

static xai_status window(const struct conv_p *p, const struct xai_shape *x, struct xai_win *g,
                         struct xai_err *err)
{
    int64_t h, w;
    xai_status st = xai_conv_input("Conv", &p->a, x, p->cg * p->a.group, &h, &w, err);
    if (st) return st;
    return xai_conv_window("Conv", &p->a, p->cg, h, w, g, err);
}

static bool is_depthwise(const struct conv_p *p)
{
    return p->cg == 1 && p->a.group > 1;
}

/* 3x3 stride-1 convolutions run Winograd F(4x4, 3x3) (_winograd.h), with weights transformed
 * at load, when their output has at least WINO_TILES 4x4 tiles per batch item (decided from
 * the input's shape at batch 1): on smaller maps with many channels the gemms get too narrow
 * at batch 1, and the transformed weights (4x the weights) too big for what they save. Maps
 * with at least WINO_TILES 2x2 tiles (7x7 and up: ResNet's last stage at 224 x 224) and
 * WINO2_CHANNELS input and output channels run F(2x2, 3x3) instead (16/9 of the weights,
 * 2.25x fewer multiplies) on batches of WINO2_BATCH or more: with fewer channels its gemms are
 * too small to pay for the transforms, and at batch 1 a whole ResNet-18 pass ran 3 % slower
 * with it (its weights, 16/9 of im2col's, are streamed for only 16 tiles), so batch 1 runs
 * im2col. (Transforming F(4x4, 3x3) weights per call for such maps was tried: on par with
 * im2col at batch 16.)
 * On unless XAI_WINOGRAD=0 is set when the model loads: F(4x4, 3x3) is accurate to about 1e-5
 * of the largest output instead of 1e-7 (docs/performance.md, "Winograd and accuracy"). */
#define WINO_TILES 16
/* ... and at least WINO_CHANNELS input channels per group: below, the transforms cost more
 * than the gemms save (a first layer on a grey image), and such a layer's backward is often
 * the input gradient itself, which Winograd's rounding (about 1e-5 of the largest value,
 * against 1e-7) would reach undamped. */
#define WINO_CHANNELS 8
/* F(4x4, 3x3) layers with at most WINO_FLY_TILES tiles per batch item and at least
 * WINO_FLY_KERNELS kernels (m c: U is then 36 m c floats, several MB) keep their weights tap by
 * tap too (as many floats as the weights), so that calls on a few items transform them during
 * the call instead of streaming U from memory (_winograd.h). ResNet-18's third stage at
 * 224 x 224 (16 tiles, 256 x 256 kernels): 1.05 -> 0.81 ms per convolution at batch 1 within a
 * whole pass (minima of 5 x 15 runs; 0.63 when U is still in cache, as when the node runs
 * alone). Its second stage (49 tiles, U 2.4 MB) gained nothing. */
#define WINO_FLY_TILES 32
#define WINO_FLY_KERNELS 32768
#define WINO2_CHANNELS 64
#define WINO2_BATCH 2

static int64_t tiles_of(const struct xai_win *g, int64_t t)
{
    return ((g->oh + t - 1) / t) * ((g->ow + t - 1) / t);
}

static bool wino_layer(const struct conv_p *p, const struct xai_win *g)
{
    return !is_depthwise(p) && p->a.nsp == 2 && p->cg >= WINO_CHANNELS && xai_wino_fits(g);
}

/* Winograd is on unless XAI_WINOGRAD=0 is set when the model loads (see the top). */
static bool winograd_enabled(void)
{
    const char *v = getenv("XAI_WINOGRAD");
    return !(v && !strcmp(v, "0"));
}

/* The Winograd tile for a node whose input has shape x: 4, 2, or 0 for none. */
static int wino_tile(const struct conv_p *p, const struct xai_shape *x)
{
    struct xai_win g;
    if (!winograd_enabled() || window(p, x, &g, NULL) || !wino_layer(p, &g)) return 0;
    if (tiles_of(&g, 4) >= WINO_TILES) return 4;
    bool wide = p->cg >= WINO2_CHANNELS && p->m / p->a.group >= WINO2_CHANNELS;
    return wide && tiles_of(&g, 2) >= WINO_TILES ? 2 : 0;
}

enum path { PATH_DEPTHWISE, PATH_WINO, PATH_SHIFT, PATH_GEMM, PATH_DIRECT };

/* The path for a run on weights w (see the top). Winograd only on the model's own weights:
 * runs on others are LRP's passes on modified copies, whose ratios of small sums Winograd's
 * rounding would disturb. */
static enum path path_of(const struct conv_p *p, const struct xai_win *g, int64_t n, const float *w)
{
    if (is_depthwise(p)) return PATH_DEPTHWISE;
    if (p->tile && w == p->w0 && (p->tile == 4 || n >= WINO2_BATCH)) return PATH_WINO;
    return xai_conv_shift_fits(g, p->m, p->a.group, n) ? PATH_SHIFT : PATH_GEMM;
}

/* Whether runs at batch 1 on the model's weights take im2col products narrow enough for
 * _pgemm.h (then its packed weights are built on the first such run). */
static bool pack_layer(const struct conv_p *p, const struct xai_shape *x)
{
    struct xai_win g;
    if (!p->own_gemm || window(p, x, &g, NULL)) return false;
    return path_of(p, &g, 1, p->w0) == PATH_GEMM && xai_conv_gemm_narrow(&g, 1);
}

/* An F(4x4, 3x3) layer's p->u, or for layers that keep their weights tap by tap (see
 * WINO_FLY_TILES) p->w9 (their u is then built on first use, by runs on bigger batches). */
static xai_status wino_weights(struct conv_p *p, const struct xai_node_def *nd, struct xai_err *err)
{
    int64_t mg = p->m / p->a.group, per = xai_wino_positions(4) * mg * p->cg;
    struct xai_win g;
    window(p, &nd->in_shape[0], &g, NULL);
    bool fly = tiles_of(&g, 4) <= WINO_FLY_TILES && mg * p->cg >= WINO_FLY_KERNELS;
    p->u = fly ? NULL : malloc(sizeof(float) * (size_t)(per * p->a.group));
    p->w9 = malloc(sizeof(float) * (size_t)(9 * mg * p->cg * p->a.group));
    if ((!fly && !p->u) || !p->w9) {
        free(p->u);
        free(p->w9);
        p->u = p->w9 = NULL;
        return xai_fail(err, XAI_NO_MEMORY, "out of memory");
    }
    for (int64_t gi = 0; gi < p->a.group; gi++)
        xai_wino_weights(nd->in_const[1]->f + gi * mg * p->cg * 9, mg, p->cg, 4,
                         p->w9 + gi * 9 * mg * p->cg, p->u ? p->u + gi * per : NULL);
    if (!fly) {
        free(p->w9);
        p->w9 = NULL;
    }
    return XAI_OK;
}

/* Winograd weights built on first use (NULL: out of memory): F(2x2, 3x3)'s from the model's
 * weights, or F(4x4, 3x3)'s of a layer that keeps them tap by tap from those (p->w9). */
static float *build_u(const struct conv_p *p)
{
    int64_t mg = p->m / p->a.group, per = xai_wino_positions(p->tile) * mg * p->cg;
    float *u = malloc(sizeof(float) * (size_t)(per * p->a.group));
    for (int64_t gi = 0; u && gi < p->a.group; gi++)
        xai_wino_weights(p->tile == 2 ? p->w0 + gi * mg * p->cg * 9 : NULL, mg, p->cg, p->tile,
                         p->tile == 4 ? p->w9 + gi * 9 * mg * p->cg : NULL, u + gi * per);
    return u;
}

/* The model's weights (trans: their transposes) packed for _pgemm.h, group after group
 * (NULL: out of memory). */
static float *build_packed(const struct conv_p *p, bool trans)
{
    int64_t mg = p->m / p->a.group, kk = p->cg * p->a.k[0] * p->a.k[1];
    size_t per = xai_pgemm_floats(trans ? kk : mg, trans ? mg : kk);
    float *wp = aligned_alloc(64, sizeof(float) * per * (size_t)p->a.group);
    for (int64_t gi = 0; wp && gi < p->a.group; gi++)
        xai_pgemm_pack(p->w0 + gi * mg * kk, trans ? kk : mg, trans ? mg : kk, trans,
                       wp + (size_t)gi * per);
    return wp;
}

static float *build_wp(const struct conv_p *p)
{
    return build_packed(p, false);
}

static float *build_wtp(const struct conv_p *p)
{
    return build_packed(p, true);
}

/* *slot, built by build on first use: the first to finish sets it, the others free theirs. */
static float *derived(_Atomic(float *) *slot, float *(*build)(const struct conv_p *),
                      const struct conv_p *p)
{
    float *v = atomic_load_explicit(slot, memory_order_acquire), *mine;
    if (v || !(mine = build(p))) return v;
    if (atomic_compare_exchange_strong_explicit(slot, &v, mine, memory_order_acq_rel,
                                                memory_order_acquire))
        return mine;
    free(mine);
    return v;
}

/* The Winograd weights a run on n items reads, into *u (NULL: it reads none, see
 * xai_wino_reads_u). False: they could not be built (out of memory). */
static bool wino_u(const struct conv_p *p, const struct xai_win *g, int64_t n, const float **u)
{
    if (p->tile == 4 && (p->u || !xai_wino_reads_u(g, p->m / p->a.group, n, 4, true))) {
        *u = p->u;
        return true;
    }
    *u = derived(&p->lz->u, build_u, p);
    return *u != NULL;
}

static xai_status init(const struct xai_node_def *nd, void **params, struct xai_err *err)
{
    struct conv_p p = {0};
    xai_status st = xai_conv_weights(nd, 1, &p.a, err);
    if (st) return st;
    const struct xai_shape *w = &nd->in_shape[1];
    if ((st = xai_conv_attrs_read(nd, w, &p.a, err))) return st;
    p.m = w->d[0];
    p.cg = w->d[1];
    if (p.m % p.a.group != 0 || p.cg < 1)
        return xai_fail(err, XAI_BAD_MODEL,
                        "node '%s' (Conv): %lld output channels do not split into %lld groups",
                        nd->name, (long long)p.m, (long long)p.a.group);
    if ((st = xai_conv_bias(nd, 2, p.m, &p.bias, err))) return st;
    p.w0 = nd->in_const[1]->f;
    p.own_gemm = xai_pgemm_on();
    p.tile = wino_tile(&p, &nd->in_shape[0]);
    if (p.tile == 4 && (st = wino_weights(&p, nd, err))) return st;
    p.pack = pack_layer(&p, &nd->in_shape[0]);
    struct conv_p *out = malloc(sizeof *out);
    p.lz = calloc(1, sizeof *p.lz);
    if (!out || !p.lz) {
        free(out);
        free(p.lz);
        free(p.u);
        free(p.w9);
        return xai_fail(err, XAI_NO_MEMORY, "out of memory");
    }
    *out = p;
    *params = out;
    return XAI_OK;
}

static xai_status infer(const void *pp, const struct xai_shape *in, int n_in, struct xai_shape *out,
                        int n_out, int64_t batch, struct xai_err *err)
{
    const struct conv_p *p = pp;
    struct xai_win g;
    xai_status st = window(p, &in[0], &g, err);
    if (st) return st;
    out[0] = xai_conv_shape(&p->a, in[0].d[0], p->m, g.oh, g.ow);
    return XAI_OK;
}

static size_t scratch(const void *pp, const struct xai_shape *in, int n_in,
                      const struct xai_shape *out)
{
    const struct conv_p *p = pp;
    struct xai_win g;
    if (window(p, &in[0], &g, NULL) || is_depthwise(p)) return 0;
    /* any path a run may take: the kept weights', or another on other weights */
    int64_t n = in[0].d[0];
    size_t kept = p->tile ? xai_wino_scratch(&g, p->m / p->a.group, n, p->tile, p->w9) : 0, other;
    if (xai_conv_shift_fits(&g, p->m, p->a.group, n))
        other = xai_conv_shift_scratch(&g, p->m);
    else
        other = xai_conv_gemm_scratch(&g, p->m, p->a.group, n);
    if (xai_conv_direct_fits(&g, p->m, p->a.group, p->own_gemm) &&
        xai_conv_direct_scratch(&g) > other)
        other = xai_conv_direct_scratch(&g);
    if (xai_conv_direct_bwd_fits(&g, p->m, p->a.group, p->own_gemm) &&
        xai_conv_direct_bwd_scratch(&g, p->m) > other)
        other = xai_conv_direct_bwd_scratch(&g, p->m);
    return kept > other ? kept : other;
}

static int64_t macs(const void *pp, const struct xai_shape *in, int n_in,
                    const struct xai_shape *out)
{
    const struct conv_p *p = pp;
    int64_t taps = p->cg * p->a.k[0] * p->a.k[1];
    return xai_shape_numel(&out[0]) * taps;
}

struct dw_ctx {
    const struct conv_p *p;
    const struct xai_win *g;
    const struct xai_op_run *r;
};

/* Output plane i = (item, channel m). */
static void dw_forward_plane(void *ctx, int64_t i, int tid)
{
    const struct dw_ctx *c = ctx;
    const struct conv_p *p = c->p;
    const struct xai_win *g = c->g;
    int64_t m = i % p->m, b_i = i / p->m, mult = p->m / p->a.group, taps = g->kh * g->kw;
    const float *bias = p->bias ? c->r->in[2]->data : NULL;
    float *y = c->r->out[0]->data + i * g->oh * g->ow;
    xai_dw_forward_plane(g, c->r->in[0]->data + (b_i * p->a.group + m / mult) * g->h * g->w,
                         c->r->in[1]->data + m * taps, bias ? bias[m] : 0.f, y);
    if (c->r->relu) xai_vec_relu(g->oh * g->ow, y);
}

/* Input plane i = (item, group): the gradients of the group's output channels. */
static void dw_backward_plane(void *ctx, int64_t i, int tid)
{
    const struct dw_ctx *c = ctx;
    const struct conv_p *p = c->p;
    const struct xai_win *g = c->g;
    int64_t gi = i % p->a.group, b_i = i / p->a.group, mult = p->m / p->a.group;
    int64_t taps = g->kh * g->kw;
    for (int64_t m = gi * mult; m < (gi + 1) * mult; m++)
        xai_dw_backward_plane(g, c->r->gout[0]->data + (b_i * p->m + m) * g->oh * g->ow,
                              c->r->in[1]->data + m * taps, c->r->gin[0]->data + i * g->h * g->w);
}

static struct xai_wino_job wino_job(const struct conv_p *p, const float *u, const struct xai_win *g,
                                    const struct xai_op_run *r, int64_t gi)
{
    int64_t mg = p->m / p->a.group;
    return (struct xai_wino_job){g,
                                 mg,
                                 r->in[0]->shape.d[0],
                                 p->tile,
                                 u ? u + gi * xai_wino_positions(p->tile) * mg * p->cg : NULL,
                                 p->w9 ? p->w9 + gi * 9 * mg * p->cg : NULL,
                                 p->cg * p->a.group * g->h * g->w,
                                 p->m * g->oh * g->ow,
                                 r->par,
                                 r->scratch,
                                 r->scratch_stride};
}

static void forward_winograd(const struct conv_p *p, const float *u, const struct xai_win *g,
                             const struct xai_op_run *r)
{
    const float *b = p->bias ? r->in[2]->data : NULL;
    int64_t mg = p->m / p->a.group;
    for (int64_t gi = 0; gi < p->a.group; gi++) {
        struct xai_wino_job j = wino_job(p, u, g, r, gi);
        xai_wino_forward(&j, r->in[0]->data + gi * g->c * g->h * g->w, b ? b + gi * mg : NULL,
                         r->relu, r->out[0]->data + gi * mg * g->oh * g->ow);
    }
}

static void backward_winograd(const struct conv_p *p, const float *u, const struct xai_win *g,
                              const struct xai_op_run *r)
{
    int64_t mg = p->m / p->a.group;
    for (int64_t gi = 0; gi < p->a.group; gi++) {
        struct xai_wino_job j = wino_job(p, u, g, r, gi);
        int64_t off = gi * mg * g->oh * g->ow;
        xai_wino_backward(&j, r->gout[0]->data + off, r->relu ? r->out[0]->data + off : NULL,
                          r->gin[0]->data + gi * g->c * g->h * g->w);
    }
}

/* Whether a run on weights w takes packed ones (see pack_layer). */
static bool packs(const struct conv_p *p, const struct xai_win *g, int64_t n, const float *w)
{
    return p->pack && w == p->w0 && xai_conv_gemm_narrow(g, n);
}

/* fwd: for a forward run (packed weights), else backward (their transposes packed). */
static struct xai_conv_job conv_job(const struct conv_p *p, const struct xai_win *g,
                                    const struct xai_op_run *r, bool fwd)
{
    int64_t n = r->in[0]->shape.d[0];
    bool pk = packs(p, g, n, r->in[1]->data);
    return (struct xai_conv_job){.g = g,
                                 .m = p->m,
                                 .group = p->a.group,
                                 .n = n,
                                 .w = r->in[1]->data,
                                 .b = p->bias ? r->in[2]->data : NULL,
                                 .wp = pk && fwd ? derived(&p->lz->wp, build_wp, p) : NULL,
                                 .wtp = pk && !fwd ? derived(&p->lz->wtp, build_wtp, p) : NULL,
                                 .relu = r->relu,
                                 .par = r->par,
                                 .scratch = r->scratch,
                                 .stride = r->scratch_stride};
}

static void forward(const struct xai_op_run *r)
{
    const struct conv_p *p = r->p;
    struct xai_win g;
    if (window(p, &r->in[0]->shape, &g, NULL)) return;
    int64_t n = r->in[0]->shape.d[0];
    struct dw_ctx c = {p, &g, r};
    enum path path = path_of(p, &g, n, r->in[1]->data);
    const float *u = NULL;
    if (path == PATH_WINO && !wino_u(p, &g, n, &u)) path = PATH_GEMM; /* out of memory */
    struct xai_conv_job j = conv_job(p, &g, r, true);
    if (path == PATH_GEMM && xai_conv_direct_fits(&g, p->m, p->a.group, p->own_gemm))
        path = PATH_DIRECT; /* the forward only */
    switch (path) {
    case PATH_DEPTHWISE:
        xai_par_for(r->par, n * p->m, dw_forward_plane, &c);
        break;
    case PATH_WINO:
        forward_winograd(p, u, &g, r);
        break;
    case PATH_SHIFT:
        xai_conv_shift_forward(&j, r->in[0]->data, r->out[0]->data);
        break;
    case PATH_GEMM:
        xai_conv_gemm_forward(&j, r->in[0]->data, r->out[0]->data);
        break;
    case PATH_DIRECT:
        xai_conv_direct_forward(&j, r->in[0]->data, r->out[0]->data);
        break;
    }
}

static void backward(const struct xai_op_run *r)
{
    const struct conv_p *p = r->p;
    struct xai_win g;
    if (!r->gout[0] || !r->gin[0] || window(p, &r->in[0]->shape, &g, NULL)) return;
    int64_t n = r->in[0]->shape.d[0];
    enum path path = path_of(p, &g, n, r->in[1]->data);
    const float *u = NULL;
    if (path == PATH_WINO && !wino_u(p, &g, n, &u)) path = PATH_GEMM; /* out of memory */
    if (path == PATH_WINO) { /* masks a fused Relu's dY itself */
        backward_winograd(p, u, &g, r);
        return;
    }
    struct xai_conv_job j = conv_job(p, &g, r, false);
    if (path == PATH_GEMM && xai_conv_direct_bwd_fits(&g, p->m, p->a.group, p->own_gemm)) {
        xai_conv_direct_backward(&j, r->gout[0]->data, r->relu ? r->out[0]->data : NULL,
                                 r->gin[0]->data);
        return;
    }
    if (r->relu) xai_op_mask_relu(r); /* the paths below read dY plainly */
    struct dw_ctx c = {p, &g, r};
    if (path == PATH_DEPTHWISE)
        xai_par_for(r->par, n * p->a.group, dw_backward_plane, &c);
    else if (path == PATH_SHIFT)
        xai_conv_shift_backward(&j, r->gout[0]->data, r->gin[0]->data);
    else
        xai_conv_gemm_backward(&j, r->gout[0]->data, r->gin[0]->data);
}

/* Incremental inference: the same convolution on explicitly zero-padded crops. */
static enum xai_window_fit crop_window(const void *pp, const struct xai_shape *in,
                                       struct xai_op_window *w, void **unpadded)
{
    const struct conv_p *p = pp;
    struct conv_p q = *p, *out;
    if (!xai_conv_crop_window(&p->a, in, w, &q.a)) return XAI_WINDOW_NO;
    if (!(out = malloc(sizeof *out))) return XAI_WINDOW_NO_MEMORY;
    *out = q;
    *unpadded = out;
    return XAI_WINDOW_YES;
}

const struct xai_op_def xai_op_conv = {
    .name = "Conv",
    .opset_min = 1,
    .opset_max = 99,
    .grad_mask = 1u,
    .bwd_in = 2u,
    .fuse_relu = true,
    .relu_grad = true,
    .init = init,
    .free_params = free_params,
    .infer = infer,
    .scratch = scratch,
    .forward = forward,
    .backward = backward,
    .macs = macs,
    .window = crop_window,
};
