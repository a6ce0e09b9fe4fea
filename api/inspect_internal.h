/* inspect_internal.h - helpers shared by the api/inspect_*.c files only. */
#ifndef API_INSPECT_INTERNAL_H
#define API_INSPECT_INTERNAL_H

#include "inspect.h"
#include "json_out.h"
#include "render.h"
#include "params.h"
#include "views.h"

/* A base64 string of len bytes (JSON null when out of memory). */
json_t *api_b64_json(const void *data, size_t len);
/* {"dtype": "float32", "byte_order": "little", "shape": [...], "data": base64}. */
json_t *api_raw_json(const float *data, const int64_t *shape, int ndim);
/* A picture as PNG in base64. */
xai_status api_grid_png_json(const struct xai_grid *g, json_t **out, struct xai_err *err);
/* The value index of a tensor name of m's graph; NOT_FOUND naming the argument otherwise. */
xai_status api_tensor_find(const struct api_model *m, const char *name, int *value,
                           struct xai_err *err);

#endif
