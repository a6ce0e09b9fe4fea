/*
 * onnx_fold.c - constant folding of the data-movement ops found in shape subgraphs:
 * Shape, Gather, Unsqueeze, Squeeze, Concat, Slice, Reshape, Expand, Transpose (PyTorch's
 * F.pad export reverses its int64 pads with one; the arithmetic ones are
 * in onnx_fold_math.c). Called by onnx_nodes.c for a node whose inputs are all constants
 * (Shape: whose input has a known shape), it produces the output as a new constant.
 *
 * Batch flags: int64 elements may stand for value * batch (struct xai_const). Shape sets
 * the flag on the dimensions that differ between the batch-1 and batch-2 shape passes;
 * data movement carries flags along with the elements; indices, axes and shapes that steer
 * an op must not depend on the batch (xai_input_ints refuses them).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx_internal.h"

xai_status xai_fold_fail(const struct xai_fold *f, struct xai_err *err, xai_status st,
                         const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return xai_fail(err, st, "node '%s' (%s): %s", f->nd->name, f->nd->op_type, msg);
}

xai_status xai_fold_ints(const struct xai_fold *f, int idx, int64_t *out, int max, int *n,
                         struct xai_err *err)
{
    return xai_input_ints(f->nd, idx, out, NULL, max, n, err);
}

void xai_cst_copy_elem(struct xai_const *dst, int64_t di, const struct xai_const *src, int64_t si)
{
    if (dst->dtype == XAI_F32) {
        dst->f[di] = src->f[si];
        return;
    }
    dst->i64[di] = src->i64[si];
    if (dst->batch) dst->batch[di] = src->batch ? src->batch[si] : 0;
}

void xai_strided_offsets(const struct xai_shape *s, const int64_t *stride, int64_t base,
                         int64_t *offs)
{
    int64_t n = xai_shape_numel(s), idx[XAI_MAX_DIMS] = {0}, off = base;
    for (int64_t k = 0; k < n; k++) {
        offs[k] = off;
        for (int d = s->ndim - 1; d >= 0; d--) {
            off += stride[d];
            if (++idx[d] < s->d[d]) break;
            off -= stride[d] * s->d[d];
            idx[d] = 0;
        }
    }
}

xai_status xai_fold_room(const struct xai_fold *f, int64_t n, struct xai_err *err)
{
    if (n <= f->room) return XAI_OK;
    return xai_fold_fail(f, err, XAI_TOO_LARGE,
                         "the constant it makes (%lld elements) is over what is left of the "
                         "load's budget for computed constants (one element per byte of the "
                         "model file, at least %lld)",
                         (long long)n, (long long)XAI_FOLD_MIN_TOTAL);
}

static xai_status fold_new(struct xai_fold *f, enum xai_dtype dt, const struct xai_shape *s,
                           bool flags, struct xai_err *err)
{
    int64_t n = 1;
    for (int d = 0; d < s->ndim; d++) {
        if (s->d[d] < 0) return xai_fold_fail(f, err, XAI_BAD_MODEL, "negative output size");
        if (s->d[d] && n > XAI_FOLD_MAX_NUMEL / s->d[d])
            return xai_fold_fail(f, err, XAI_TOO_LARGE, "the constant it makes is too large");
        n *= s->d[d];
    }
    xai_status st = xai_fold_room(f, n, err);
    if (st) return st;
    char what[300];
    snprintf(what, sizeof what, "the output of node '%s' (%s)", f->nd->name, f->nd->op_type);
    return xai_cst_new(dt, s, flags, what, &f->out, err);
}

xai_status xai_fold_take(struct xai_fold *f, const struct xai_const *src,
                         const struct xai_shape *shape, const int64_t *offs, struct xai_err *err)
{
    xai_status st = fold_new(f, src->dtype, shape, src->batch != NULL, err);
    int64_t n = xai_shape_numel(shape);
    for (int64_t k = 0; !st && k < n; k++) xai_cst_copy_elem(f->out, k, src, offs ? offs[k] : k);
    return st;
}

/* Input idx as a constant; fails when it is absent. */
static xai_status need(struct xai_fold *f, int idx, const struct xai_const **c, struct xai_err *err)
{
    if (idx >= f->nd->n_in || !f->nd->in_present[idx] || !f->nd->in_const[idx])
        return xai_fold_fail(f, err, XAI_BAD_MODEL, "input %d is missing", idx);
    *c = f->nd->in_const[idx];
    return XAI_OK;
}

static int64_t clamp64(int64_t v, int64_t lo, int64_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

static xai_status fold_shape(struct xai_fold *f, struct xai_err *err)
{
    const struct xai_node_def *nd = f->nd;
    if (nd->n_in < 1 || !nd->in_present[0])
        return xai_fold_fail(f, err, XAI_BAD_MODEL, "input 0 is missing");
    const struct xai_shape *s1 = &nd->in_shape[0], *s2 = &f->in_shape2[0];
    int64_t r = s1->ndim, start, end;
    xai_status st = xai_attr_int(nd, "start", 0, &start, err);
    if (!st) st = xai_attr_int(nd, "end", r, &end, err);
    if (st) return st;
    start = clamp64(start < 0 ? start + r : start, 0, r);
    end = clamp64(end < 0 ? end + r : end, 0, r);
    struct xai_shape os = {.ndim = 1, .d = {end > start ? end - start : 0}};
    if ((st = fold_new(f, XAI_I64, &os, f->dynamic, err))) return st;
    for (int64_t i = 0; i < os.d[0]; i++) {
        int64_t d = start + i, a = s1->d[d], b = f->dynamic ? s2->d[d] : a;
        f->out->i64[i] = a;
        if (a == b) continue;
        if (b != 2 * a)
            return xai_fold_fail(f, err, XAI_UNSUPPORTED,
                                 "dimension %lld of its input is %lld at batch size 1 and %lld at "
                                 "batch size 2, not proportional to the batch size",
                                 (long long)d, (long long)a, (long long)b);
        f->out->batch[i] = 1;
    }
    return XAI_OK;
}

static xai_status gather_index(struct xai_fold *f, const struct xai_const *ind, int64_t j,
                               int64_t dim, int64_t *out, struct xai_err *err)
{
    int64_t v = ind->i64[j];
    if (v < 0) v += dim;
    if (v < 0 || v >= dim)
        return xai_fold_fail(f, err, XAI_BAD_MODEL, "index %lld is out of range for size %lld",
                             (long long)ind->i64[j], (long long)dim);
    *out = v;
    return XAI_OK;
}

static xai_status fold_gather(struct xai_fold *f, struct xai_err *err)
{
    const struct xai_const *data, *ind;
    int64_t axis;
    xai_status st = need(f, 0, &data, err);
    if (!st) st = need(f, 1, &ind, err);
    if (!st) st = xai_attr_int(f->nd, "axis", 0, &axis, err);
    if (st) return st;
    int r = data->shape.ndim, a = xai_axis(axis, r);
    if (a < 0 || ind->dtype != XAI_I64 || xai_cst_any_flag(ind) ||
        r - 1 + ind->shape.ndim > XAI_MAX_DIMS)
        return xai_fold_fail(f, err, XAI_UNSUPPORTED,
                             "needs int64 indices that do not depend on the batch size and a "
                             "valid axis (axis %lld, data rank %d)",
                             (long long)axis, r);
    struct xai_shape os = {0};
    for (int d = 0; d < a; d++) os.d[os.ndim++] = data->shape.d[d];
    for (int d = 0; d < ind->shape.ndim; d++) os.d[os.ndim++] = ind->shape.d[d];
    for (int d = a + 1; d < r; d++) os.d[os.ndim++] = data->shape.d[d];
    int64_t outer = 1, inner = 1, dim = data->shape.d[a], ni = xai_shape_numel(&ind->shape);
    for (int d = 0; d < a; d++) outer *= data->shape.d[d];
    for (int d = a + 1; d < r; d++) inner *= data->shape.d[d];
    if ((st = fold_new(f, data->dtype, &os, data->batch != NULL, err))) return st;
    int64_t k = 0;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t j = 0; j < ni; j++) {
            int64_t idx = 0;
            if ((st = gather_index(f, ind, j, dim, &idx, err))) return st;
            for (int64_t i = 0; i < inner; i++)
                xai_cst_copy_elem(f->out, k++, data, (o * dim + idx) * inner + i);
        }
    return XAI_OK;
}

/* axes of Unsqueeze/Squeeze: an attribute before opset 13, input 1 from opset 13 on. */
static xai_status read_axes(struct xai_fold *f, int64_t *axes, int *n, struct xai_err *err)
{
    if (f->nd->opset < 13) return xai_attr_ints(f->nd, "axes", axes, XAI_MAX_DIMS, n, err);
    return xai_fold_ints(f, 1, axes, XAI_MAX_DIMS, n, err);
}

/* Normalises axes against rank r; fails on a bad or repeated axis. */
static xai_status norm_axes(struct xai_fold *f, int64_t *axes, int n, int r, bool *mark,
                            struct xai_err *err)
{
    memset(mark, 0, sizeof(bool) * XAI_MAX_DIMS);
    for (int i = 0; i < n; i++) {
        int a = xai_axis(axes[i], r);
        if (a < 0 || mark[a])
            return xai_fold_fail(f, err, XAI_BAD_MODEL, "axis %lld is invalid or repeated",
                                 (long long)axes[i]);
        mark[a] = true;
    }
    return XAI_OK;
}

static xai_status fold_unsqueeze(struct xai_fold *f, struct xai_err *err)
{
    const struct xai_const *data;
    int64_t axes[XAI_MAX_DIMS];
    int n;
    bool mark[XAI_MAX_DIMS];
    xai_status st = need(f, 0, &data, err);
    if (!st) st = read_axes(f, axes, &n, err);
    if (st) return st;
    int r = data->shape.ndim + n;
    if (n == 0 || r > XAI_MAX_DIMS)
        return xai_fold_fail(f, err, XAI_UNSUPPORTED, "needs 1 to %d axes in all",
                             XAI_MAX_DIMS - data->shape.ndim);
    if ((st = norm_axes(f, axes, n, r, mark, err))) return st;
    struct xai_shape os = {.ndim = r};
    for (int d = 0, k = 0; d < r; d++) os.d[d] = mark[d] ? 1 : data->shape.d[k++];
    return xai_fold_take(f, data, &os, NULL, err);
}

static xai_status fold_squeeze(struct xai_fold *f, struct xai_err *err)
{
    const struct xai_const *data;
    int64_t axes[XAI_MAX_DIMS];
    int n;
    bool mark[XAI_MAX_DIMS];
    xai_status st = need(f, 0, &data, err);
    if (!st) st = read_axes(f, axes, &n, err);
    if (!st) st = norm_axes(f, axes, n, data->shape.ndim, mark, err);
    if (st) return st;
    struct xai_shape os = {0};
    for (int d = 0; d < data->shape.ndim; d++) {
        int64_t sz = data->shape.d[d];
        if (mark[d] && sz != 1)
            return xai_fold_fail(f, err, XAI_SHAPE_MISMATCH, "cannot squeeze axis %d of size %lld",
                                 d, (long long)sz);
        if (!mark[d] && !(n == 0 && sz == 1)) os.d[os.ndim++] = sz;
    }
    return xai_fold_take(f, data, &os, NULL, err);
}

static xai_status concat_check(struct xai_fold *f, int i, int a, struct xai_err *err)
{
    const struct xai_const *c0 = f->nd->in_const[0], *c = f->nd->in_const[i];
    bool ok = c->shape.ndim == c0->shape.ndim;
    for (int d = 0; ok && d < c->shape.ndim; d++) ok = d == a || c->shape.d[d] == c0->shape.d[d];
    if (c->dtype != c0->dtype)
        return xai_fold_fail(f, err, XAI_BAD_MODEL, "inputs 0 and %d have different types", i);
    if (!ok) {
        char s0[96], si[96];
        return xai_fold_fail(
            f, err, XAI_SHAPE_MISMATCH, "input %d has shape %s, input 0 has shape %s (axis %d)", i,
            xai_shape_str(&c->shape, si, sizeof si), xai_shape_str(&c0->shape, s0, sizeof s0), a);
    }
    return XAI_OK;
}

static xai_status fold_concat(struct xai_fold *f, struct xai_err *err)
{
    const struct xai_node_def *nd = f->nd;
    int64_t axis;
    xai_status st = xai_attr_int(nd, "axis", INT64_MIN, &axis, err);
    for (int i = 0; !st && i < nd->n_in; i++)
        if (!nd->in_present[i]) st = xai_fold_fail(f, err, XAI_BAD_MODEL, "input %d is missing", i);
    if (st) return st;
    if (nd->n_in < 1 || axis == INT64_MIN)
        return xai_fold_fail(f, err, XAI_BAD_MODEL, "needs inputs and an axis attribute");
    const struct xai_const *c0 = nd->in_const[0];
    int a = xai_axis(axis, c0->shape.ndim);
    if (a < 0) return xai_fold_fail(f, err, XAI_BAD_MODEL, "axis %lld is invalid", (long long)axis);
    struct xai_shape os = c0->shape;
    bool flags = false;
    for (int i = 1; !st && i < nd->n_in; i++) {
        st = concat_check(f, i, a, err);
        os.d[a] += nd->in_const[i]->shape.d[a];
    }
    for (int i = 0; i < nd->n_in; i++) flags |= nd->in_const[i]->batch != NULL;
    if (st || (st = fold_new(f, c0->dtype, &os, flags, err))) return st;
    int64_t outer = 1, inner = 1, k = 0;
    for (int d = 0; d < a; d++) outer *= os.d[d];
    for (int d = a + 1; d < os.ndim; d++) inner *= os.d[d];
    for (int64_t o = 0; o < outer; o++)
        for (int i = 0; i < nd->n_in; i++) {
            int64_t blk = nd->in_const[i]->shape.d[a] * inner;
            for (int64_t j = 0; j < blk; j++)
                xai_cst_copy_elem(f->out, k++, nd->in_const[i], o * blk + j);
        }
    return XAI_OK;
}

struct slice_args {
    int64_t starts[XAI_MAX_DIMS], ends[XAI_MAX_DIMS], axes[XAI_MAX_DIMS], steps[XAI_MAX_DIMS];
    int n, n_axes, n_steps;
};

static xai_status slice_read(struct xai_fold *f, struct slice_args *s, struct xai_err *err)
{
    const struct xai_node_def *nd = f->nd;
    int ne = 0;
    xai_status st;
    if (nd->opset < 10) {
        st = xai_attr_ints(nd, "starts", s->starts, XAI_MAX_DIMS, &s->n, err);
        if (!st) st = xai_attr_ints(nd, "ends", s->ends, XAI_MAX_DIMS, &ne, err);
        if (!st) st = xai_attr_ints(nd, "axes", s->axes, XAI_MAX_DIMS, &s->n_axes, err);
        s->n_steps = 0;
    } else {
        st = xai_fold_ints(f, 1, s->starts, XAI_MAX_DIMS, &s->n, err);
        if (!st) st = xai_fold_ints(f, 2, s->ends, XAI_MAX_DIMS, &ne, err);
        if (!st) st = xai_fold_ints(f, 3, s->axes, XAI_MAX_DIMS, &s->n_axes, err);
        if (!st) st = xai_fold_ints(f, 4, s->steps, XAI_MAX_DIMS, &s->n_steps, err);
    }
    if (st) return st;
    if (ne != s->n || (s->n_axes && s->n_axes != s->n) || (s->n_steps && s->n_steps != s->n))
        return xai_fold_fail(f, err, XAI_BAD_MODEL,
                             "starts, ends, axes and steps differ in length");
    return XAI_OK;
}

/* One axis of a Slice: first index and count, per the ONNX clamping rules. */
static void slice_axis(int64_t dim, int64_t s, int64_t e, int64_t step, int64_t *first,
                       int64_t *count)
{
    if (s < 0) s += dim;
    if (e < 0) e += dim;
    if (step > 0) {
        s = clamp64(s, 0, dim);
        e = clamp64(e, 0, dim);
        *count = e > s ? (e - s - 1) / step + 1 : 0;
    } else {
        s = clamp64(s, 0, dim - 1);
        e = clamp64(e, -1, dim - 1);
        int64_t neg = step == INT64_MIN ? INT64_MAX : -step;
        *count = s > e ? (s - e - 1) / neg + 1 : 0;
    }
    *first = *count ? s : 0;
}

static xai_status fold_slice(struct xai_fold *f, struct xai_err *err)
{
    const struct xai_const *data;
    struct slice_args s;
    xai_status st = need(f, 0, &data, err);
    if (!st) st = slice_read(f, &s, err);
    if (st) return st;
    const struct xai_shape *in = &data->shape;
    struct xai_shape os = *in;
    int64_t first[XAI_MAX_DIMS] = {0}, step[XAI_MAX_DIMS], stride[XAI_MAX_DIMS], base = 0;
    bool seen[XAI_MAX_DIMS] = {0};
    for (int d = 0; d < in->ndim; d++) step[d] = 1;
    for (int k = 0; k < s.n; k++) {
        int a = xai_axis(s.n_axes ? s.axes[k] : k, in->ndim);
        int64_t st_k = s.n_steps ? s.steps[k] : 1;
        if (a < 0 || seen[a] || st_k == 0)
            return xai_fold_fail(f, err, XAI_BAD_MODEL, "axis or step %d is invalid", k);
        seen[a] = true;
        step[a] = st_k;
        slice_axis(in->d[a], s.starts[k], s.ends[k], st_k, &first[a], &os.d[a]);
        if (os.d[a] <= 1) step[a] = 1; /* unused, and a huge one would overflow the strides */
    }
    int64_t row = 1;
    for (int d = in->ndim - 1; d >= 0; d--) {
        stride[d] = row * step[d];
        base += first[d] * row;
        row *= in->d[d];
    }
    int64_t n = xai_shape_numel(&os);
    if (n > XAI_FOLD_MAX_NUMEL) return xai_fold_fail(f, err, XAI_TOO_LARGE, "output too large");
    if ((st = xai_fold_room(f, n, err))) return st;
    int64_t *offs = malloc(sizeof(int64_t) * (size_t)(n ? n : 1));
    if (!offs) return xai_fail(err, XAI_NO_MEMORY, "out of memory folding a Slice");
    xai_strided_offsets(&os, stride, base, offs);
    st = xai_fold_take(f, data, &os, offs, err);
    free(offs);
    return st;
}

static xai_status reshape_fail(struct xai_fold *f, const struct xai_const *data, int n,
                               struct xai_err *err)
{
    char a[96];
    return xai_fold_fail(f, err, XAI_SHAPE_MISMATCH, "cannot reshape %s to the %d dimensions asked",
                         xai_shape_str(&data->shape, a, sizeof a), n);
}

static xai_status fold_reshape(struct xai_fold *f, struct xai_err *err)
{
    const struct xai_const *data;
    int64_t want[XAI_MAX_DIMS], allowzero = 0, known = 1;
    int n, infer = -1;
    xai_status st = need(f, 0, &data, err);
    if (!st) st = xai_fold_ints(f, 1, want, XAI_MAX_DIMS, &n, err);
    if (!st) st = xai_attr_int(f->nd, "allowzero", 0, &allowzero, err);
    if (st) return st;
    struct xai_shape os = {.ndim = n};
    for (int d = 0; d < n; d++) {
        os.d[d] = want[d] == 0 && !allowzero && d < data->shape.ndim ? data->shape.d[d] : want[d];
        bool again = os.d[d] == -1 && infer >= 0;
        if (os.d[d] == -1 && !again)
            infer = d;
        else if (os.d[d] < 0 || os.d[d] > XAI_FOLD_MAX_NUMEL)
            return reshape_fail(f, data, n, err);
        else if (os.d[d] && (known *= os.d[d]) > XAI_FOLD_MAX_NUMEL)
            return reshape_fail(f, data, n, err);
    }
    int64_t total = xai_shape_numel(&data->shape);
    if (infer >= 0) {
        if (total % known) return reshape_fail(f, data, n, err);
        os.d[infer] = total / known;
    }
    if (xai_shape_numel(&os) != total) return reshape_fail(f, data, n, err);
    return xai_fold_take(f, data, &os, NULL, err);
}

static xai_status fold_expand(struct xai_fold *f, struct xai_err *err)
{
    const struct xai_const *data;
    int64_t want[XAI_MAX_DIMS], stride[XAI_MAX_DIMS];
    int n;
    xai_status st = need(f, 0, &data, err);
    if (!st) st = xai_fold_ints(f, 1, want, XAI_MAX_DIMS, &n, err);
    if (st) return st;
    struct xai_shape ws = xai_shape_make(n, want), os;
    struct xai_err e;
    if (xai_shape_broadcast(&data->shape, &ws, &os, &e))
        return xai_fold_fail(f, err, XAI_SHAPE_MISMATCH, "%s", e.msg);
    int64_t cnt = xai_shape_numel(&os);
    if (cnt > XAI_FOLD_MAX_NUMEL) return xai_fold_fail(f, err, XAI_TOO_LARGE, "output too large");
    if ((st = xai_fold_room(f, cnt, err))) return st;
    int64_t *offs = malloc(sizeof(int64_t) * (size_t)(cnt ? cnt : 1));
    if (!offs) return xai_fail(err, XAI_NO_MEMORY, "out of memory folding an Expand");
    xai_shape_bstrides(&data->shape, &os, stride);
    xai_strided_offsets(&os, stride, 0, offs);
    st = xai_fold_take(f, data, &os, offs, err);
    free(offs);
    return st;
}

static xai_status fold_transpose(struct xai_fold *f, struct xai_err *err)
{
    const struct xai_const *data;
    int64_t perm[XAI_MAX_DIMS], stride[XAI_MAX_DIMS], in_stride[XAI_MAX_DIMS];
    int n;
    xai_status st = need(f, 0, &data, err);
    if (!st) st = xai_attr_ints(f->nd, "perm", perm, XAI_MAX_DIMS, &n, err);
    if (st) return st;
    int r = data->shape.ndim;
    bool seen[XAI_MAX_DIMS] = {0};
    for (int d = 0; !n && d < r; d++) perm[d] = r - 1 - d;
    if (n && n != r) return xai_fold_fail(f, err, XAI_BAD_MODEL, "perm must list every axis");
    for (int d = 0; d < r; d++) {
        if (perm[d] < 0 || perm[d] >= r || seen[perm[d]])
            return xai_fold_fail(f, err, XAI_BAD_MODEL, "perm is not a permutation of the axes");
        seen[perm[d]] = true;
    }
    struct xai_shape os = {.ndim = r};
    int64_t acc = 1;
    for (int d = r - 1; d >= 0; d--) {
        in_stride[d] = acc;
        acc *= data->shape.d[d];
    }
    for (int d = 0; d < r; d++) {
        os.d[d] = data->shape.d[perm[d]];
        stride[d] = in_stride[perm[d]];
    }
    int64_t cnt = xai_shape_numel(&os);
    if ((st = xai_fold_room(f, cnt, err))) return st;
    int64_t *offs = malloc(sizeof(int64_t) * (size_t)(cnt ? cnt : 1));
    if (!offs) return xai_fail(err, XAI_NO_MEMORY, "out of memory folding a Transpose");
    xai_strided_offsets(&os, stride, 0, offs);
    st = xai_fold_take(f, data, &os, offs, err);
    free(offs);
    return st;
}

/* flags: inputs that may carry batch flags (the data); flags on any other input (indices,
 * axes, shapes) make the node a runtime op instead. */
static const struct {
    const char *op;
    xai_fold_fn fn;
    unsigned flags;
} folds[] = {
    {"Shape", fold_shape, ~0u},    {"Gather", fold_gather, 1u},  {"Unsqueeze", fold_unsqueeze, 1u},
    {"Squeeze", fold_squeeze, 1u}, {"Concat", fold_concat, ~0u}, {"Slice", fold_slice, 1u},
    {"Reshape", fold_reshape, 1u}, {"Expand", fold_expand, 1u},  {"Transpose", fold_transpose, 1u},
};

xai_fold_fn xai_fold_find(const char *op_type, unsigned *flags)
{
    for (size_t i = 0; i < sizeof folds / sizeof folds[0]; i++)
        if (strcmp(folds[i].op, op_type) == 0) {
            *flags = folds[i].flags;
            return folds[i].fn;
        }
    return xai_fold_find_math(op_type, flags);
}
