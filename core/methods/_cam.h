/*
 * _cam.h - what the class-activation-map methods share (cam, gradcam, gradcam_pp,
 * guided_gradcam): the layer's activation A and the gradient dS/dA of the target logit S
 * from one forward pass and a backward pass stopped at the layer, the weighted channel sum
 * cam = sum_k w_k A_k, and its bilinear upsampling onto the model input grid.
 *
 * Upsampling is core/resample's triangle filter, which for enlarging is exactly bilinear
 * interpolation with half-pixel centres and clamped edges, i.e. torch's
 * F.interpolate(mode="bilinear", align_corners=False) and OpenCV's INTER_LINEAR resize that
 * pytorch-grad-cam uses. (A layer larger than the input, which no CAM layer is in practice,
 * would be shrunk with antialiasing.)
 *
 * Values the session must keep after the forward pass: the layer activation (and, for the
 * gradient methods, the layer's gradient after the backward pass) and the model output.
 */
#ifndef XAI_METHODS_CAM_H
#define XAI_METHODS_CAM_H

#include "_common.h"

struct xai_cam_layer {
    const float *act;  /* A: [K, h, w] of the single input item */
    const float *grad; /* dS/dA, same layout; NULL when no backward pass was asked for */
    int k, h, w;
    float score; /* the target logit S */
};

/* Channel weights w (k doubles) from the layer; a status for methods that can refuse. */
typedef xai_status (*xai_cam_weights_fn)(const struct xai_method_req *req,
                                         const struct xai_cam_layer *l, double *w,
                                         struct xai_err *err);

/* Checks that req->layer is a 4-D value [1, K, h, w] computed from the input. `method`
 * names the caller in messages. */
xai_status xai_cam_check_layer(const struct xai_method_req *req, const char *method,
                               struct xai_err *err);

/* Forward pass of req->input; with grad, also the backward pass of the target logit stopped
 * at the layer (nothing below it runs). The pointers stay valid until the next pass. */
xai_status xai_cam_layer_run(const struct xai_method_req *req, const char *method, bool grad,
                             struct xai_cam_layer *l, struct xai_err *err);

/* cam = sum_k w_k A_k (then ReLU when relu), upsampled into out->map (allocated here, on the
 * model input grid; signed_map = !relu). */
xai_status xai_cam_finish(const struct xai_method_req *req, const struct xai_cam_layer *l,
                          const double *w, bool relu, struct xai_method_result *out,
                          struct xai_err *err);

/* The whole method: layer check, passes, weights, cam = sum_k w_k A_k (then ReLU when relu),
 * upsampled into out->map (allocated here; signed_map = !relu). */
xai_status xai_cam_map(const struct xai_method_req *req, const char *method, bool grad,
                       xai_cam_weights_fn weights, bool relu, struct xai_method_result *out,
                       struct xai_err *err);

/* grad-CAM's weights (Selvaraju et al.): the spatial mean of dS/dA_k. */
xai_status xai_cam_gradcam_weights(const struct xai_method_req *req, const struct xai_cam_layer *l,
                                   double *w, struct xai_err *err);

#endif
