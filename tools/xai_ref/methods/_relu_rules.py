"""Modified Relu gradients of Captum's ModifiedReluGradientAttribution, as torch autograd
Functions that replace the graph's "Relu" ops through xai_ref.model's op overrides.

Captum registers a backward hook on every nn.ReLU module that returns
  GuidedBackprop:  relu(grad_input)   (grad_input = the ordinary gradient, grad_output * [x > 0])
  Deconvolution:   relu(grad_output)  (the sign of the forward input is ignored)
Only nn.ReLU is hooked (a torch Relu exports as an ONNX Relu); ReLU6 (Clip), LeakyReLU and
other activations keep their ordinary gradients, so only "Relu" is replaced here. The ONNX
graph does not tell nn.ReLU from F.relu, so every Relu op is replaced: Captum's result for a
model whose ReLUs are all modules (which its documentation requires).
"""
import torch
import torch.nn.functional as F

from xai_ref.model import input_grad


class _GuidedRelu(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return F.relu(x)

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return F.relu(grad_output * (x > 0).to(grad_output.dtype))


class _DeconvRelu(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return F.relu(x)

    @staticmethod
    def backward(ctx, grad_output):
        return F.relu(grad_output)


RULES = {"guided": _GuidedRelu, "deconv": _DeconvRelu}


def relu_rule_grad(ctx, rule):
    """The input gradient of the target logit ([C, H, W]) with every Relu replaced by rule."""
    fn = RULES[rule]
    g, _ = input_grad(ctx.model, ctx.x, ctx.target, ops={"Relu": lambda a, x: fn.apply(x)})
    return g[0]


def reduce_channels(g, use_abs):
    """Signed channel sum (Captum's visualize_image_attr reduction) or max |g| over channels."""
    return g.abs().amax(dim=0) if use_abs else g.sum(dim=0)
