/* explain_internal.h - explain.c's helpers for class-labelled maps (explain_classes.c). */
#ifndef API_EXPLAIN_INTERNAL_H
#define API_EXPLAIN_INTERNAL_H

#include "base64.h"
#include "explain.h"

/* The class of every original pixel: that of the model-grid pixel its centre falls in, -1
 * where mask is 0. *out: width x height int32 of the original image (malloc'd). */
xai_status api_classes_map_back(const struct api_input *in, const struct xai_method_result *r,
                                const uint8_t *mask, int32_t **out, struct xai_err *err);
/* Renderings of a class map: t the normalised strength on the original pixels. The overlay
 * has a legend strip of the classes present under the image. */
xai_status api_classes_render(const struct api_model *m, const struct api_input *in, const float *t,
                              const int32_t *cls, float opacity, unsigned outputs,
                              struct xai_blob *overlay_png, struct xai_blob *heatmap_png,
                              struct xai_err *err);
/* {"class_map": {"dtype": "int32", "byte_order", "shape": [h, w], "none": "-1", "data"},
 *  "legend": [{"index", "label", "color": "#rrggbb"} ...]} */
json_t *api_classes_json(const struct api_model *m, const int32_t *cls, int width, int height);

#endif
