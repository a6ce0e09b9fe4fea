"""guided_backprop: Captum's GuidedBackprop (every Relu's gradient replaced by
relu(grad_input), see _relu_rules.py), reduced over channels by signed sum (default, the
reduction of Captum's visualize_image_attr) or max |.| with abs=True."""
from xai_ref.methods._relu_rules import reduce_channels, relu_rule_grad

NAME = "guided_backprop"
CASES = [{"abs": False}, {"abs": True}]


def compute(ctx, params):
    return reduce_channels(relu_rule_grad(ctx, "guided"), params.get("abs", False)).numpy()
