"""attention: one of the model's attention-map outputs (ctx.attention, in model.json's order),
reduced over its channels (mean or max) and upsampled bilinearly (align_corners=False) to the
model input grid, as pytorch-grad-cam upsamples CAMs."""
import torch.nn.functional as F

import onnx_torch_eval

NAME = "attention"
CASES = [{}, {"reduce": "max"}]
MODELS = ["chest-attention"]


def compute(ctx, params):
    outs, _ = onnx_torch_eval.run(ctx.model.graph, ctx.x)
    names = [o["name"] for o in ctx.model.graph["outputs"]]
    a = outs[names.index(ctx.attention[params.get("index", 0)])][0]
    if a.dim() == 2:
        a = a[None]
    a = a.max(dim=0)[0] if params.get("reduce", "mean") == "max" else a.mean(dim=0)
    size = tuple(ctx.x.shape[2:])
    return F.interpolate(a[None, None], size=size, mode="bilinear",
                         align_corners=False)[0, 0].numpy()
