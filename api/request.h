/*
 * request.h - one client request, whatever carried it: parameters by name, validated against a
 * model, the whole pipeline run on a worker's session, and the full answer JSON.
 *
 *   query string, multipart `params`,   api_args_add_*     struct api_args
 *   JSON body, CLI flags            -------------------->  (names and raw values)
 *   api_args + model                --api_request_parse->  struct api_explain_opts
 *   image bytes + opts + session    --api_run_explain---->  struct api_explanation + timings
 *                                   --api_explain_answer->  {"request_id", "model", "scores", ...}
 *
 * The CLI (`xaid explain`, `xaid predict --json`) and the HTTP server both go through here, so
 * they accept the same parameter names and values and print the same JSON. Parameter names:
 * method, target, layer, outputs, colormap, opacity, evaluate, seed, and the method's own (its
 * table in core/method.h). Error messages name the parameter and say what is allowed; they never
 * echo a value, and echo a name only when it is short and made of [A-Za-z0-9_.-].
 */
#ifndef API_REQUEST_H
#define API_REQUEST_H

#include <jansson.h>

#include "explain.h"

#define API_MAX_ARGS 32
#define API_REQUEST_ID_MAX 64

/* One parameter as the client sent it: text, or a JSON value (number, boolean, string, or an
 * array of strings for outputs). The strings and the JSON value belong to the caller and must
 * outlive the api_args. */
struct api_arg {
    const char *name;
    const char *text;   /* NULL when json is set */
    const json_t *json; /* NULL when text is set */
};

struct api_args {
    int n;
    struct api_arg a[API_MAX_ARGS];
};

/* A parameter's name as a message may show it: the name itself when it is 1 to 64 characters
 * of A-Z a-z 0-9 _ . -, else a description (a request's text is never echoed otherwise). */
const char *api_arg_shown(const char *name);

/* Append one parameter. INVALID_ARGUMENT for a name given twice or too many parameters. */
xai_status api_args_add_text(struct api_args *a, const char *name, const char *text,
                             struct xai_err *err);
xai_status api_args_add_json(struct api_args *a, const char *name, const json_t *val,
                             struct xai_err *err);
/* Every member of a JSON object but the one named skip (may be NULL). INVALID_ARGUMENT when obj
 * is not an object. */
xai_status api_args_add_object(struct api_args *a, const json_t *obj, const char *skip,
                               struct xai_err *err);

/* Explain options for model m from the arguments: defaults (api_explain_opts_default, method
 * gradcam), then the method, then every other argument. INVALID_ARGUMENT for an unknown name or
 * a bad value; NOT_FOUND for an unknown method, layer or class. */
xai_status api_request_parse(const struct api_model *m, const struct api_args *a,
                             struct api_explain_opts *o, struct xai_err *err);
/* predict takes no parameters: INVALID_ARGUMENT naming the first one given. */
xai_status api_predict_args_check(const struct api_args *a, struct xai_err *err);

/* Milliseconds spent in each stage of one request. queue and total are the caller's (the
 * server's queue wait; the whole request); the others are filled by api_run_*. */
struct api_timing {
    double queue, decode, forward, explain, encode, total;
};

/* The whole pipeline on one image: decode + preprocess, forward, method, renders. e and sc are
 * empty on failure. Errors: the decoder's (BAD_IMAGE, TOO_LARGE, UNSUPPORTED_MEDIA),
 * api_explain's, DEADLINE_EXCEEDED when the session's deadline passes. */
xai_status api_run_explain(const struct api_model *m, xai_session *s, const void *bytes, size_t len,
                           const struct api_explain_opts *o, struct api_explanation *e,
                           struct api_timing *t, struct xai_err *err);
xai_status api_run_predict(const struct api_model *m, xai_session *s, const void *bytes, size_t len,
                           struct api_scores *sc, struct api_timing *t, struct xai_err *err);

/* The answers (new references, NULL when out of memory):
 *   explain: {"request_id", "model", "scores", "prediction", "target", "explanation", "timing_ms"}
 *   predict: {"request_id", "model", "scores", "prediction", "timing_ms"} */
json_t *api_explain_answer(const char *request_id, const struct api_model *m,
                           const struct api_explain_opts *o, const struct api_explanation *e,
                           const struct api_timing *t);
json_t *api_predict_answer(const char *request_id, const struct api_model *m,
                           const struct api_scores *sc, const struct api_timing *t);

/* A new random request id: 32 lowercase hex digits and a NUL. */
void api_request_id_new(char out[33]);
/* Milliseconds of CLOCK_MONOTONIC (for timings). */
double api_now_ms(void);

#endif
