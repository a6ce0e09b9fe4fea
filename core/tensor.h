/*
 * tensor.h - float32 NCHW tensors and shapes.
 *
 * A struct xai_tensor never owns its data: sessions and models own the memory, tensors are
 * views onto it. Shapes carry at most XAI_MAX_DIMS dimensions.
 */
#ifndef XAI_TENSOR_H
#define XAI_TENSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "status.h"

#define XAI_MAX_DIMS 8

struct xai_shape {
    int ndim;
    int64_t d[XAI_MAX_DIMS];
};

struct xai_tensor {
    struct xai_shape shape;
    float *data;
};

int64_t xai_shape_numel(const struct xai_shape *s);
bool xai_shape_eq(const struct xai_shape *a, const struct xai_shape *b);
/* Writes e.g. "[1,3,224,224]" into buf. Returns buf. */
char *xai_shape_str(const struct xai_shape *s, char *buf, size_t n);
struct xai_shape xai_shape_make(int ndim, const int64_t *d);
/* Numpy-style broadcast of a and b; fails with SHAPE_MISMATCH when they are incompatible. */
xai_status xai_shape_broadcast(const struct xai_shape *a, const struct xai_shape *b,
                               struct xai_shape *out, struct xai_err *err);
/* Row-major strides of s; strides of broadcast dimensions (size 1 against out) are 0. */
void xai_shape_bstrides(const struct xai_shape *s, const struct xai_shape *out, int64_t *strides);
/* Normalises an axis in [-ndim, ndim) to [0, ndim); returns -1 when out of range. */
int xai_axis(int64_t axis, int ndim);

#endif
