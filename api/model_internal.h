/*
 * model_internal.h - the two halves of loading one model, shared by model_repo.c only:
 * model_json.c reads and validates model.json on its own; model_graph.c checks it against the
 * loaded ONNX graph and resolves its tensor names to value indices.
 */
#ifndef API_MODEL_INTERNAL_H
#define API_MODEL_INTERNAL_H

#include "model_repo.h"

/* Reads path (model.json) into m: identity, labels, task, preprocessing, and the names the
 * graph check resolves later. Messages start with path and name the field. */
xai_status api_model_json_load(const char *path, struct api_model *m, struct xai_err *err);

/* Checks m (filled by api_model_json_load, m->engine loaded) against the graph: input shape
 * and name, output size, CAM layer, classifier; fills the value indices and the layer list.
 * json_path and onnx_path prefix the messages. */
xai_status api_model_bind(struct api_model *m, const char *json_path, const char *onnx_path,
                          struct xai_err *err);

#endif
