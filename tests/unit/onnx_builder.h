/*
 * onnx_builder.h - builds small ONNX ModelProtos in C for the importer tests, with the
 * protobuf-c API generated from core/onnx/onnx_subset.proto, and packs them to bytes.
 * Every allocation is tracked by the builder and released by mb_free.
 */
#ifndef XAI_TEST_ONNX_BUILDER_H
#define XAI_TEST_ONNX_BUILDER_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "onnx_subset.pb-c.h"

#define MB_MAX 64

struct mb {
    Xonnx__ModelProto m;
    Xonnx__GraphProto g;
    Xonnx__OperatorSetIdProto op;
    Xonnx__OperatorSetIdProto *ops[1];
    Xonnx__NodeProto *nodes[MB_MAX];
    Xonnx__TensorProto *inits[MB_MAX];
    Xonnx__ValueInfoProto *ins[8], *outs[8];
    void **mem;
    int n_mem, cap_mem;
};

static inline void *mb_alloc(struct mb *b, size_t n)
{
    if (b->n_mem == b->cap_mem) {
        b->cap_mem = b->cap_mem ? b->cap_mem * 2 : 256;
        b->mem = realloc(b->mem, sizeof(void *) * (size_t)b->cap_mem);
        if (!b->mem) abort();
    }
    void *p = calloc(1, n ? n : 1);
    if (!p) abort();
    b->mem[b->n_mem++] = p;
    return p;
}

static inline char *mb_str(struct mb *b, const char *s)
{
    char *p = mb_alloc(b, strlen(s) + 1);
    memcpy(p, s, strlen(s));
    return p;
}

static inline void mb_init(struct mb *b, int64_t opset)
{
    memset(b, 0, sizeof *b);
    xonnx__model_proto__init(&b->m);
    xonnx__graph_proto__init(&b->g);
    xonnx__operator_set_id_proto__init(&b->op);
    b->m.has_ir_version = 1;
    b->m.ir_version = 8;
    b->m.producer_name = "pytorch";
    b->m.producer_version = "1.13.1";
    b->m.graph = &b->g;
    b->op.domain = "";
    b->op.has_version = 1;
    b->op.version = opset;
    b->ops[0] = &b->op;
    b->m.opset_import = b->ops;
    b->m.n_opset_import = 1;
    b->g.name = "test";
    b->g.node = b->nodes;
    b->g.initializer = b->inits;
    b->g.input = b->ins;
    b->g.output = b->outs;
}

/* Splits "a,,b" into {"a", "", "b"}; "" gives no names. */
static inline char **mb_names(struct mb *b, const char *csv, size_t *n)
{
    *n = 0;
    if (!csv || !csv[0]) return NULL;
    char **v = mb_alloc(b, sizeof(char *) * (strlen(csv) + 1));
    const char *p = csv;
    for (;;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        v[*n] = mb_alloc(b, len + 1);
        memcpy(v[*n], p, len);
        (*n)++;
        if (!e) break;
        p = e + 1;
    }
    return v;
}

static inline Xonnx__NodeProto *mb_node(struct mb *b, const char *op, const char *ins,
                                        const char *outs)
{
    Xonnx__NodeProto *n = mb_alloc(b, sizeof *n);
    xonnx__node_proto__init(n);
    n->op_type = mb_str(b, op);
    n->input = mb_names(b, ins, &n->n_input);
    n->output = mb_names(b, outs, &n->n_output);
    n->attribute = mb_alloc(b, sizeof(Xonnx__AttributeProto *) * 16);
    b->nodes[b->g.n_node++] = n;
    return n;
}

static inline Xonnx__AttributeProto *mb_attr(struct mb *b, Xonnx__NodeProto *n, const char *name,
                                             int type)
{
    Xonnx__AttributeProto *a = mb_alloc(b, sizeof *a);
    xonnx__attribute_proto__init(a);
    a->name = mb_str(b, name);
    a->has_type = 1;
    a->type = type;
    n->attribute[n->n_attribute++] = a;
    return a;
}

static inline void mb_attr_i(struct mb *b, Xonnx__NodeProto *n, const char *name, int64_t v)
{
    Xonnx__AttributeProto *a = mb_attr(b, n, name, 2);
    a->has_i = 1;
    a->i = v;
}

static inline void mb_attr_f(struct mb *b, Xonnx__NodeProto *n, const char *name, float v)
{
    Xonnx__AttributeProto *a = mb_attr(b, n, name, 1);
    a->has_f = 1;
    a->f = v;
}

static inline void mb_attr_ints(struct mb *b, Xonnx__NodeProto *n, const char *name, size_t cnt,
                                const int64_t *v)
{
    Xonnx__AttributeProto *a = mb_attr(b, n, name, 7);
    a->ints = mb_alloc(b, sizeof(int64_t) * cnt);
    memcpy(a->ints, v, sizeof(int64_t) * cnt);
    a->n_ints = cnt;
}

static inline void mb_attr_floats(struct mb *b, Xonnx__NodeProto *n, const char *name, size_t cnt,
                                  const float *v)
{
    Xonnx__AttributeProto *a = mb_attr(b, n, name, 6);
    a->floats = mb_alloc(b, sizeof(float) * cnt);
    memcpy(a->floats, v, sizeof(float) * cnt);
    a->n_floats = cnt;
}

static inline Xonnx__TensorProto *mb_tensor(struct mb *b, const char *name, int type, size_t ndim,
                                            const int64_t *dims)
{
    Xonnx__TensorProto *t = mb_alloc(b, sizeof *t);
    xonnx__tensor_proto__init(t);
    t->name = name ? mb_str(b, name) : NULL;
    t->has_data_type = 1;
    t->data_type = type;
    t->dims = mb_alloc(b, sizeof(int64_t) * (ndim ? ndim : 1));
    if (ndim) memcpy(t->dims, dims, sizeof(int64_t) * ndim);
    t->n_dims = ndim;
    return t;
}

static inline size_t mb_numel(size_t ndim, const int64_t *dims)
{
    size_t n = 1;
    for (size_t i = 0; i < ndim; i++) n *= (size_t)dims[i];
    return n;
}

/* A float tensor stored in float_data. */
static inline Xonnx__TensorProto *mb_tensor_f(struct mb *b, const char *name, size_t ndim,
                                              const int64_t *dims, const float *v)
{
    Xonnx__TensorProto *t = mb_tensor(b, name, 1, ndim, dims);
    size_t n = mb_numel(ndim, dims);
    t->float_data = mb_alloc(b, sizeof(float) * n);
    memcpy(t->float_data, v, sizeof(float) * n);
    t->n_float_data = n;
    return t;
}

/* A tensor stored in raw_data (little-endian bytes given as they are). */
static inline Xonnx__TensorProto *mb_tensor_raw(struct mb *b, const char *name, int type,
                                                size_t ndim, const int64_t *dims, const void *bytes,
                                                size_t len)
{
    Xonnx__TensorProto *t = mb_tensor(b, name, type, ndim, dims);
    t->has_raw_data = 1;
    t->raw_data.data = mb_alloc(b, len);
    memcpy(t->raw_data.data, bytes, len);
    t->raw_data.len = len;
    return t;
}

static inline Xonnx__TensorProto *mb_tensor_i64(struct mb *b, const char *name, size_t ndim,
                                                const int64_t *dims, const int64_t *v)
{
    Xonnx__TensorProto *t = mb_tensor(b, name, 7, ndim, dims);
    size_t n = mb_numel(ndim, dims);
    t->int64_data = mb_alloc(b, sizeof(int64_t) * n);
    memcpy(t->int64_data, v, sizeof(int64_t) * n);
    t->n_int64_data = n;
    return t;
}

static inline void mb_attr_t(struct mb *b, Xonnx__NodeProto *n, const char *name,
                             Xonnx__TensorProto *t)
{
    mb_attr(b, n, name, 4)->t = t;
}

static inline void mb_add_init(struct mb *b, Xonnx__TensorProto *t)
{
    b->inits[b->g.n_initializer++] = t;
}

static inline void mb_init_f(struct mb *b, const char *name, size_t ndim, const int64_t *dims,
                             const float *v)
{
    mb_add_init(b, mb_tensor_f(b, name, ndim, dims, v));
}

static inline void mb_init_i64(struct mb *b, const char *name, size_t ndim, const int64_t *dims,
                               const int64_t *v)
{
    mb_add_init(b, mb_tensor_i64(b, name, ndim, dims, v));
}

static inline Xonnx__ValueInfoProto *mb_value_info(struct mb *b, const char *name, int elem,
                                                   size_t ndim, const int64_t *dims)
{
    Xonnx__ValueInfoProto *vi = mb_alloc(b, sizeof *vi);
    Xonnx__TypeProto *tp = mb_alloc(b, sizeof *tp);
    Xonnx__TypeProto__Tensor *tt = mb_alloc(b, sizeof *tt);
    Xonnx__TensorShapeProto *sp = mb_alloc(b, sizeof *sp);
    xonnx__value_info_proto__init(vi);
    xonnx__type_proto__init(tp);
    xonnx__type_proto__tensor__init(tt);
    xonnx__tensor_shape_proto__init(sp);
    vi->name = mb_str(b, name);
    vi->type = tp;
    tp->value_case = XONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    tp->tensor_type = tt;
    tt->has_elem_type = 1;
    tt->elem_type = elem;
    if (!dims) return vi;
    tt->shape = sp;
    sp->dim = mb_alloc(b, sizeof(void *) * (ndim ? ndim : 1));
    sp->n_dim = ndim;
    for (size_t i = 0; i < ndim; i++) {
        Xonnx__TensorShapeProto__Dimension *d = mb_alloc(b, sizeof *d);
        xonnx__tensor_shape_proto__dimension__init(d);
        if (dims[i] >= 0) {
            d->value_case = XONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            d->dim_value = dims[i];
        } else {
            d->value_case = XONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
            d->dim_param = mb_str(b, i == 0 ? "batch" : "height");
        }
        sp->dim[i] = d;
    }
    return vi;
}

/* A graph input; a negative dimension is symbolic (dim_param). dims NULL: no shape. */
static inline void mb_input(struct mb *b, const char *name, int elem, size_t ndim,
                            const int64_t *dims)
{
    b->ins[b->g.n_input++] = mb_value_info(b, name, elem, ndim, dims);
}

static inline void mb_output(struct mb *b, const char *name)
{
    b->outs[b->g.n_output++] = mb_value_info(b, name, 1, 0, NULL);
}

static inline uint8_t *mb_pack(struct mb *b, size_t *len)
{
    *len = xonnx__model_proto__get_packed_size(&b->m);
    uint8_t *buf = malloc(*len ? *len : 1);
    if (!buf) abort();
    xonnx__model_proto__pack(&b->m, buf);
    return buf;
}

static inline void mb_free(struct mb *b)
{
    for (int i = 0; i < b->n_mem; i++) free(b->mem[i]);
    free(b->mem);
    b->mem = NULL;
    b->n_mem = b->cap_mem = 0;
}

#endif
