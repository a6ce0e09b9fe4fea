"""cam: class activation mapping (Zhou et al. 2016): cam = sum_k W[target, k] A_k with W the
weight of the linear layer after global average pooling (ctx.head_weight) and A the pooled
layer (ctx.layer), as the paper's returnCAM and TorchCAM's CAM compute it, resized to the
input (bilinear, align_corners=False). relu=True keeps the positive part (as grad-CAM); the
default keeps the signed map. The paper's min-max scaling for display is left to the
renderer."""
from xai_ref.methods._cam_family import layer_activation, upsample, weighted_sum

NAME = "cam"
CASES = [{"relu": False}, {"relu": True}]


def compute(ctx, params):
    a, _, _ = layer_activation(ctx, with_grad=False)
    w = ctx.model.initializer(ctx.head_weight)[ctx.target]
    cam = weighted_sum(w.double(), a.double(), relu=params.get("relu", False))
    return upsample(cam, ctx).numpy()
