/*
 * gradcam.c - grad-CAM (Selvaraju et al. 2017), as pytorch-grad-cam's GradCAM: for the
 * layer's activation A (K channels) and the gradient of the target logit S,
 *   w_k = mean over positions of dS/dA_k,   cam = ReLU(sum_k w_k A_k),
 * upsampled bilinearly (align_corners=False) from the layer's grid to the model input grid.
 * The layer is req->layer: the model's default CAM layer unless the request names another.
 * pytorch-grad-cam then min-max scales the map to [0, 1]; the map here keeps its scale (the
 * renderer normalises it), so a class without positive evidence stays near zero instead of
 * being stretched to full range.
 * What it answers: which regions of the layer's feature maps raise the target score.
 * Cost: one forward pass and a backward pass that stops at the layer (no gradient flows
 * below it), so for the last block of a network about a tenth of a full backward pass.
 * Caveat: the map has the layer's resolution (7x7 for a 224-pixel ResNet), so it localises
 * coarsely, and the ReLU hides evidence against the class.
 */
#include "_cam.h"

static xai_status run(const struct xai_method_req *req, struct xai_method_result *out,
                      struct xai_err *err)
{
    return xai_cam_map(req, "gradcam", true, xai_cam_gradcam_weights, true, out, err);
}

const struct xai_method_def xai_method_gradcam = {
    .name = "gradcam",
    .summary = "Which regions of a convolutional layer's feature maps raise the target score.",
    .caveat = "Coarse: the map has the layer's resolution, upsampled; evidence against the "
              "class is cut off by the ReLU.",
    .params = NULL,
    .n_params = 0,
    .needs = XAI_NEEDS_LAYER,
    .signed_map = false,
    .run = run,
};
