"""What the CAM-family references share: the layer's activation and the gradient of the target
logit with respect to it (pytorch-grad-cam's ActivationsAndGradients: a forward hook keeps the
layer output, a tensor hook its gradient; here the kept intermediate of xai_ref.model and
torch.autograd.grad), and the upsampling to the input grid (pytorch-grad-cam's cv2.resize
INTER_LINEAR, which for enlarging is F.interpolate bilinear with align_corners=False)."""
import torch
import torch.nn.functional as F


def layer_activation(ctx, with_grad=True):
    """(A [K, h, w], dS/dA [K, h, w] or None, S) for the target logit S."""
    x = ctx.x.detach().clone().requires_grad_(True)
    y, kept = ctx.model(x, keep=[ctx.layer])
    a = kept[ctx.layer]
    score = y[0, ctx.target]
    g = torch.autograd.grad(score, a)[0][0].detach() if with_grad else None
    return a[0].detach(), g, float(score)


def weighted_sum(w, a, relu):
    cam = (w[:, None, None] * a).sum(dim=0)
    return F.relu(cam) if relu else cam


def upsample(cam, ctx):
    """cam [h, w] -> [H, W] of the model input."""
    size = tuple(ctx.x.shape[2:])
    return F.interpolate(cam[None, None].float(), size=size, mode="bilinear",
                         align_corners=False)[0, 0]


def gradcam_weights(a, g):
    """pytorch-grad-cam GradCAM.get_cam_weights: the spatial mean of the gradients."""
    return g.double().mean(dim=(1, 2))
