"""guided_gradcam: pytorch-grad-cam's guided grad-CAM (its cam.py example): the GradCAM
output (scale_cam_image: min-max to [0, 1] at the layer, resize, and again min-max after
aggregate_multi_layers, eps 1e-7) times the guided-backpropagation gradient
(GuidedBackpropReLUModel: grad_output * [x > 0] * [grad_output > 0] at every nn.ReLU, the
same rule as Captum's, see _relu_rules.py), multiplied into every channel as
`cam_mask * gb`, then reduced over channels like guided_backprop (signed sum by default,
max |.| with abs=True)."""
import torch

from xai_ref.methods._cam_family import gradcam_weights, layer_activation, upsample, weighted_sum
from xai_ref.methods._relu_rules import reduce_channels, relu_rule_grad

NAME = "guided_gradcam"
CASES = [{"abs": False}, {"abs": True}]


def scale_cam_image(img):
    img = img - img.min()
    return img / (1e-7 + img.max())


def compute(ctx, params):
    a, g, _ = layer_activation(ctx)
    cam = weighted_sum(gradcam_weights(a, g), a.double(), relu=True)
    mask = scale_cam_image(torch.clamp(upsample(scale_cam_image(cam), ctx), min=0))
    gb = relu_rule_grad(ctx, "guided")
    return reduce_channels(mask[None] * gb, params.get("abs", False)).numpy()
