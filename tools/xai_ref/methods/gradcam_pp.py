"""gradcam_pp: pytorch-grad-cam's GradCAMPlusPlus.get_cam_weights (equation 19 of
Chattopadhay et al.):
  alpha = g^2 / (2 g^2 + sum_ij(A) g^3 + 1e-6), 0 where g == 0;  w = sum_ij alpha * ReLU(g),
then cam = ReLU(sum_k w_k A_k) resized to the input (bilinear, align_corners=False), without
the final min-max scaling (see gradcam.py). Computed in float64 (pytorch-grad-cam uses float32
numpy; the formula is the same)."""
import torch
import torch.nn.functional as F

from xai_ref.methods._cam_family import layer_activation, upsample, weighted_sum

NAME = "gradcam_pp"
CASES = [{}]


def compute(ctx, params):
    a, g, _ = layer_activation(ctx)
    a, g = a.double(), g.double()
    g2 = g ** 2
    g3 = g2 * g
    s = a.sum(dim=(1, 2))
    aij = g2 / (2 * g2 + s[:, None, None] * g3 + 1e-6)
    aij = torch.where(g != 0, aij, torch.zeros_like(aij))
    w = (F.relu(g) * aij).sum(dim=(1, 2))
    return upsample(weighted_sum(w, a, relu=True), ctx).numpy()
