"""occlusion: Captum's Occlusion (captum.attr.Occlusion) on the model's target logit, written
with torch ops on the same ONNX model.

Captum's algorithm with sliding_window_shapes = (C, patch, patch), strides = (C, stride,
stride), baselines = the fill, perturbations_per_eval = max_batch: window offsets are
range(0, side - patch + 1, stride) per axis; for each window the input is x * (1 - mask) +
baseline * mask, and (S(x) - S(x_occluded)) * mask is summed; the sum is divided by the number
of windows covering each element. Where no window covers a pixel xaid returns 0 (Captum 0/0).
The map is that per-pixel value (all channels carry the same one).

Defaults (patch = stride = 0) as in core/methods/occlusion.c: stride = max(1, side // 14),
patch = side - 12 stride on the shorter side.
"""
import torch

from xai_ref.methods._perturb import fill as make_fill

NAME = "occlusion"
CASES = [
    {},
    {"patch": 16, "stride": 8, "fill": "mean"},
    {"patch": 12, "stride": 5, "fill": "blur", "sigma": 2.5},
    {"fill": "blur"},
]


def windows(h, w, patch, stride):
    return [(y, x) for y in range(0, h - patch + 1, stride) for x in range(0, w - patch + 1, stride)]


def plan(h, w, params):
    side = min(h, w)
    patch, stride = params.get("patch", 0), params.get("stride", 0)
    if patch == 0 and stride == 0:
        stride = max(1, side // 14)
        patch = max(1, side - 12 * stride)
    if patch == 0:
        patch = min(2 * stride, side)
    if stride == 0:
        stride = max(1, patch // 2)
    return patch, stride


def compute(ctx, params):
    x = ctx.x
    _, c, h, w = x.shape
    patch, stride = plan(h, w, params)
    sigma = params.get("sigma", 0) or patch / 4.0
    base = make_fill(x, params.get("fill", "zero"), sigma)
    wins = windows(h, w, patch, stride)
    with torch.no_grad():
        s0 = ctx.model(x)[0, ctx.target]
        total = torch.zeros_like(x)
        weight = torch.zeros_like(x)
        for i in range(0, len(wins), ctx.max_batch):
            chunk = wins[i:i + ctx.max_batch]
            masks = torch.zeros(len(chunk), 1, h, w)
            for j, (y0, x0) in enumerate(chunk):
                masks[j, 0, y0:y0 + patch, x0:x0 + patch] = 1.0
            xs = x * (1 - masks) + base * masks
            diff = s0 - ctx.model(xs)[:, ctx.target]
            total += (diff[:, None, None, None] * masks).sum(dim=0, keepdim=True)
            weight += masks.sum(dim=0, keepdim=True)
        attr = torch.where(weight > 0, total / weight.clamp(min=1), torch.zeros_like(total))
    return attr[0, 0].numpy()
