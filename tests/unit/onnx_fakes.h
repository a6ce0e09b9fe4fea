/*
 * onnx_fakes.h - small stand-in ops for the importer tests, reached through the loader's
 * find_op hook (struct xai_onnx_opts): Add (x + b, b broadcast over x's trailing dims),
 * Reshape (records the int64 constant and batch flags its init receives), Expand (over
 * leading dimensions, to a shape that may scale with the batch) and a 1x1 Conv
 * (records the weights its init sees). Every other op comes from the real registry.
 */
#ifndef XAI_TEST_ONNX_FAKES_H
#define XAI_TEST_ONNX_FAKES_H

#include <stdlib.h>
#include <string.h>

#include "onnx/onnx_internal.h"

/* ---- Add ---- */

static inline xai_status fake_none_init(const struct xai_node_def *nd, void **params,
                                        struct xai_err *err)
{
    *params = NULL;
    return XAI_OK;
}

static inline xai_status fake_add_infer(const void *p, const struct xai_shape *in, int n_in,
                                        struct xai_shape *out, int n_out, int64_t batch,
                                        struct xai_err *err)
{
    if (n_in != 2 || n_out != 1) return xai_fail(err, XAI_BAD_MODEL, "Add needs 2 inputs");
    const struct xai_shape *a = &in[0], *b = &in[1];
    bool ok = b->ndim <= a->ndim;
    for (int i = 0; ok && i < b->ndim; i++) ok = b->d[i] == a->d[a->ndim - b->ndim + i];
    if (!ok) {
        char x[96], y[96];
        return xai_fail(err, XAI_SHAPE_MISMATCH, "shapes %s and %s do not match",
                        xai_shape_str(a, x, sizeof x), xai_shape_str(b, y, sizeof y));
    }
    out[0] = *a;
    return XAI_OK;
}

static inline void fake_add_forward(const struct xai_op_run *r)
{
    int64_t n = xai_shape_numel(&r->in[0]->shape), nb = xai_shape_numel(&r->in[1]->shape);
    for (int64_t i = 0; i < n; i++) r->out[0]->data[i] = r->in[0]->data[i] + r->in[1]->data[i % nb];
}

static inline void fake_add_backward(const struct xai_op_run *r)
{
    int64_t n = xai_shape_numel(&r->in[0]->shape), nb = xai_shape_numel(&r->in[1]->shape);
    for (int64_t i = 0; i < n; i++) {
        if (r->gin[0]) r->gin[0]->data[i] += r->gout[0]->data[i];
        if (r->gin[1]) r->gin[1]->data[i % nb] += r->gout[0]->data[i];
    }
}

static const struct xai_op_def fake_add = {
    .name = "Add",
    .opset_min = 1,
    .opset_max = 99,
    .grad_mask = 3u,
    .init = fake_none_init,
    .infer = fake_add_infer,
    .forward = fake_add_forward,
    .backward = fake_add_backward,
};

/* ---- Reshape ---- */

struct fake_reshape {
    int n;
    int64_t v[8];
    uint8_t b[8];
};
static struct fake_reshape fake_reshape_seen; /* what the last init received */

static inline xai_status fake_reshape_init(const struct xai_node_def *nd, void **params,
                                           struct xai_err *err)
{
    if (nd->n_in != 2 || nd->n_out != 1 || !nd->in_present[0])
        return xai_fail(err, XAI_BAD_MODEL, "Reshape needs 2 inputs");
    xai_attr_ignore(nd, "allowzero");
    struct fake_reshape *p = calloc(1, sizeof *p);
    if (!p) return xai_fail(err, XAI_NO_MEMORY, "oom");
    xai_status st = xai_input_ints(nd, 1, p->v, p->b, 8, &p->n, err);
    if (st) {
        free(p);
        return st;
    }
    fake_reshape_seen = *p;
    *params = p;
    return XAI_OK;
}

static inline xai_status fake_reshape_infer(const void *pp, const struct xai_shape *in, int n_in,
                                            struct xai_shape *out, int n_out, int64_t batch,
                                            struct xai_err *err)
{
    const struct fake_reshape *p = pp;
    struct xai_shape s = {.ndim = p->n};
    int64_t known = 1, total = xai_shape_numel(&in[0]);
    int infer = -1;
    for (int i = 0; i < p->n; i++) {
        s.d[i] = p->b[i] ? p->v[i] * batch : p->v[i];
        if (s.d[i] == 0) s.d[i] = in[0].d[i];
        if (s.d[i] < -1 || s.d[i] > (1 << 20) || (s.d[i] == -1 && infer >= 0))
            return xai_fail(err, XAI_SHAPE_MISMATCH, "bad reshape");
        if (s.d[i] == -1)
            infer = i;
        else if ((known *= s.d[i]) > ((int64_t)1 << 40))
            return xai_fail(err, XAI_SHAPE_MISMATCH, "bad reshape");
    }
    if (infer >= 0) s.d[infer] = known ? total / known : 0;
    if (xai_shape_numel(&s) != total) return xai_fail(err, XAI_SHAPE_MISMATCH, "bad reshape");
    out[0] = s;
    return XAI_OK;
}

static inline void fake_copy_forward(const struct xai_op_run *r)
{
    memcpy(r->out[0]->data, r->in[0]->data,
           sizeof(float) * (size_t)xai_shape_numel(&r->in[0]->shape));
}

static inline void fake_copy_backward(const struct xai_op_run *r)
{
    int64_t n = xai_shape_numel(&r->in[0]->shape);
    for (int64_t i = 0; i < n; i++) r->gin[0]->data[i] += r->gout[0]->data[i];
}

static const struct xai_op_def fake_reshape = {
    .name = "Reshape",
    .opset_min = 1,
    .opset_max = 99,
    .grad_mask = 1u,
    .init = fake_reshape_init,
    .infer = fake_reshape_infer,
    .forward = fake_copy_forward,
    .backward = fake_copy_backward,
};

/* ---- Expand (to a shape that may scale with the batch; broadcast over leading dims) ---- */

static inline xai_status fake_expand_init(const struct xai_node_def *nd, void **params,
                                          struct xai_err *err)
{
    if (nd->n_in != 2 || nd->n_out != 1 || !nd->in_present[0])
        return xai_fail(err, XAI_BAD_MODEL, "Expand needs 2 inputs");
    struct fake_reshape *p = calloc(1, sizeof *p);
    if (!p) return xai_fail(err, XAI_NO_MEMORY, "oom");
    xai_status st = xai_input_ints(nd, 1, p->v, p->b, 8, &p->n, err);
    if (st) {
        free(p);
        return st;
    }
    *params = p;
    return XAI_OK;
}

static inline xai_status fake_expand_infer(const void *pp, const struct xai_shape *in, int n_in,
                                           struct xai_shape *out, int n_out, int64_t batch,
                                           struct xai_err *err)
{
    const struct fake_reshape *p = pp;
    struct xai_shape t = {.ndim = p->n};
    for (int i = 0; i < p->n; i++) {
        t.d[i] = p->b[i] ? p->v[i] * batch : p->v[i];
        if (t.d[i] < 0 || t.d[i] > (1 << 20)) return xai_fail(err, XAI_SHAPE_MISMATCH, "bad");
    }
    return xai_shape_broadcast(&in[0], &t, &out[0], err);
}

static inline void fake_expand_forward(const struct xai_op_run *r)
{
    int64_t n = xai_shape_numel(&r->out[0]->shape), nx = xai_shape_numel(&r->in[0]->shape);
    for (int64_t i = 0; i < n; i++) r->out[0]->data[i] = r->in[0]->data[i % nx];
}

static const struct xai_op_def fake_expand = {
    .name = "Expand",
    .opset_min = 1,
    .opset_max = 99,
    .grad_mask = 0u,
    .init = fake_expand_init,
    .infer = fake_expand_infer,
    .forward = fake_expand_forward,
    .backward = fake_copy_backward,
};

/* ---- Conv (1x1, no attributes) ---- */

struct fake_conv {
    int64_t m, c;
    float *w, *b; /* copies made at init */
};
static float fake_conv_seen_w[64], fake_conv_seen_b[16];
static int fake_conv_seen_inputs;

static inline void fake_conv_free(void *pp)
{
    struct fake_conv *p = pp;
    free(p->w);
    free(p->b);
    free(p);
}

static inline xai_status fake_conv_init(const struct xai_node_def *nd, void **params,
                                        struct xai_err *err)
{
    if (nd->n_out != 1 || nd->n_in < 2 || !nd->in_present[0])
        return xai_fail(err, XAI_BAD_MODEL, "fake conv: bad arity");
    const struct xai_const *w = nd->n_in > 1 ? nd->in_const[1] : NULL;
    const struct xai_const *b = nd->n_in > 2 ? nd->in_const[2] : NULL;
    if (!w || w->dtype != XAI_F32 || w->shape.ndim != 4 || w->shape.d[2] != 1 ||
        w->shape.d[3] != 1 || w->shape.d[0] * w->shape.d[1] > 64 ||
        (b && (b->dtype != XAI_F32 || xai_shape_numel(&b->shape) != w->shape.d[0])))
        return xai_fail(err, XAI_UNSUPPORTED, "fake conv: 1x1 constant weights only");
    static const char *const trivial[] = {"dilations", "group", "kernel_shape", "pads", "strides"};
    for (int i = 0; i < 5; i++) xai_attr_ignore(nd, trivial[i]); /* 1x1, stride 1 assumed */
    struct fake_conv *p = calloc(1, sizeof *p);
    p->m = w->shape.d[0];
    p->c = w->shape.d[1];
    p->w = calloc((size_t)(p->m * p->c), sizeof(float));
    p->b = calloc((size_t)p->m, sizeof(float));
    memcpy(p->w, w->f, sizeof(float) * (size_t)(p->m * p->c));
    if (b) memcpy(p->b, b->f, sizeof(float) * (size_t)p->m);
    memcpy(fake_conv_seen_w, p->w, sizeof(float) * (size_t)(p->m * p->c < 64 ? p->m * p->c : 64));
    memcpy(fake_conv_seen_b, p->b, sizeof(float) * (size_t)(p->m < 16 ? p->m : 16));
    fake_conv_seen_inputs = nd->n_in;
    *params = p;
    return XAI_OK;
}

static inline xai_status fake_conv_infer(const void *pp, const struct xai_shape *in, int n_in,
                                         struct xai_shape *out, int n_out, int64_t batch,
                                         struct xai_err *err)
{
    const struct fake_conv *p = pp;
    if (in[0].ndim != 4 || in[0].d[1] != p->c)
        return xai_fail(err, XAI_SHAPE_MISMATCH, "fake conv: wrong input channels");
    out[0] = in[0];
    out[0].d[1] = p->m;
    return XAI_OK;
}

static inline void fake_conv_forward(const struct xai_op_run *r)
{
    const struct fake_conv *p = r->p;
    const struct xai_shape *s = &r->in[0]->shape;
    int64_t hw = s->d[2] * s->d[3];
    for (int64_t n = 0; n < s->d[0]; n++)
        for (int64_t m = 0; m < p->m; m++)
            for (int64_t k = 0; k < hw; k++) {
                float acc = p->b[m];
                for (int64_t c = 0; c < p->c; c++)
                    acc += p->w[m * p->c + c] * r->in[0]->data[(n * p->c + c) * hw + k];
                r->out[0]->data[(n * p->m + m) * hw + k] = acc;
            }
}

static inline void fake_conv_backward(const struct xai_op_run *r) {}

static const struct xai_op_def fake_conv = {
    .name = "Conv",
    .opset_min = 1,
    .opset_max = 99,
    .grad_mask = 1u,
    .init = fake_conv_init,
    .free_params = fake_conv_free,
    .infer = fake_conv_infer,
    .forward = fake_conv_forward,
    .backward = fake_conv_backward,
};

static inline const struct xai_op_def *fake_find(const char *op, int opset)
{
    if (strcmp(op, "Add") == 0) return &fake_add;
    if (strcmp(op, "Reshape") == 0) return &fake_reshape;
    if (strcmp(op, "Conv") == 0) return &fake_conv;
    if (strcmp(op, "Expand") == 0) return &fake_expand;
    return xai_op_find(op, opset);
}

static const struct xai_onnx_opts fake_opts = {fake_find};

#endif
