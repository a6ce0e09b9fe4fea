/*
 * onnx_fold_math.c - constant folding of Cast, Add, Sub, Mul, Div, Equal, Where,
 * ConstantOfShape and Range (see onnx_fold.c for the data-movement ops and the batch flags).
 *
 * Arithmetic on batch-flagged int64 elements stays exact for every batch size or is
 * refused: flagged * plain and flagged / plain (when it divides exactly) stay flagged,
 * flagged +- flagged stays flagged, flagged +- 0 stays flagged; anything else (flagged * flagged,
 * a plain non-zero offset added to a batch size, division by a batch size) is refused.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "onnx_internal.h"

static xai_status need(struct xai_fold *f, int idx, const struct xai_const **c, struct xai_err *err)
{
    if (idx >= f->nd->n_in || !f->nd->in_present[idx] || !f->nd->in_const[idx])
        return xai_fold_fail(f, err, XAI_BAD_MODEL, "input %d is missing", idx);
    *c = f->nd->in_const[idx];
    return XAI_OK;
}

static xai_status new_out(struct xai_fold *f, enum xai_dtype dt, const struct xai_shape *s,
                          bool flags, struct xai_err *err)
{
    if (xai_shape_numel(s) > XAI_FOLD_MAX_NUMEL)
        return xai_fold_fail(f, err, XAI_TOO_LARGE, "the constant it makes is too large");
    xai_status st = xai_fold_room(f, xai_shape_numel(s), err);
    if (st) return st;
    return xai_cst_new(dt, s, flags, "a folded constant", &f->out, err);
}

static xai_status batch_fail(struct xai_fold *f, struct xai_err *err)
{
    return xai_fold_fail(f, err, XAI_UNSUPPORTED,
                         "the result would not scale with the batch size, which xaid cannot "
                         "represent; export the model with a fixed batch size");
}

/* ---- Cast ---- */

static int cast_target(int64_t to)
{
    if (to == 1 || to == 10 || to == 11 || to == 16) return XAI_F32;
    if ((to >= 2 && to <= 7) || to == 9 || to == 12 || to == 13) return XAI_I64;
    return 0;
}

static xai_status cast_elem(struct xai_fold *f, const struct xai_const *src, int64_t k, int64_t to,
                            struct xai_err *err)
{
    struct xai_const *o = f->out;
    bool flag = xai_cst_flag(src, k);
    if (o->dtype == XAI_F32) {
        if (flag) return batch_fail(f, err);
        o->f[k] = src->dtype == XAI_F32 ? src->f[k] : (float)src->i64[k];
        return XAI_OK;
    }
    if (src->dtype == XAI_F32) {
        float v = src->f[k];
        if (!isfinite(v) || fabsf(v) >= 9.2e18f)
            return xai_fold_fail(f, err, XAI_BAD_MODEL, "cannot cast %g to an integer", (double)v);
        o->i64[k] = to == 9 ? v != 0.f : (int64_t)v;
        return XAI_OK;
    }
    if (flag && to == 9) return batch_fail(f, err);
    o->i64[k] = to == 9 ? src->i64[k] != 0 : src->i64[k];
    if (o->batch) o->batch[k] = flag;
    return XAI_OK;
}

static xai_status fold_cast(struct xai_fold *f, struct xai_err *err)
{
    const struct xai_const *src;
    int64_t to;
    xai_status st = need(f, 0, &src, err);
    if (!st) st = xai_attr_int(f->nd, "to", 0, &to, err);
    if (st) return st;
    int dt = cast_target(to);
    if (!dt) return xai_fold_fail(f, err, XAI_UNSUPPORTED, "cast to type %lld", (long long)to);
    if ((st = new_out(f, (enum xai_dtype)dt, &src->shape, dt == XAI_I64 && src->batch, err)))
        return st;
    int64_t n = xai_shape_numel(&src->shape);
    for (int64_t k = 0; !st && k < n; k++) st = cast_elem(f, src, k, to, err);
    return st;
}

/* ---- broadcasting helpers ---- */

/* Output shape of broadcasting inputs 0..n-1 and, per input, the offset of each element. */
static xai_status bcast(struct xai_fold *f, const struct xai_const **in, int n,
                        struct xai_shape *os, int64_t **offs, struct xai_err *err)
{
    *os = in[0]->shape;
    for (int i = 1; i < n; i++) {
        struct xai_err e;
        if (xai_shape_broadcast(os, &in[i]->shape, os, &e))
            return xai_fold_fail(f, err, XAI_SHAPE_MISMATCH, "%s", e.msg);
    }
    int64_t cnt = xai_shape_numel(os);
    if (cnt > XAI_FOLD_MAX_NUMEL)
        return xai_fold_fail(f, err, XAI_TOO_LARGE, "the constant it makes is too large");
    xai_status st = xai_fold_room(f, cnt, err);
    if (st) return st;
    for (int i = 0; i < n; i++) {
        int64_t stride[XAI_MAX_DIMS];
        offs[i] = malloc(sizeof(int64_t) * (size_t)(cnt ? cnt : 1));
        if (!offs[i]) return xai_fail(err, XAI_NO_MEMORY, "out of memory folding a constant");
        xai_shape_bstrides(&in[i]->shape, os, stride);
        xai_strided_offsets(os, stride, 0, offs[i]);
    }
    return XAI_OK;
}

static void free_offs(int64_t **offs, int n)
{
    for (int i = 0; i < n; i++) free(offs[i]);
}

/* ---- Add, Sub, Mul, Div, Equal ---- */

enum arith { OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_EQ };

static float arith_f(enum arith op, float a, float b)
{
    switch (op) {
    case OP_ADD:
        return a + b;
    case OP_SUB:
        return a - b;
    case OP_MUL:
        return a * b;
    case OP_DIV:
        return a / b;
    default:
        return a == b;
    }
}

/* Plain int64 arithmetic; false on overflow or division by zero. */
static bool arith_i(enum arith op, int64_t a, int64_t b, int64_t *r)
{
    switch (op) {
    case OP_ADD:
        return !__builtin_add_overflow(a, b, r);
    case OP_SUB:
        return !__builtin_sub_overflow(a, b, r);
    case OP_MUL:
        return !__builtin_mul_overflow(a, b, r);
    case OP_DIV:
        if (b == 0 || (a == INT64_MIN && b == -1)) return false;
        *r = a / b;
        return true;
    default:
        *r = a == b;
        return true;
    }
}

/* Whether the result of a and b (batch flags fa, fb) is exact for every batch size, and
 * whether it is flagged. */
static bool arith_flag(enum arith op, int64_t a, bool fa, int64_t b, bool fb, bool *fr)
{
    *fr = fa || fb;
    if (!fa && !fb) return true;
    switch (op) {
    case OP_ADD:
    case OP_SUB:
        return (fa && fb) || (fa ? b == 0 : a == 0);
    case OP_MUL:
        return !(fa && fb);
    case OP_DIV:
        return fa && !fb && b != 0 && (b == -1 || a % b == 0);
    default: {
        /* v * batch == c has the same answer for every batch >= 1 unless c is a positive
         * multiple of v (both flagged: v1 * batch == v2 * batch iff v1 == v2) */
        *fr = false;
        int64_t v = fa ? a : b, c = fa ? b : a;
        if ((fa && fb) || v == 0) return true;
        return v == -1 ? c > -1 : !(c % v == 0 && c / v >= 1);
    }
    }
}

static xai_status arith_int(struct xai_fold *f, enum arith op, const struct xai_const *a,
                            int64_t ia, const struct xai_const *b, int64_t ib, int64_t k,
                            struct xai_err *err)
{
    int64_t x = a->i64[ia], y = b->i64[ib], r;
    bool fa = xai_cst_flag(a, ia), fb = xai_cst_flag(b, ib), fr;
    if (!arith_flag(op, x, fa, y, fb, &fr)) return batch_fail(f, err);
    if (op == OP_EQ && fa != fb)
        r = x == 0 && y == 0; /* only exact cases get here (arith_flag) */
    else if (!arith_i(op, x, y, &r))
        return xai_fold_fail(f, err, XAI_BAD_MODEL, "integer overflow or division by zero");
    f->out->i64[k] = r;
    if (f->out->batch) f->out->batch[k] = fr;
    return XAI_OK;
}

static xai_status fold_arith(struct xai_fold *f, enum arith op, struct xai_err *err)
{
    const struct xai_const *in[2];
    int64_t *offs[2] = {0};
    struct xai_shape os;
    xai_status st = need(f, 0, &in[0], err);
    if (!st) st = need(f, 1, &in[1], err);
    if (!st && in[0]->dtype != in[1]->dtype)
        st = xai_fold_fail(f, err, XAI_BAD_MODEL, "inputs have different element types");
    if (!st) st = bcast(f, in, 2, &os, offs, err);
    bool ints = !st && in[0]->dtype == XAI_I64;
    bool flags = ints && op != OP_EQ && (in[0]->batch || in[1]->batch);
    if (!st) st = new_out(f, op == OP_EQ || ints ? XAI_I64 : XAI_F32, &os, flags, err);
    int64_t n = st ? 0 : xai_shape_numel(&os);
    for (int64_t k = 0; !st && k < n; k++) {
        int64_t ia = offs[0][k], ib = offs[1][k];
        if (ints)
            st = arith_int(f, op, in[0], ia, in[1], ib, k, err);
        else if (op == OP_EQ)
            f->out->i64[k] = in[0]->f[ia] == in[1]->f[ib];
        else
            f->out->f[k] = arith_f(op, in[0]->f[ia], in[1]->f[ib]);
    }
    free_offs(offs, 2);
    return st;
}

static xai_status fold_add(struct xai_fold *f, struct xai_err *err)
{
    return fold_arith(f, OP_ADD, err);
}
static xai_status fold_sub(struct xai_fold *f, struct xai_err *err)
{
    return fold_arith(f, OP_SUB, err);
}
static xai_status fold_mul(struct xai_fold *f, struct xai_err *err)
{
    return fold_arith(f, OP_MUL, err);
}
static xai_status fold_div(struct xai_fold *f, struct xai_err *err)
{
    return fold_arith(f, OP_DIV, err);
}
static xai_status fold_equal(struct xai_fold *f, struct xai_err *err)
{
    return fold_arith(f, OP_EQ, err);
}

/* ---- Where ---- */

static xai_status fold_where(struct xai_fold *f, struct xai_err *err)
{
    const struct xai_const *in[3];
    int64_t *offs[3] = {0};
    struct xai_shape os;
    xai_status st = XAI_OK;
    for (int i = 0; !st && i < 3; i++) st = need(f, i, &in[i], err);
    if (!st && (in[0]->dtype != XAI_I64 || xai_cst_any_flag(in[0])))
        st = xai_fold_fail(f, err, XAI_UNSUPPORTED, "the condition must be a boolean constant");
    if (!st && in[1]->dtype != in[2]->dtype)
        st = xai_fold_fail(f, err, XAI_BAD_MODEL, "inputs 1 and 2 have different element types");
    if (!st) st = bcast(f, in, 3, &os, offs, err);
    if (!st) st = new_out(f, in[1]->dtype, &os, in[1]->batch || in[2]->batch, err);
    int64_t n = st ? 0 : xai_shape_numel(&os);
    for (int64_t k = 0; k < n; k++) {
        bool c = in[0]->i64[offs[0][k]] != 0;
        xai_cst_copy_elem(f->out, k, in[c ? 1 : 2], offs[c ? 1 : 2][k]);
    }
    free_offs(offs, 3);
    return st;
}

/* ---- ConstantOfShape, Range ---- */

static struct xai_attr *find_attr(const struct xai_node_def *nd, const char *name)
{
    for (int i = 0; i < nd->n_attrs; i++)
        if (strcmp(nd->attrs[i].name, name) == 0) return &nd->attrs[i];
    return NULL;
}

static xai_status fold_constant_of_shape(struct xai_fold *f, struct xai_err *err)
{
    const struct xai_const *shape;
    int64_t dims[XAI_MAX_DIMS];
    int n;
    xai_status st = need(f, 0, &shape, err);
    if (st) return st;
    if (xai_cst_any_flag(shape))
        return xai_fold_fail(f, err, XAI_UNSUPPORTED,
                             "the shape it builds depends on the batch size; xaid cannot make "
                             "such a tensor at load time");
    if ((st = xai_fold_ints(f, 0, dims, XAI_MAX_DIMS, &n, err))) return st;
    struct xai_attr *a = find_attr(f->nd, "value");
    if (a && (a->type != XAI_ATTR_TENSOR || xai_shape_numel(&a->t->shape) != 1))
        return xai_fold_fail(f, err, XAI_BAD_MODEL,
                             "attribute 'value' must be a one-element tensor");
    if (a) a->used = true;
    struct xai_shape os = xai_shape_make(n, dims);
    for (int d = 0; d < n; d++)
        if (dims[d] < 0) return xai_fold_fail(f, err, XAI_BAD_MODEL, "negative dimension");
    enum xai_dtype dt = a ? a->t->dtype : XAI_F32;
    if ((st = new_out(f, dt, &os, false, err))) return st;
    int64_t cnt = xai_shape_numel(&os);
    for (int64_t k = 0; a && k < cnt; k++) {
        if (dt == XAI_F32)
            f->out->f[k] = a->t->f[0];
        else
            f->out->i64[k] = a->t->i64[0];
    }
    return XAI_OK;
}

static xai_status range_count(struct xai_fold *f, const struct xai_const **in, int64_t *n,
                              struct xai_err *err)
{
    double s, l, d;
    if (in[0]->dtype == XAI_F32) {
        s = in[0]->f[0], l = in[1]->f[0], d = in[2]->f[0];
    } else {
        s = (double)in[0]->i64[0], l = (double)in[1]->i64[0], d = (double)in[2]->i64[0];
    }
    double c = d != 0 ? ceil((l - s) / d) : NAN;
    if (!(c < (double)XAI_FOLD_MAX_NUMEL))
        return xai_fold_fail(f, err, XAI_BAD_MODEL, "invalid or too long range");
    *n = c > 0 ? (int64_t)c : 0;
    return XAI_OK;
}

static xai_status fold_range(struct xai_fold *f, struct xai_err *err)
{
    const struct xai_const *in[3];
    xai_status st = XAI_OK;
    for (int i = 0; !st && i < 3; i++) st = need(f, i, &in[i], err);
    for (int i = 0; !st && i < 3; i++)
        if (xai_shape_numel(&in[i]->shape) != 1 || in[i]->dtype != in[0]->dtype ||
            xai_cst_any_flag(in[i]))
            st = xai_fold_fail(f, err, XAI_UNSUPPORTED,
                               "needs scalar inputs of one type that do not depend on the batch");
    int64_t n = 0;
    if (!st) st = range_count(f, in, &n, err);
    struct xai_shape os = {.ndim = 1, .d = {n}};
    if (!st) st = new_out(f, in[0]->dtype, &os, false, err);
    for (int64_t k = 0; !st && k < n; k++) {
        if (in[0]->dtype == XAI_F32)
            f->out->f[k] = in[0]->f[0] + (float)k * in[2]->f[0];
        else
            f->out->i64[k] = in[0]->i64[0] + k * in[2]->i64[0];
    }
    return st;
}

/* flags: inputs that may carry batch flags (see onnx_fold.c). */
static const struct {
    const char *op;
    xai_fold_fn fn;
    unsigned flags;
} folds[] = {
    {"Cast", fold_cast, 1u},
    {"Add", fold_add, 3u},
    {"Sub", fold_sub, 3u},
    {"Mul", fold_mul, 3u},
    {"Div", fold_div, 3u},
    {"Equal", fold_equal, 3u},
    {"Where", fold_where, 6u},
    {"Range", fold_range, 0u},
    {"ConstantOfShape", fold_constant_of_shape, 0u},
};

xai_fold_fn xai_fold_find_math(const char *op_type, unsigned *flags)
{
    for (size_t i = 0; i < sizeof folds / sizeof folds[0]; i++)
        if (strcmp(folds[i].op, op_type) == 0) {
            *flags = folds[i].flags;
            return folds[i].fn;
        }
    return NULL;
}
