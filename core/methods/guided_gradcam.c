/*
 * guided_gradcam.c - guided grad-CAM (Selvaraju et al. 2017): the pixel-wise product of the
 * grad-CAM map and the guided-backpropagation map, as pytorch-grad-cam's example does it:
 *   mask = grad-CAM upsampled to the input grid and min-max scaled to [0, 1] (pytorch-grad-cam's
 *          output, see gradcam.c; 0 everywhere when the map is constant),
 *   map  = mask * R(guided backprop gradient),
 * where R reduces the colour channels like guided_backprop: signed sum (abs=false, default) or
 * largest absolute value (abs=true). pytorch-grad-cam multiplies the mask into every channel
 * before visualising; since mask >= 0 does not depend on the channel, that is the same as
 * multiplying after either reduction.
 * What it answers: the fine-grained input pixels of guided backpropagation, restricted to the
 * regions where grad-CAM finds evidence for the class.
 * Cost: two forward passes, one backward pass stopped at the layer and one full backward
 * pass with the guided Relu rule (see _guided.h).
 * Caveat: the class sensitivity comes from the grad-CAM factor only; the fine detail is
 * guided backpropagation's, which is largely class-insensitive.
 */
#include <stdlib.h>
#include <string.h>

#include "_cam.h"
#include "_guided.h"

static const struct xai_param_def params[] = {
    {"abs", XAI_PARAM_BOOL, 0, 0, 1, NULL,
     "largest absolute value over channels (true) or signed channel sum (false)"},
};

/* (x - min) / (max - min) in place; 0 everywhere for a constant map. */
static void minmax_scale(float *x, int64_t n)
{
    float lo = x[0], hi = x[0];
    for (int64_t i = 1; i < n; i++) {
        lo = x[i] < lo ? x[i] : lo;
        hi = x[i] > hi ? x[i] : hi;
    }
    float r = hi - lo;
    for (int64_t i = 0; i < n; i++) x[i] = r > 0 ? (x[i] - lo) / r : 0.f;
}

static xai_status run(const struct xai_method_req *req, struct xai_method_result *out,
                      struct xai_err *err)
{
    bool use_abs = req->params->v[0] != 0;
    memset(out, 0, sizeof *out);
    xai_status st = xai_relu_rule_check(req, "guided_gradcam", err);
    if (!st) st = xai_cam_map(req, "guided_gradcam", true, xai_cam_gradcam_weights, true, out, err);
    if (st) return st;
    int64_t n = (int64_t)out->height * out->width;
    out->signed_map = !use_abs;
    minmax_scale(out->map, n);
    float *gb = malloc(sizeof(float) * (size_t)n);
    if (!gb) st = xai_fail(err, XAI_NO_MEMORY, "out of memory");
    if (!st) st = xai_relu_rule_map(req, "guided_gradcam", XAI_RELU_GUIDED, use_abs, gb, err);
    for (int64_t i = 0; !st && i < n; i++) out->map[i] *= gb[i];
    free(gb);
    if (st) xai_method_result_reset(out);
    if (!st) xai_method_metric(out, "relu_nodes", xai_relu_count(req->mm->model));
    return st;
}

const struct xai_method_def xai_method_guided_gradcam = {
    .name = "guided_gradcam",
    .summary =
        "Fine input detail (guided backprop) inside the regions grad-CAM finds for the class.",
    .caveat = "Class sensitivity comes from the coarse grad-CAM factor only; the detail is "
              "guided backprop's, which barely depends on the class.",
    .params = params,
    .n_params = 1,
    .needs = XAI_NEEDS_LAYER,
    .signed_map = true,
    .run = run,
};
