/* op_attr.c - attribute and constant-input readers used by every op's init. */
#include "op.h"

#include <string.h>

static struct xai_attr *find_attr(const struct xai_node_def *nd, const char *name)
{
    for (int i = 0; i < nd->n_attrs; i++)
        if (strcmp(nd->attrs[i].name, name) == 0) return &nd->attrs[i];
    return NULL;
}

static xai_status wrong_type(const struct xai_node_def *nd, const char *name, const char *want,
                             struct xai_err *err)
{
    return xai_fail(err, XAI_BAD_MODEL, "node '%s' (%s): attribute '%s' must be %s", nd->name,
                    nd->op_type, name, want);
}

xai_status xai_attr_int(const struct xai_node_def *nd, const char *name, int64_t def, int64_t *out,
                        struct xai_err *err)
{
    struct xai_attr *a = find_attr(nd, name);
    if (!a) {
        *out = def;
        return XAI_OK;
    }
    if (a->type != XAI_ATTR_INT) return wrong_type(nd, name, "an int", err);
    a->used = true;
    *out = a->i;
    return XAI_OK;
}

xai_status xai_attr_float(const struct xai_node_def *nd, const char *name, float def, float *out,
                          struct xai_err *err)
{
    struct xai_attr *a = find_attr(nd, name);
    if (!a) {
        *out = def;
        return XAI_OK;
    }
    if (a->type != XAI_ATTR_FLOAT) return wrong_type(nd, name, "a float", err);
    a->used = true;
    *out = a->f;
    return XAI_OK;
}

xai_status xai_attr_string(const struct xai_node_def *nd, const char *name, const char *def,
                           const char **out, struct xai_err *err)
{
    struct xai_attr *a = find_attr(nd, name);
    if (!a) {
        *out = def;
        return XAI_OK;
    }
    if (a->type != XAI_ATTR_STRING) return wrong_type(nd, name, "a string", err);
    a->used = true;
    *out = a->s;
    return XAI_OK;
}

xai_status xai_attr_ints(const struct xai_node_def *nd, const char *name, int64_t *out, int max,
                         int *n, struct xai_err *err)
{
    struct xai_attr *a = find_attr(nd, name);
    *n = 0;
    if (!a) return XAI_OK;
    if (a->type != XAI_ATTR_INTS) return wrong_type(nd, name, "a list of ints", err);
    if (a->n > max)
        return xai_fail(err, XAI_UNSUPPORTED,
                        "node '%s' (%s): attribute '%s' has %d values, at most %d supported",
                        nd->name, nd->op_type, name, a->n, max);
    a->used = true;
    memcpy(out, a->ints, sizeof(int64_t) * (size_t)a->n);
    *n = a->n;
    return XAI_OK;
}

xai_status xai_attr_floats(const struct xai_node_def *nd, const char *name, float *out, int max,
                           int *n, struct xai_err *err)
{
    struct xai_attr *a = find_attr(nd, name);
    *n = 0;
    if (!a) return XAI_OK;
    if (a->type != XAI_ATTR_FLOATS) return wrong_type(nd, name, "a list of floats", err);
    if (a->n > max)
        return xai_fail(err, XAI_UNSUPPORTED,
                        "node '%s' (%s): attribute '%s' has %d values, at most %d supported",
                        nd->name, nd->op_type, name, a->n, max);
    a->used = true;
    memcpy(out, a->floats, sizeof(float) * (size_t)a->n);
    *n = a->n;
    return XAI_OK;
}

void xai_attr_ignore(const struct xai_node_def *nd, const char *name)
{
    struct xai_attr *a = find_attr(nd, name);
    if (a) a->used = true;
}

xai_status xai_input_ints(const struct xai_node_def *nd, int idx, int64_t *out, uint8_t *batch,
                          int max, int *n, struct xai_err *err)
{
    *n = 0;
    if (idx >= nd->n_in || !nd->in_present[idx]) return XAI_OK;
    const struct xai_const *c = nd->in_const[idx];
    if (!c || c->dtype != XAI_I64)
        return xai_fail(
            err, XAI_UNSUPPORTED,
            "node '%s' (%s): input %d must be a constant int64 tensor known at load time", nd->name,
            nd->op_type, idx);
    int64_t cnt = xai_shape_numel(&c->shape);
    if (cnt > max)
        return xai_fail(err, XAI_UNSUPPORTED,
                        "node '%s' (%s): input %d has %lld values, at most %d supported", nd->name,
                        nd->op_type, idx, (long long)cnt, max);
    for (int64_t i = 0; i < cnt; i++) {
        out[i] = c->i64[i];
        if (batch)
            batch[i] = c->batch ? c->batch[i] : 0;
        else if (c->batch && c->batch[i])
            return xai_fail(err, XAI_UNSUPPORTED,
                            "node '%s' (%s): input %d depends on the batch size, which this op "
                            "does not support",
                            nd->name, nd->op_type, idx);
    }
    *n = (int)cnt;
    return XAI_OK;
}

xai_status xai_input_float(const struct xai_node_def *nd, int idx, float def, float *out,
                           struct xai_err *err)
{
    *out = def;
    if (idx >= nd->n_in || !nd->in_present[idx]) return XAI_OK;
    const struct xai_const *c = nd->in_const[idx];
    if (!c || xai_shape_numel(&c->shape) != 1)
        return xai_fail(err, XAI_UNSUPPORTED,
                        "node '%s' (%s): input %d must be a constant scalar known at load time",
                        nd->name, nd->op_type, idx);
    *out = c->dtype == XAI_F32 ? c->f[0] : (float)c->i64[0];
    return XAI_OK;
}

xai_status xai_attrs_check_used(const struct xai_node_def *nd, struct xai_err *err)
{
    for (int i = 0; i < nd->n_attrs; i++)
        if (!nd->attrs[i].used)
            return xai_fail(err, XAI_UNSUPPORTED,
                            "node '%s': op %s (opset %d) does not support attribute '%s'", nd->name,
                            nd->op_type, nd->opset, nd->attrs[i].name);
    return XAI_OK;
}
