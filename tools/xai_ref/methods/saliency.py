"""saliency: |d logit_target / d x|, max over channels (Captum Saliency, abs=True), or the
signed channel sum with abs=False."""
from xai_ref.model import input_grad

NAME = "saliency"
CASES = [{"abs": True}, {"abs": False}]


def compute(ctx, params):
    g, _ = input_grad(ctx.model, ctx.x, ctx.target)
    g = g[0]
    if params.get("abs", True):
        return g.abs().amax(dim=0).numpy()
    return g.sum(dim=0).numpy()
