/* _cam.c - layer activation and gradient, weighted channel sum and upsampling shared by the
 * class-activation-map methods; see _cam.h. */
#include "_cam.h"

#include <stdlib.h>
#include <string.h>

#include "resample.h"

xai_status xai_cam_check_layer(const struct xai_method_req *req, const char *method,
                               struct xai_err *err)
{
    const xai_model *m = req->mm->model;
    int v = req->layer;
    if (v < 0 || v >= m->n_values)
        return xai_fail(err, XAI_UNSUPPORTED,
                        "%s needs a layer: the model names no default CAM layer; pass 'layer' "
                        "(a 4-D convolutional activation)",
                        method);
    const struct xai_value *val = &m->values[v];
    char sh[96];
    if (val->cst || !val->grad)
        return xai_fail(err, XAI_INVALID_ARGUMENT,
                        "%s: layer '%s' does not depend on the input image", method, val->name);
    if (val->shape.ndim != 4)
        return xai_fail(err, XAI_INVALID_ARGUMENT,
                        "%s: layer '%s' has shape %s; it needs a 4-D [N,C,H,W] activation", method,
                        val->name, xai_shape_str(&val->shape, sh, sizeof sh));
    return XAI_OK;
}

/* Seeds 1 at the target logit of the (single) item and runs the backward pass down to the
 * layer. */
static xai_status backward_to_layer(const struct xai_method_req *req, const char *method,
                                    const struct xai_tensor *y, struct xai_err *err)
{
    float *seed = calloc((size_t)xai_shape_numel(&y->shape), sizeof(float));
    if (!seed) return xai_fail(err, XAI_NO_MEMORY, "out of memory");
    seed[req->target] = 1.f;
    struct xai_tensor g = {y->shape, seed};
    struct xai_grad_seed gs = {req->mm->output, &g};
    int stop = req->layer;
    struct xai_backward_opts opts = {NULL, 0, &stop, 1};
    xai_status st = xai_session_backward(req->s, &gs, 1, &opts, err);
    free(seed);
    return st;
}

static xai_status layer_shape(const struct xai_method_req *req, const char *method,
                              const struct xai_tensor *a, struct xai_cam_layer *l,
                              struct xai_err *err)
{
    const char *name = req->mm->model->values[req->layer].name;
    if (!a) return xai_fail(err, XAI_INTERNAL, "%s: layer '%s' was not kept", method, name);
    if (a->shape.ndim != 4 || a->shape.d[0] != 1)
        return xai_fail(err, XAI_INTERNAL, "%s: layer '%s' is not [1,C,H,W]", method, name);
    l->act = a->data;
    l->k = (int)a->shape.d[1];
    l->h = (int)a->shape.d[2];
    l->w = (int)a->shape.d[3];
    return XAI_OK;
}

xai_status xai_cam_layer_run(const struct xai_method_req *req, const char *method, bool grad,
                             struct xai_cam_layer *l, struct xai_err *err)
{
    memset(l, 0, sizeof *l);
    if (req->input->shape.d[0] != 1)
        return xai_fail(err, XAI_INTERNAL, "%s runs on one input item", method);
    xai_status st = xai_session_keep(req->s, req->layer, err);
    if (!st) st = xai_session_forward(req->s, req->input, err);
    if (st) return st;
    const struct xai_tensor *y = xai_session_value(req->s, req->mm->output);
    if (!y || y->shape.ndim != 2 || y->shape.d[0] != 1)
        return xai_fail(err, XAI_INTERNAL, "the model output is not [1, classes]");
    if (req->target < 0 || req->target >= y->shape.d[1])
        return xai_fail(err, XAI_INVALID_ARGUMENT, "target %d is not a class of the model",
                        req->target);
    l->score = y->data[req->target];
    if ((st = layer_shape(req, method, xai_session_value(req->s, req->layer), l, err))) return st;
    if (!grad) return XAI_OK;
    if ((st = backward_to_layer(req, method, y, err))) return st;
    const struct xai_tensor *g = xai_session_grad(req->s, req->layer);
    if (!g)
        return xai_fail(err, XAI_INVALID_ARGUMENT,
                        "%s: no gradient of the target reaches layer '%s' (it does not feed the "
                        "output)",
                        method, req->mm->model->values[req->layer].name);
    l->grad = g->data;
    return XAI_OK;
}

/* cam[i] = sum_k w[k] * A[k][i], accumulated in double; then max(cam, 0) when relu. */
static xai_status combine(const struct xai_cam_layer *l, const double *w, bool relu, float *cam,
                          struct xai_err *err)
{
    int64_t hw = (int64_t)l->h * l->w;
    double *acc = calloc((size_t)hw, sizeof(double));
    if (!acc) return xai_fail(err, XAI_NO_MEMORY, "out of memory");
    for (int k = 0; k < l->k; k++) {
        const float *a = l->act + (int64_t)k * hw;
        for (int64_t i = 0; i < hw; i++) acc[i] += w[k] * a[i];
    }
    for (int64_t i = 0; i < hw; i++) cam[i] = relu && acc[i] < 0 ? 0.f : (float)acc[i];
    free(acc);
    return XAI_OK;
}

xai_status xai_cam_finish(const struct xai_method_req *req, const struct xai_cam_layer *l,
                          const double *w, bool relu, struct xai_method_result *out,
                          struct xai_err *err)
{
    float *cam = malloc(sizeof(float) * (size_t)l->h * (size_t)l->w);
    xai_status st = cam ? XAI_OK : xai_fail(err, XAI_NO_MEMORY, "out of memory");
    if (!st) st = combine(l, w, relu, cam, err);
    if (!st) st = xai_m_result_init(req, !relu, out, err);
    if (!st) st = xai_resize(cam, l->w, l->h, 1, out->map, out->width, out->height, err);
    free(cam);
    return st;
}

static xai_status weigh_and_finish(const struct xai_method_req *req, const struct xai_cam_layer *l,
                                   xai_cam_weights_fn weights, bool relu,
                                   struct xai_method_result *out, struct xai_err *err)
{
    double *w = malloc(sizeof(double) * (size_t)l->k);
    xai_status st = w ? XAI_OK : xai_fail(err, XAI_NO_MEMORY, "out of memory");
    if (!st) st = weights(req, l, w, err);
    if (!st) st = xai_cam_finish(req, l, w, relu, out, err);
    free(w);
    return st;
}

xai_status xai_cam_map(const struct xai_method_req *req, const char *method, bool grad,
                       xai_cam_weights_fn weights, bool relu, struct xai_method_result *out,
                       struct xai_err *err)
{
    memset(out, 0, sizeof *out);
    struct xai_cam_layer l;
    xai_status st = xai_cam_check_layer(req, method, err);
    if (!st) st = xai_cam_layer_run(req, method, grad, &l, err);
    if (!st) st = weigh_and_finish(req, &l, weights, relu, out, err);
    if (st) xai_method_result_reset(out);
    return st;
}

xai_status xai_cam_gradcam_weights(const struct xai_method_req *req, const struct xai_cam_layer *l,
                                   double *w, struct xai_err *err)
{
    int64_t hw = (int64_t)l->h * l->w;
    for (int k = 0; k < l->k; k++) {
        const float *g = l->grad + (int64_t)k * hw;
        double s = 0;
        for (int64_t i = 0; i < hw; i++) s += g[i];
        w[k] = s / (double)hw;
    }
    return XAI_OK;
}
