"""deconvnet: Captum's Deconvolution (every Relu's gradient replaced by relu(grad_output),
see _relu_rules.py), reduced over channels by signed sum (default) or max |.| with
abs=True."""
from xai_ref.methods._relu_rules import reduce_channels, relu_rule_grad

NAME = "deconvnet"
CASES = [{"abs": False}, {"abs": True}]


def compute(ctx, params):
    return reduce_channels(relu_rule_grad(ctx, "deconv"), params.get("abs", False)).numpy()
