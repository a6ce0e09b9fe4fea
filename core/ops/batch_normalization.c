/*
 * batch_normalization.c - BatchNormalization, inference form: y = a[c] * x + b[c] over the
 * channel axis 1, with a = scale / sqrt(var + epsilon) and b = B - mean * a precomputed at
 * load from the constant scale, B, mean and var. Backward: dx += a[c] * dy. A following Relu
 * and a Concat before it can be fused (op.h: xai_op_run.relu, .cat), as DenseNet's
 * Concat -> BatchNormalization -> Relu.
 * training_mode = 1 and the extra outputs (running mean/var) are refused.
 */
#include <math.h>
#include <stdlib.h>

#include "_util.h"
#include "_vec.h"

struct bn_p {
    int64_t c;
    float ab[]; /* a[0..c), then b[0..c) */
};

static xai_status read_attrs(const struct xai_node_def *nd, float *eps, struct xai_err *err)
{
    int64_t training, spatial;
    float momentum;
    xai_status st;
    if ((st = xai_attr_float(nd, "epsilon", 1e-5f, eps, err))) return st;
    if ((st = xai_attr_float(nd, "momentum", 0.9f, &momentum, err))) return st;
    if ((st = xai_attr_int(nd, "training_mode", 0, &training, err))) return st;
    if ((st = xai_attr_int(nd, "spatial", 1, &spatial, err))) return st;
    if (training != 0)
        return xai_fail(err, XAI_UNSUPPORTED,
                        "node '%s' (BatchNormalization): training_mode=1 is not supported; "
                        "export the model in eval mode",
                        nd->name);
    if (spatial != 1)
        return xai_fail(err, XAI_UNSUPPORTED,
                        "node '%s' (BatchNormalization): spatial=0 is not supported", nd->name);
    if (nd->n_out > 1)
        return xai_fail(err, XAI_UNSUPPORTED,
                        "node '%s' (BatchNormalization): only output Y is supported (%d outputs "
                        "requested); export the model in eval mode",
                        nd->name, nd->n_out);
    return XAI_OK;
}

/* The four parameter inputs: constant float vectors of the same length. */
static xai_status read_params(const struct xai_node_def *nd, const float *v[4], int64_t *c,
                              struct xai_err *err)
{
    static const char *const names[] = {"scale", "B", "mean", "var"};
    if (nd->n_in != 5)
        return xai_fail(err, XAI_BAD_MODEL, "node '%s' (BatchNormalization): needs 5 inputs",
                        nd->name);
    for (int i = 0; i < 4; i++) {
        const struct xai_const *k = nd->in_present[i + 1] ? nd->in_const[i + 1] : NULL;
        if (!k || k->dtype != XAI_F32)
            return xai_fail(err, XAI_UNSUPPORTED,
                            "node '%s' (BatchNormalization): input '%s' must be a float constant "
                            "known at load time",
                            nd->name, names[i]);
        int64_t n = xai_shape_numel(&k->shape);
        if (k->shape.ndim != 1 || (i > 0 && n != *c))
            return xai_fail(err, XAI_BAD_MODEL,
                            "node '%s' (BatchNormalization): input '%s' must be a vector of one "
                            "value per channel",
                            nd->name, names[i]);
        *c = n;
        v[i] = k->f;
    }
    return XAI_OK;
}

static xai_status init(const struct xai_node_def *nd, void **params, struct xai_err *err)
{
    float eps;
    const float *v[4];
    int64_t c = 0;
    xai_status st = read_attrs(nd, &eps, err);
    if (st || (st = read_params(nd, v, &c, err))) return st;
    struct bn_p *p = malloc(sizeof *p + sizeof(float) * 2 * (size_t)c);
    if (!p) return xai_fail(err, XAI_NO_MEMORY, "out of memory");
    p->c = c;
    for (int64_t i = 0; i < c; i++) {
        double a = (double)v[0][i] / sqrt((double)v[3][i] + (double)eps);
        p->ab[i] = (float)a;
        p->ab[c + i] = (float)((double)v[1][i] - (double)v[2][i] * a);
    }
    *params = p;
    return XAI_OK;
}

static xai_status infer(const void *pp, const struct xai_shape *in, int n_in, struct xai_shape *out,
                        int n_out, int64_t batch, struct xai_err *err)
{
    const struct bn_p *p = pp;
    char buf[96];
    if (in[0].ndim < 2 || in[0].d[1] != p->c)
        return xai_fail(err, XAI_SHAPE_MISMATCH,
                        "BatchNormalization: input %s does not have %lld channels on axis 1",
                        xai_shape_str(&in[0], buf, sizeof buf), (long long)p->c);
    out[0] = in[0];
    return XAI_OK;
}

static int64_t macs(const void *pp, const struct xai_shape *in, int n_in,
                    const struct xai_shape *out)
{
    return xai_shape_numel(&in[0]);
}

/* Elements per (batch item, channel) plane. */
static int64_t plane(const struct xai_shape *s)
{
    int64_t n = 1;
    for (int i = 2; i < s->ndim; i++) n *= s->d[i];
    return n;
}

struct bn_ctx {
    const struct xai_op_run *r;
    int64_t hw;
};

/* Offset of plane q (item q / c, channel q % c) in input i of a fused Concat holding it. */
static int64_t cat_plane(const struct xai_cat *cat, int64_t c, int64_t q, int64_t hw, int *i)
{
    int64_t n = q / c, ch = q % c;
    for (*i = 0; *i < cat->n; (*i)++) {
        int64_t ci = cat->in[*i]->shape.d[1];
        if (ch < ci) return (n * ci + ch) * hw;
        ch -= ci;
    }
    return -1; /* not reached: the channels add up (session.c checks the shapes) */
}

/* Planes [q0, q1) (a plane: one batch item's channel). */
static void fwd_planes(void *c, int64_t q0, int64_t q1)
{
    const struct bn_ctx *k = c;
    const struct bn_p *p = k->r->p;
    const float *a = p->ab, *b = p->ab + p->c;
    float *y = k->r->out[0]->data;
    for (int64_t q = q0; q < q1; q++) {
        const float *x = k->r->in[0]->data + q * k->hw;
        int i;
        if (k->r->cat) {
            int64_t off = cat_plane(k->r->cat, p->c, q, k->hw, &i);
            x = k->r->cat->in[i]->data + off;
        }
        if (k->r->relu)
            xai_vec_affine_relu(k->hw, a[q % p->c], b[q % p->c], x, y + q * k->hw);
        else
            xai_vec_affine(k->hw, a[q % p->c], b[q % p->c], x, y + q * k->hw);
    }
}

/* gx[k] += a * (y[k] > 0 ? gy[k] : 0): the gradient through a fused Relu, y its output. */
static void axpy_masked(int64_t n, float a, const float *restrict y, const float *restrict gy,
                        float *restrict gx)
{
    for (int64_t k = 0; k < n; k++) {
        float g = gy[k]; /* read unconditionally, so that it vectorises */
        gx[k] += a * (y[k] > 0.f ? g : 0.f);
    }
}

static void bwd_planes(void *c, int64_t q0, int64_t q1)
{
    const struct bn_ctx *k = c;
    const struct bn_p *p = k->r->p;
    const float *gy = k->r->gout[0]->data, *y = k->r->out[0]->data;
    float *gx = k->r->gin[0] ? k->r->gin[0]->data : NULL;
    for (int64_t q = q0; q < q1; q++) {
        float *g = gx ? gx + q * k->hw : NULL;
        int i;
        if (k->r->cat) {
            int64_t off = cat_plane(k->r->cat, p->c, q, k->hw, &i);
            g = k->r->cat->gin[i] ? k->r->cat->gin[i]->data + off : NULL;
        }
        if (!g) continue;
        if (k->r->relu)
            axpy_masked(k->hw, p->ab[q % p->c], y + q * k->hw, gy + q * k->hw, g);
        else
            xai_vec_axpy(k->hw, p->ab[q % p->c], gy + q * k->hw, g);
    }
}

static void forward(const struct xai_op_run *r)
{
    const struct bn_p *p = r->p;
    struct bn_ctx k = {r, plane(&r->in[0]->shape)};
    xai_par_range(r->par, r->in[0]->shape.d[0] * p->c, xai_par_piece(k.hw), fwd_planes, &k);
}

static void backward(const struct xai_op_run *r)
{
    const struct bn_p *p = r->p;
    if (!r->gout[0] || (!r->gin[0] && !r->cat)) return;
    struct bn_ctx k = {r, plane(&r->in[0]->shape)};
    xai_par_range(r->par, r->in[0]->shape.d[0] * p->c, xai_par_piece(k.hw), bwd_planes, &k);
}

const struct xai_op_def xai_op_batch_normalization = {
    .name = "BatchNormalization",
    .opset_min = 7,
    .opset_max = 99,
    .grad_mask = 1u,
    .bwd_in = 0u,
    .fuse_relu = true,
    .relu_grad = true,
    .fuse_concat = true,
    .init = init,
    .infer = infer,
    .forward = forward,
    .backward = backward,
    .macs = macs,
    .pointwise = xai_op_pointwise_yes,
};
