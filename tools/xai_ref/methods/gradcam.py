"""gradcam: pytorch-grad-cam's GradCAM on the layer ctx.layer (its forward + backward hooks
become xai_ref.model's kept intermediate and autograd.grad): w_k = mean(dS/dA_k),
cam = ReLU(sum_k w_k A_k), resized to the input (bilinear, align_corners=False). The
engine's map keeps its scale; pytorch-grad-cam's final scale_cam_image min-max scaling to
[0, 1] is left to the renderer (it is affine, so it only changes the colour scale)."""
from xai_ref.methods._cam_family import gradcam_weights, layer_activation, upsample, weighted_sum

NAME = "gradcam"
CASES = [{}]


def compute(ctx, params):
    a, g, _ = layer_activation(ctx)
    cam = weighted_sum(gradcam_weights(a, g), a.double(), relu=True)
    return upsample(cam, ctx).numpy()
