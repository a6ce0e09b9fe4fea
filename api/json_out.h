/*
 * json_out.h - the JSON shapes of models and predictions, shared by the CLI and the HTTP API
 * so that `xaid predict --json` prints exactly what a client receives.
 *
 *   model reference   {"name", "version", "sha256"}   in every response, so that a result can
 *                                                     be traced to the exact model.onnx
 *   prediction        {"model": ref, "scores": [score...], "prediction": score}
 *   score             {"index", "label", "probability", "logit"}, scores ranked by probability
 *   model info        ref + description, task, labels, input, cam_layer, layers, methods
 *                     (GET /v1/models/{model}; methods: the attribution methods that fit it)
 *
 * Every function returns a new reference (NULL when out of memory); the caller decrefs it.
 * Dump with API_JSON_FLAGS (plus JSON_INDENT for people) so numbers look the same everywhere.
 */
#ifndef API_JSON_OUT_H
#define API_JSON_OUT_H

#include <jansson.h>

#include "model_repo.h"
#include "predict.h"

/* Floats carry 7 significant digits (float precision): 0.948396, not 0.94839602708816528. */
#define API_JSON_FLAGS JSON_REAL_PRECISION(7)

json_t *api_model_ref_json(const struct api_model *m);
json_t *api_score_json(const struct api_score *s);
json_t *api_prediction_json(const struct api_model *m, const struct api_scores *s);
json_t *api_model_info_json(const struct api_model *m);
/* Whether a method can run on m: CAM needs a GAP-linear head, layer methods a 4-D layer, LRP
 * a rule for every node (the method's fits). 1 yes, 0 no, -1 out of memory. */
struct xai_method_def;
int api_method_fits(const struct api_model *m, const struct xai_method_def *d);

#endif
