/*
 * dominant_class.c - for every pixel, the class with the largest attribution among all
 * classes, and that attribution's strength, in the manner of CLEAR-DR's dominant-class map
 * (Kumar et al. 2019): a class-specific method (grad-CAM by default) runs once per class, with
 * its default parameters; each pixel takes the class of the largest value (ties: the lower
 * class index). Pixels where no class has a positive attribution get no class (-1).
 * The map is the strength max(0, max_c A_c); result->classes holds the class per pixel.
 * Cost: the base method's, times the number of classes.
 */
#include <stdlib.h>
#include <string.h>

#include "_common.h"

static const char *const bases[] = {"gradcam",
                                    "gradcam_pp",
                                    "cam",
                                    "guided_gradcam",
                                    "saliency",
                                    "gradient_x_input",
                                    "integrated_gradients",
                                    "smoothgrad",
                                    "occlusion",
                                    "lrp",
                                    NULL};

static const struct xai_param_def params[] = {
    {"base", XAI_PARAM_ENUM, 0, 0, 0, bases,
     "the class-specific method run for every class (with its default parameters)"},
};

static int n_classes(const struct xai_method_req *req)
{
    const struct xai_shape *s = &req->mm->model->values[req->mm->output].shape;
    return s->ndim == 2 ? (int)s->d[1] : 0;
}

/* Keeps, per pixel, the largest value and its class. */
static void merge(const float *map, int64_t n, int cls, float *best, int32_t *classes)
{
    for (int64_t i = 0; i < n; i++)
        if (cls == 0 || map[i] > best[i]) {
            best[i] = map[i];
            classes[i] = cls;
        }
}

static xai_status run_class(const struct xai_method_req *req, const struct xai_method_def *base,
                            int cls, float *best, int32_t *classes, struct xai_err *err)
{
    struct xai_param_values pv;
    xai_method_defaults(base, &pv);
    struct xai_method_req sub = *req;
    sub.target = cls;
    sub.params = &pv;
    struct xai_method_result r = {0};
    xai_status st = base->run(&sub, &r, err);
    if (!st) merge(r.map, (int64_t)r.height * r.width, cls, best, classes);
    xai_method_result_reset(&r);
    return st;
}

static xai_status run(const struct xai_method_req *req, struct xai_method_result *out,
                      struct xai_err *err)
{
    const struct xai_method_def *base = xai_method_find(bases[(int)req->params->v[0]]);
    int nc = n_classes(req);
    if (!base || nc < 1) return xai_fail(err, XAI_INTERNAL, "dominant_class: no base method");
    if ((base->needs & XAI_NEEDS_GAP_HEAD) && req->mm->head_weight < 0)
        return xai_fail(err, XAI_UNSUPPORTED,
                        "dominant_class with base '%s' needs a global-average-pooling + linear "
                        "head (model.json 'classifier')",
                        base->name);
    xai_status st = xai_m_result_init(req, false, out, err);
    int64_t n = (int64_t)out->height * out->width;
    if (!st && !(out->classes = malloc(sizeof(int32_t) * (size_t)n)))
        st = xai_fail(err, XAI_NO_MEMORY, "out of memory for the class map");
    for (int c = 0; !st && c < nc; c++) st = run_class(req, base, c, out->map, out->classes, err);
    for (int64_t i = 0; !st && i < n; i++)
        if (!(out->map[i] > 0)) {
            out->map[i] = 0;
            out->classes[i] = -1;
        }
    if (st) xai_method_result_reset(out);
    return st;
}

const struct xai_method_def xai_method_dominant_class = {
    .name = "dominant_class",
    .summary = "For every pixel, the class with the largest attribution and its strength "
               "(CLEAR-DR's dominant-class map).",
    .caveat = "Compares attributions across classes on one scale, which methods do not promise; "
              "costs one base-method run per class.",
    .params = params,
    .n_params = 1,
    .needs = XAI_NEEDS_LAYER,
    .signed_map = false,
    .run = run,
};
