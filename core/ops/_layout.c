/* _layout.c - helpers for the shape and layout ops. */
#include "_layout.h"

#include <string.h>

void xai_lay_strides(const struct xai_shape *s, int64_t *st)
{
    int64_t acc = 1;
    for (int k = s->ndim - 1; k >= 0; k--) {
        st[k] = acc;
        acc *= s->d[k];
    }
}

int64_t xai_lay_offset(const struct xai_shape *s, const int64_t *st, int64_t flat)
{
    int64_t off = 0;
    for (int k = s->ndim - 1; k >= 0; k--) {
        off += (flat % s->d[k]) * st[k];
        flat /= s->d[k];
    }
    return off;
}

/* Innermost row length and step of a walk over s with strides st. */
static void row_of(const struct xai_shape *s, const int64_t *st, int64_t *len, int64_t *step)
{
    *len = s->ndim ? s->d[s->ndim - 1] : 1;
    *step = s->ndim ? st[s->ndim - 1] : 0;
}

void xai_lay_gather(const struct xai_shape *s, const int64_t *st, int64_t base, const float *x,
                    float *y)
{
    int64_t n = xai_shape_numel(s), len, step;
    if (n == 0) return;
    row_of(s, st, &len, &step);
    for (int64_t r = 0; r < n / len; r++) {
        const float *src = x + (base + xai_lay_offset(s, st, r * len));
        float *dst = y + r * len;
        for (int64_t j = 0; j < len; j++) dst[j] = src[j * step];
    }
}

void xai_lay_scatter_add(const struct xai_shape *s, const int64_t *st, int64_t base,
                         const float *gy, float *gx)
{
    int64_t n = xai_shape_numel(s), len, step;
    if (n == 0) return;
    row_of(s, st, &len, &step);
    for (int64_t r = 0; r < n / len; r++) {
        float *dst = gx + (base + xai_lay_offset(s, st, r * len));
        const float *src = gy + r * len;
        for (int64_t j = 0; j < len; j++) dst[j * step] += src[j];
    }
}

void xai_lay_gather_add(const struct xai_shape *s, const int64_t *st, int64_t base, const float *x,
                        float alpha, float *y)
{
    int64_t n = xai_shape_numel(s), len, step;
    if (n == 0) return;
    row_of(s, st, &len, &step);
    for (int64_t r = 0; r < n / len; r++) {
        const float *src = x + (base + xai_lay_offset(s, st, r * len));
        float *dst = y + r * len;
        for (int64_t j = 0; j < len; j++) dst[j] += alpha * src[j * step];
    }
}

void xai_lay_copy_forward(const struct xai_op_run *r)
{
    int64_t n = xai_shape_numel(&r->in[0]->shape);
    if (n) memcpy(r->out[0]->data, r->in[0]->data, sizeof(float) * (size_t)n);
}

void xai_lay_copy_backward(const struct xai_op_run *r)
{
    if (!r->gout[0] || !r->gin[0]) return;
    const float *gy = r->gout[0]->data;
    float *gx = r->gin[0]->data;
    int64_t n = xai_shape_numel(&r->in[0]->shape);
    for (int64_t i = 0; i < n; i++) gx[i] += gy[i];
}

xai_status xai_lay_refuse(const struct xai_node_def *nd, const char *attr, const char *why,
                          struct xai_err *err)
{
    return xai_fail(err, XAI_UNSUPPORTED, "node '%s' (%s): attribute '%s' %s", nd->name,
                    nd->op_type, attr, why);
}

xai_status xai_lay_check_io(const struct xai_node_def *nd, struct xai_err *err)
{
    if (nd->n_out != 1)
        return xai_fail(err, XAI_UNSUPPORTED,
                        "node '%s' (%s): %d outputs requested, only 1 supported", nd->name,
                        nd->op_type, nd->n_out);
    if (nd->n_in < 1 || !nd->in_present[0])
        return xai_fail(err, XAI_BAD_MODEL, "node '%s' (%s): input 0 is missing", nd->name,
                        nd->op_type);
    return XAI_OK;
}

xai_status xai_lay_axes_mask(const struct xai_node_def *nd, const char *what, const int64_t *axes,
                             int n, int rank, uint32_t *mask, struct xai_err *err)
{
    *mask = 0;
    for (int i = 0; i < n; i++) {
        int a = xai_axis(axes[i], rank);
        if (a < 0 || (*mask >> a & 1u))
            return xai_fail(err, XAI_BAD_MODEL,
                            "node '%s' (%s): %s %lld is out of range or repeated for rank %d",
                            nd->name, nd->op_type, what, (long long)axes[i], rank);
        *mask |= 1u << a;
    }
    return XAI_OK;
}

xai_status xai_lay_read_axes(const struct xai_node_def *nd, int input_opset, int64_t *axes, int *n,
                             struct xai_err *err)
{
    if (nd->opset < input_opset) return xai_attr_ints(nd, "axes", axes, XAI_MAX_DIMS, n, err);
    return xai_input_ints(nd, 1, axes, NULL, XAI_MAX_DIMS, n, err);
}

xai_status xai_lay_check_rank(const char *op, const struct xai_shape *in, int rank,
                              struct xai_err *err)
{
    if (in->ndim == rank) return XAI_OK;
    char b[96];
    return xai_fail(err, XAI_SHAPE_MISMATCH, "%s: input has shape %s, expected rank %d", op,
                    xai_shape_str(in, b, sizeof b), rank);
}
