/*
 * onnx_tensor.c - ONNX tensors and attributes as the engine sees them.
 *
 * TensorProto -> struct xai_const: float-like types (float, double, float16, bfloat16) become
 * XAI_F32, integer and bool types become XAI_I64. Data comes from raw_data (little-endian,
 * whose length must be exactly numel * element size) or from the typed repeated field
 * (whose count must be numel). External data is refused. AttributeProto -> struct xai_attr
 * for the types ops can read; graphs, string lists and the like are refused.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx_internal.h"

enum onnx_type {
    T_FLOAT = 1,
    T_UINT8 = 2,
    T_INT8 = 3,
    T_UINT16 = 4,
    T_INT16 = 5,
    T_INT32 = 6,
    T_INT64 = 7,
    T_STRING = 8,
    T_BOOL = 9,
    T_FLOAT16 = 10,
    T_DOUBLE = 11,
    T_UINT32 = 12,
    T_UINT64 = 13,
    T_BFLOAT16 = 16,
};

xai_status xai_node_fail(const char *node, const char *op, struct xai_err *err, xai_status st,
                         const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return xai_fail(err, st, "node '%s' (%s): %s", node, op, msg);
}

xai_status xai_cst_new(enum xai_dtype dt, const struct xai_shape *shape, bool with_batch,
                       const char *what, struct xai_const **out, struct xai_err *err)
{
    int64_t n = 1;
    for (int i = 0; i < shape->ndim; i++) {
        if (shape->d[i] < 0) return xai_fail(err, XAI_BAD_MODEL, "%s has a negative size", what);
        if (shape->d[i] && n > XAI_ONNX_MAX_NUMEL / shape->d[i])
            return xai_fail(err, XAI_TOO_LARGE, "%s is too large", what);
        n *= shape->d[i];
    }
    size_t cnt = (size_t)(n ? n : 1);
    struct xai_const *c = calloc(1, sizeof *c);
    if (!c) return xai_fail(err, XAI_NO_MEMORY, "out of memory for %s", what);
    c->dtype = dt;
    c->shape = *shape;
    if (dt == XAI_F32)
        c->f = calloc(cnt, sizeof(float));
    else
        c->i64 = calloc(cnt, sizeof(int64_t));
    if (with_batch) c->batch = calloc(cnt, 1);
    if ((dt == XAI_F32 ? !c->f : !c->i64) || (with_batch && !c->batch)) {
        xai_const_free(c);
        return xai_fail(err, XAI_NO_MEMORY, "out of memory for %s", what);
    }
    *out = c;
    return XAI_OK;
}

xai_status xai_cst_clone(const struct xai_const *c, const char *what, struct xai_const **out,
                         struct xai_err *err)
{
    xai_status st = xai_cst_new(c->dtype, &c->shape, c->batch != NULL, what, out, err);
    if (st) return st;
    size_t n = (size_t)xai_shape_numel(&c->shape);
    if (c->f) memcpy((*out)->f, c->f, n * sizeof(float));
    if (c->i64) memcpy((*out)->i64, c->i64, n * sizeof(int64_t));
    if (c->batch) memcpy((*out)->batch, c->batch, n);
    return XAI_OK;
}

bool xai_cst_flag(const struct xai_const *c, int64_t k)
{
    return c->batch && c->batch[k];
}

bool xai_cst_any_flag(const struct xai_const *c)
{
    int64_t n = xai_shape_numel(&c->shape);
    for (int64_t k = 0; c->batch && k < n; k++)
        if (c->batch[k]) return true;
    return false;
}

static int elem_size(int t)
{
    switch (t) {
    case T_UINT8:
    case T_INT8:
    case T_BOOL:
        return 1;
    case T_UINT16:
    case T_INT16:
    case T_FLOAT16:
    case T_BFLOAT16:
        return 2;
    case T_FLOAT:
    case T_INT32:
    case T_UINT32:
        return 4;
    case T_INT64:
    case T_DOUBLE:
    case T_UINT64:
        return 8;
    default:
        return 0;
    }
}

static bool is_float_type(int t)
{
    return t == T_FLOAT || t == T_DOUBLE || t == T_FLOAT16 || t == T_BFLOAT16;
}

static uint64_t read_le(const uint8_t *p, int size)
{
    uint64_t v = 0;
    for (int i = size - 1; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

static float half_to_float(uint32_t h)
{
    uint32_t sign = (h >> 15) & 1, exp = (h >> 10) & 0x1f, man = h & 0x3ff;
    float v;
    if (exp == 0)
        v = ldexpf((float)man, -24);
    else if (exp == 31)
        v = man ? NAN : INFINITY;
    else
        v = ldexpf((float)(man | 0x400), (int)exp - 25);
    return sign ? -v : v;
}

static float bits_to_float(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* Element k of raw little-endian data of ONNX type t, as float or int64. */
static void raw_elem(const uint8_t *raw, int t, int64_t k, float *f, int64_t *i)
{
    int es = elem_size(t);
    uint64_t u = read_le(raw + (size_t)k * (size_t)es, es);
    double dv;
    switch (t) {
    case T_FLOAT:
        *f = bits_to_float((uint32_t)u);
        return;
    case T_DOUBLE:
        memcpy(&dv, &u, sizeof dv);
        *f = (float)dv;
        return;
    case T_FLOAT16:
        *f = half_to_float((uint32_t)u);
        return;
    case T_BFLOAT16:
        *f = bits_to_float((uint32_t)u << 16);
        return;
    case T_INT8:
        *i = (int8_t)u;
        return;
    case T_INT16:
        *i = (int16_t)u;
        return;
    case T_INT32:
        *i = (int32_t)u;
        return;
    case T_BOOL:
        *i = u != 0;
        return;
    default:
        *i = (int64_t)u;
        return; /* uint8/16/32/64, int64 */
    }
}

/* Element k of the typed repeated field of t, as float or int64. */
static void typed_elem(const Xonnx__TensorProto *t, int64_t k, float *f, int64_t *i)
{
    switch (t->data_type) {
    case T_FLOAT:
        *f = t->float_data[k];
        return;
    case T_DOUBLE:
        *f = (float)t->double_data[k];
        return;
    case T_FLOAT16:
        *f = half_to_float((uint32_t)t->int32_data[k] & 0xffff);
        return;
    case T_BFLOAT16:
        *f = bits_to_float(((uint32_t)t->int32_data[k] & 0xffff) << 16);
        return;
    case T_INT64:
        *i = t->int64_data[k];
        return;
    case T_UINT32:
    case T_UINT64:
        *i = (int64_t)t->uint64_data[k];
        return;
    case T_BOOL:
        *i = t->int32_data[k] != 0;
        return;
    default:
        *i = t->int32_data[k];
        return;
    }
}

static size_t typed_count(const Xonnx__TensorProto *t)
{
    switch (t->data_type) {
    case T_FLOAT:
        return t->n_float_data;
    case T_DOUBLE:
        return t->n_double_data;
    case T_INT64:
        return t->n_int64_data;
    case T_UINT32:
    case T_UINT64:
        return t->n_uint64_data;
    default:
        return t->n_int32_data;
    }
}

static xai_status tensor_shape(const Xonnx__TensorProto *t, const char *what, struct xai_shape *s,
                               int64_t *numel, struct xai_err *err)
{
    memset(s, 0, sizeof *s);
    if (t->n_dims > XAI_MAX_DIMS)
        return xai_fail(err, XAI_UNSUPPORTED, "%s has %zu dimensions, at most %d supported", what,
                        t->n_dims, XAI_MAX_DIMS);
    int64_t n = 1;
    for (size_t i = 0; i < t->n_dims; i++) {
        int64_t d = t->dims[i];
        if (d < 0) return xai_fail(err, XAI_BAD_MODEL, "%s has a negative dimension", what);
        if (d && n > XAI_ONNX_MAX_NUMEL / d)
            return xai_fail(err, XAI_TOO_LARGE, "%s has too many elements", what);
        n *= d;
        s->d[s->ndim++] = d;
    }
    *numel = n;
    return XAI_OK;
}

static xai_status check_data(const Xonnx__TensorProto *t, const char *what, int64_t n,
                             struct xai_err *err)
{
    if ((t->has_data_location && t->data_location == 1) || t->n_external_data)
        return xai_fail(err, XAI_UNSUPPORTED,
                        "%s keeps its data in an external file; export the model with the "
                        "weights inside the .onnx file",
                        what);
    int es = elem_size(t->has_data_type ? t->data_type : 0);
    if (!es)
        return xai_fail(err, XAI_UNSUPPORTED, "%s has data type %d, which xaid does not support",
                        what, t->data_type);
    if (t->has_raw_data && (t->raw_data.len || !typed_count(t))) {
        if ((uint64_t)t->raw_data.len != (uint64_t)n * (uint64_t)es)
            return xai_fail(err, XAI_BAD_MODEL,
                            "%s: raw_data holds %zu bytes, its shape needs %lld (%lld elements "
                            "of %d bytes)",
                            what, t->raw_data.len, (long long)n * es, (long long)n, es);
        return XAI_OK;
    }
    if (typed_count(t) != (size_t)n)
        return xai_fail(err, XAI_BAD_MODEL, "%s holds %zu values, its shape needs %lld", what,
                        typed_count(t), (long long)n);
    return XAI_OK;
}

xai_status xai_onnx_tensor(const Xonnx__TensorProto *t, const char *what, struct xai_const **out,
                           struct xai_err *err)
{
    struct xai_shape s;
    int64_t n;
    xai_status st = tensor_shape(t, what, &s, &n, err);
    if (!st) st = check_data(t, what, n, err);
    if (st) return st;
    enum xai_dtype dt = is_float_type(t->data_type) ? XAI_F32 : XAI_I64;
    struct xai_const *c;
    if ((st = xai_cst_new(dt, &s, false, what, &c, err))) return st;
    bool raw = t->has_raw_data && (t->raw_data.len || !typed_count(t));
    for (int64_t k = 0; k < n; k++) {
        float *f = c->f ? &c->f[k] : NULL;
        int64_t *i = c->i64 ? &c->i64[k] : NULL;
        float fv = 0;
        int64_t iv = 0;
        if (raw)
            raw_elem(t->raw_data.data, t->data_type, k, &fv, &iv);
        else
            typed_elem(t, k, &fv, &iv);
        if (f)
            *f = fv;
        else
            *i = iv;
    }
    *out = c;
    return XAI_OK;
}

static bool little_endian(void)
{
    const uint16_t one = 1;
    uint8_t b;
    memcpy(&b, &one, 1);
    return b == 1;
}

static void drop_raw(Xonnx__TensorProto *t)
{
    free(t->raw_data.data);
    t->raw_data.data = NULL;
    t->raw_data.len = 0;
}

xai_status xai_onnx_tensor_take(Xonnx__TensorProto *t, const char *what, struct xai_const **out,
                                struct xai_err *err)
{
    struct xai_shape s;
    int64_t n;
    xai_status st = tensor_shape(t, what, &s, &n, err);
    if (!st) st = check_data(t, what, n, err);
    if (st) return st;
    bool raw = t->has_raw_data && t->raw_data.len && t->raw_data.data;
    if (!raw || t->data_type != T_FLOAT || !little_endian()) {
        st = xai_onnx_tensor(t, what, out, err);
        if (raw) drop_raw(t);
        return st;
    }
    struct xai_const *c = calloc(1, sizeof *c);
    if (!c) return xai_fail(err, XAI_NO_MEMORY, "out of memory for %s", what);
    c->dtype = XAI_F32;
    c->shape = s;
    c->f = (float *)(void *)t->raw_data.data; /* malloc'd by protobuf-c: free() releases it */
    t->raw_data.data = NULL;
    t->raw_data.len = 0;
    *out = c;
    return XAI_OK;
}

/* ---- attributes ---- */

enum onnx_attr_type {
    A_FLOAT = 1,
    A_INT = 2,
    A_STRING = 3,
    A_TENSOR = 4,
    A_GRAPH = 5,
    A_FLOATS = 6,
    A_INTS = 7,
};

static int attr_type(const Xonnx__AttributeProto *a)
{
    if (a->has_type) return a->type;
    if (a->t) return A_TENSOR;
    if (a->g) return A_GRAPH;
    if (a->n_floats) return A_FLOATS;
    if (a->n_ints) return A_INTS;
    if (a->has_s) return A_STRING;
    if (a->has_f) return A_FLOAT;
    if (a->has_i) return A_INT;
    return 0;
}

static xai_status copy_list(const void *src, size_t n, size_t es, void **dst, int *cnt,
                            struct xai_err *err)
{
    if (n > 1u << 24) return xai_fail(err, XAI_TOO_LARGE, "attribute list too long");
    *dst = calloc(n ? n : 1, es);
    if (!*dst) return xai_fail(err, XAI_NO_MEMORY, "out of memory for attributes");
    if (n) memcpy(*dst, src, n * es);
    *cnt = (int)n;
    return XAI_OK;
}

static xai_status convert_attr(const Xonnx__AttributeProto *a, const char *node, const char *op,
                               struct xai_attr *x, struct xai_err *err)
{
    int t = attr_type(a);
    char what[300];
    snprintf(what, sizeof what, "node '%s' (%s): attribute '%s'", node, op, a->name);
    if (a->ref_attr_name && a->ref_attr_name[0])
        return xai_fail(err, XAI_UNSUPPORTED, "%s refers to a function attribute", what);
    x->type = (enum xai_attr_type)t;
    switch (t) {
    case A_FLOAT:
        x->f = a->f;
        return XAI_OK;
    case A_INT:
        x->i = a->i;
        return XAI_OK;
    case A_STRING:
        x->s = calloc(a->s.len + 1, 1);
        if (!x->s) return xai_fail(err, XAI_NO_MEMORY, "out of memory for attributes");
        if (a->s.len) memcpy(x->s, a->s.data, a->s.len);
        return XAI_OK;
    case A_TENSOR:
        if (!a->t) return xai_fail(err, XAI_BAD_MODEL, "%s holds no tensor", what);
        return xai_onnx_tensor(a->t, what, &x->t, err);
    case A_FLOATS:
        return copy_list(a->floats, a->n_floats, sizeof(float), (void **)&x->floats, &x->n, err);
    case A_INTS:
        return copy_list(a->ints, a->n_ints, sizeof(int64_t), (void **)&x->ints, &x->n, err);
    case A_GRAPH:
        return xai_fail(err, XAI_UNSUPPORTED, "%s is a subgraph; control flow is not supported",
                        what);
    default:
        return xai_fail(err, XAI_UNSUPPORTED, "%s has attribute type %d, which xaid does not read",
                        what, t);
    }
}

void xai_onnx_attrs_free(struct xai_attr *a, int n)
{
    for (int i = 0; a && i < n; i++) {
        free(a[i].name);
        free(a[i].s);
        xai_const_free(a[i].t);
        free(a[i].floats);
        free(a[i].ints);
    }
    free(a);
}

static xai_status check_attr_name(const Xonnx__NodeProto *np, size_t i, const char *node,
                                  const char *op, struct xai_err *err)
{
    const char *name = np->attribute[i]->name;
    if (!name || !name[0])
        return xai_node_fail(node, op, err, XAI_BAD_MODEL, "attribute %zu has no name", i);
    for (size_t j = 0; j < i; j++)
        if (np->attribute[j]->name && strcmp(np->attribute[j]->name, name) == 0)
            return xai_node_fail(node, op, err, XAI_BAD_MODEL, "attribute '%s' appears twice",
                                 name);
    return XAI_OK;
}

xai_status xai_onnx_attrs(const Xonnx__NodeProto *np, const char *node, const char *op,
                          struct xai_attr **out, int *n, struct xai_err *err)
{
    *out = NULL;
    *n = 0;
    if (np->n_attribute > 1024)
        return xai_node_fail(node, op, err, XAI_BAD_MODEL, "too many attributes");
    struct xai_attr *a = calloc(np->n_attribute ? np->n_attribute : 1, sizeof *a);
    if (!a) return xai_fail(err, XAI_NO_MEMORY, "out of memory for attributes");
    xai_status st = XAI_OK;
    size_t i;
    for (i = 0; !st && i < np->n_attribute; i++) {
        st = check_attr_name(np, i, node, op, err);
        if (st) break;
        a[i].name = strdup(np->attribute[i]->name);
        if (!a[i].name)
            st = xai_fail(err, XAI_NO_MEMORY, "out of memory for attributes");
        else
            st = convert_attr(np->attribute[i], node, op, &a[i], err);
    }
    if (st) {
        xai_onnx_attrs_free(a, (int)np->n_attribute);
        return st;
    }
    *out = a;
    *n = (int)np->n_attribute;
    return XAI_OK;
}
