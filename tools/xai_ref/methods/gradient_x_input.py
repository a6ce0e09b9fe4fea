"""gradient_x_input: x * d logit_target / d x, summed over channels (signed).

Definition: Captum's InputXGradient (attributions = inputs * gradients); the channel sum is
what Captum's visualize_image_attr does with a multi-channel attribution.
"""
from xai_ref.model import input_grad

NAME = "gradient_x_input"
CASES = [{}]


def compute(ctx, params):
    g, _ = input_grad(ctx.model, ctx.x, ctx.target)
    return (ctx.x * g)[0].sum(dim=0).numpy()
