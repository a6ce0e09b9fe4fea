/* _softmax.c - axis handling shared by Softmax and LogSoftmax (see _softmax.h). */
#include "_softmax.h"

#include <stdlib.h>
#include <string.h>

struct params {
    int64_t axis;
    bool flatten; /* opset < 13: coerce to 2-D at axis */
};

xai_status xai_softmax_init(const struct xai_node_def *nd, void **params, struct xai_err *err)
{
    struct params p;
    p.flatten = nd->opset < 13;
    xai_status st = xai_attr_int(nd, "axis", p.flatten ? 1 : -1, &p.axis, err);
    if (st) return st;
    struct params *q = malloc(sizeof *q);
    if (!q) return xai_fail(err, XAI_NO_MEMORY, "out of memory");
    *q = p;
    *params = q;
    return XAI_OK;
}

xai_status xai_softmax_infer(const void *p, const struct xai_shape *in, int n_in,
                             struct xai_shape *out, int n_out, int64_t batch, struct xai_err *err)
{
    const struct params *q = p;
    if (xai_axis(q->axis, in[0].ndim) < 0)
        return xai_fail(err, XAI_BAD_MODEL, "softmax axis %lld is out of range for a %d-D input",
                        (long long)q->axis, in[0].ndim);
    out[0] = in[0];
    return XAI_OK;
}

struct xai_softmax_layout xai_softmax_layout(const void *p, const struct xai_shape *s)
{
    const struct params *q = p;
    int axis = xai_axis(q->axis, s->ndim);
    struct xai_softmax_layout l = {1, 1, 1};
    for (int i = 0; i < s->ndim; i++) {
        if (i < axis)
            l.outer *= s->d[i];
        else if (i == axis || q->flatten)
            l.len *= s->d[i];
        else
            l.inner *= s->d[i];
    }
    return l;
}

size_t xai_softmax_scratch(const void *p, const struct xai_shape *in, int n_in,
                           const struct xai_shape *out)
{
    return (size_t)(2 * xai_softmax_layout(p, &in[0]).inner);
}

void xai_softmax_block_max(const float *x, const struct xai_softmax_layout *l, float *m)
{
    memcpy(m, x, sizeof(float) * (size_t)l->inner);
    for (int64_t k = 1; k < l->len; k++) {
        const float *row = x + k * l->inner;
        for (int64_t j = 0; j < l->inner; j++) m[j] = row[j] > m[j] ? row[j] : m[j];
    }
}
