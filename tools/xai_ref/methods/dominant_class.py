"""dominant_class (CLEAR-DR's dominant-class map): grad-CAM (the default base) for every class;
per pixel the class of the largest value (ties: the lower index) and the strength
max(0, max_c cam_c); pixels without a positive value get class -1. Returns the strength map
and, third, the class map (compared by the test where the strength is clearly positive)."""
import numpy as np
import torch

from xai_ref.methods import gradcam

NAME = "dominant_class"
CASES = [{}]
MODELS = ["chest-demo"]


def compute(ctx, params):
    target = ctx.target
    maps = []
    for c in range(ctx.classes):
        ctx.target = c
        maps.append(torch.from_numpy(np.asarray(gradcam.compute(ctx, {}), dtype=np.float32)))
    ctx.target = target
    m = torch.stack(maps)
    best, cls = m.max(dim=0)  # first maximum: the lower class index
    cls = torch.where(best > 0, cls, torch.full_like(cls, -1))
    return best.clamp(min=0).numpy(), {}, cls.numpy().astype(np.float32)
