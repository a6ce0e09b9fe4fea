"""model.py - an ONNX model as a differentiable torch function (via onnx_torch_eval)."""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import onnx_summary  # noqa: E402
import onnx_torch_eval  # noqa: E402


class OnnxModel:
    def __init__(self, path):
        self.path = path
        self.graph = onnx_summary.load(path, with_data=True)
        self.input_name = self.graph["inputs"][0]["name"]
        self.output_name = self.graph["outputs"][0]["name"]
        self.consts = onnx_torch_eval.constants(self.graph)

    def __call__(self, x, keep=(), ops=None):
        """Logits for x ([N,C,H,W]); with keep, also a dict of the named intermediate values.
        ops replaces op implementations, e.g. {"Relu": guided_relu}."""
        outs, kept = onnx_torch_eval.run(self.graph, x, keep=list(keep) or None, ops=ops,
                                         consts=self.consts)
        return (outs[0], kept) if keep else outs[0]

    def initializer(self, name):
        """A constant (initializer) of the graph as a torch tensor."""
        return onnx_torch_eval.to_torch(self.graph["tensors"][name])


def input_grad(model, x, target, ops=None):
    """Gradient of sum_i logits[i, target] with respect to x (each item's own gradient)."""
    x = x.detach().clone().requires_grad_(True)
    y = model(x, ops=ops)
    y[:, target].sum().backward()
    return x.grad.detach(), y.detach()[:, target]


def batched(fn, xs, max_batch):
    """Applies fn to xs in chunks of max_batch along dim 0 and concatenates the results."""
    parts = [fn(xs[i:i + max_batch]) for i in range(0, xs.shape[0], max_batch)]
    if isinstance(parts[0], tuple):
        return tuple(torch.cat(p) for p in zip(*parts))
    return torch.cat(parts)
