/*
 * attention.c - the attention maps a model computes itself (trainable attention, attention
 * gates): for a model that exposes them as graph outputs (model.json "attention"), one of them,
 * chosen by index, reduced over its channels (mean or max) when it has several, and upsampled
 * bilinearly (align_corners=False, as grad-CAM) from its grid to the model input grid.
 * Outputs may be [N, K, h, w] or [N, h, w]. The target class plays no part unless the model's
 * attention depends on it. Cost: one forward pass.
 */
#include <stdlib.h>
#include <string.h>

#include "_common.h"
#include "resample.h"

static const char *const reductions[] = {"mean", "max", NULL};

static const struct xai_param_def params[] = {
    {"index", XAI_PARAM_INT, 0, 0, 15, NULL,
     "which attention output, in the order model.json lists them"},
    {"reduce", XAI_PARAM_ENUM, 0, 0, 0, reductions,
     "how the channels of a multi-channel attention output are combined"},
};

static xai_status attention_value(const struct xai_method_req *req, const struct xai_tensor **a,
                                  struct xai_err *err)
{
    const struct xai_method_model *mm = req->mm;
    int idx = (int)req->params->v[0];
    if (mm->n_attention < 1)
        return xai_fail(err, XAI_UNSUPPORTED,
                        "attention needs a model that declares attention outputs (model.json "
                        "'attention')");
    if (idx >= mm->n_attention)
        return xai_fail(err, XAI_INVALID_ARGUMENT,
                        "parameter 'index' must be below %d, the model's number of attention "
                        "outputs",
                        mm->n_attention);
    xai_status st = xai_session_forward(req->s, req->input, err);
    if (st) return st;
    *a = xai_session_value(req->s, mm->attention[idx]);
    int nd = *a ? (*a)->shape.ndim : 0;
    if (!*a || (nd != 3 && nd != 4) || (*a)->shape.d[0] != 1)
        return xai_fail(err, XAI_UNSUPPORTED,
                        "the attention output is not [N, K, h, w] or [N, h, w]");
    return XAI_OK;
}

static void reduce(const struct xai_tensor *a, bool max, float *out, int64_t hw)
{
    int k = a->shape.ndim == 4 ? (int)a->shape.d[1] : 1;
    for (int64_t i = 0; i < hw; i++) {
        float acc = a->data[i];
        for (int c = 1; c < k; c++) {
            float v = a->data[c * hw + i];
            acc = max ? (v > acc ? v : acc) : acc + v;
        }
        out[i] = max ? acc : acc / (float)k;
    }
}

static xai_status run(const struct xai_method_req *req, struct xai_method_result *out,
                      struct xai_err *err)
{
    const struct xai_tensor *a = NULL;
    xai_status st = attention_value(req, &a, err);
    if (st) return st;
    int nd = a->shape.ndim;
    int h = (int)a->shape.d[nd - 2], w = (int)a->shape.d[nd - 1];
    float *small = malloc(sizeof(float) * (size_t)h * (size_t)w);
    if (!small) return xai_fail(err, XAI_NO_MEMORY, "out of memory");
    reduce(a, req->params->v[1] == 1, small, (int64_t)h * w);
    st = xai_m_result_init(req, false, out, err);
    if (!st) st = xai_resize(small, w, h, 1, out->map, out->width, out->height, err);
    free(small);
    return st;
}

const struct xai_method_def xai_method_attention = {
    .name = "attention",
    .summary = "Where the model's own attention mechanism looks (its attention-map outputs), "
               "on the image.",
    .caveat = "Attention shows where the model weighs features, not which evidence decided the "
              "class; a map may be high on regions that argue against it.",
    .params = params,
    .n_params = 2,
    .needs = XAI_NEEDS_ATTENTION,
    .signed_map = false,
    .run = run,
};
