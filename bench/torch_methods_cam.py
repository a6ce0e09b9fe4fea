#!/usr/bin/python3
"""torch_methods_cam.py - PyTorch timings of the CAM family and the modified-Relu methods, the
way bench_methods times xaid: eager torchvision model at batch 1, parameter gradients off,
the layer kept by a forward hook (pytorch-grad-cam's ActivationsAndGradients), its gradient
by torch.autograd.grad (which, like xaid's stop hook, runs only the backward nodes above the
layer), guided/deconv Relu rules by swapping nn.ReLU modules for an autograd Function
(pytorch-grad-cam's GuidedBackpropReLUModel). One JSON line per row.

usage: torch_methods_cam.py export NAME OUT.onnx SIZE
       torch_methods_cam.py time NAME SIZE REPEATS THREADS
"""
import json
import sys
import time

import torch
import torch.nn.functional as F
import torchvision


class Rule(torch.autograd.Function):
    guided = True

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return F.relu(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return F.relu(g * (x > 0).to(g.dtype)) if Rule.guided else F.relu(g)


class RuleModule(torch.nn.Module):
    def forward(self, x):
        return Rule.apply(x)


def build(name):
    torch.manual_seed(0)
    model = getattr(torchvision.models, name)(weights=None).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def swap_relus(module, new):
    for k, m in module.named_children():
        if isinstance(m, (torch.nn.ReLU, RuleModule)):
            setattr(module, k, new())
        else:
            swap_relus(m, new)


class Methods:
    def __init__(self, model, layer, size):
        self.model, self.size, self.kept = model, (size, size), {}
        layer.register_forward_hook(lambda m, i, o: self.kept.__setitem__("a", o))

    def forward(self, x, t):
        with torch.no_grad():
            self.model(x)

    def input_grad(self, x, t):
        x = x.clone().requires_grad_(True)
        self.model(x)[0, t].backward()
        return x.grad[0]

    def up(self, cam):
        return F.interpolate(cam[None, None], size=self.size, mode="bilinear",
                             align_corners=False)[0, 0]

    def layer_grad(self, x, t):
        x = x.clone().requires_grad_(True)
        y = self.model(x)
        a = self.kept["a"]
        return a[0].detach(), torch.autograd.grad(y[0, t], a)[0][0]

    def cam(self, x, t):
        with torch.no_grad():
            self.model(x)
            w = self.model.fc.weight[t]
            return self.up((w[:, None, None] * self.kept["a"][0]).sum(0))

    def gradcam(self, x, t):
        a, g = self.layer_grad(x, t)
        return self.up(F.relu((g.mean((1, 2))[:, None, None] * a).sum(0)))

    def gradcam_pp(self, x, t):
        a, g = self.layer_grad(x, t)
        g2 = g * g
        aij = g2 / (2 * g2 + a.sum((1, 2))[:, None, None] * g2 * g + 1e-6)
        aij = torch.where(g != 0, aij, torch.zeros_like(aij))
        w = (F.relu(g) * aij).sum((1, 2))
        return self.up(F.relu((w[:, None, None] * a).sum(0)))

    def ruled(self, x, t, guided):
        Rule.guided = guided
        swap_relus(self.model, RuleModule)
        try:
            return self.input_grad(x, t).sum(0)
        finally:
            swap_relus(self.model, lambda: torch.nn.ReLU(inplace=True))

    def guided_backprop(self, x, t):
        return self.ruled(x, t, True)

    def deconvnet(self, x, t):
        return self.ruled(x, t, False)

    def guided_gradcam(self, x, t):
        cam = self.gradcam(x, t)
        cam = (cam - cam.min()) / (1e-7 + cam.max() - cam.min())
        return cam * self.guided_backprop(x, t)


ROWS = ["forward", "input_grad", "cam", "gradcam", "gradcam_pp", "guided_backprop",
        "deconvnet", "guided_gradcam"]


def timed(name, size, reps, threads):
    torch.set_num_threads(threads)
    model = build(name)
    meth = Methods(model, model.layer4[-1], size)
    x = torch.randn(1, 3, size, size)
    for row in ROWS:
        fn = getattr(meth, row)
        ts = []
        for i in range(reps + 2):
            t0 = time.perf_counter()
            fn(x, 0)
            if i >= 2:
                ts.append((time.perf_counter() - t0) * 1e3)
        ts.sort()
        med = ts[len(ts) // 2] if len(ts) % 2 else 0.5 * (ts[len(ts) // 2 - 1] + ts[len(ts) // 2])
        print(json.dumps({"impl": "pytorch", "method": row, "threads": torch.get_num_threads(),
                          "ms": ts, "median_ms": med}), flush=True)


def export(name, out, size):
    model = build(name)
    torch.onnx.export(model, torch.randn(1, 3, size, size), out, opset_version=13,
                      input_names=["input"], output_names=["logits"], do_constant_folding=True,
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})


if __name__ == "__main__":
    if sys.argv[1] == "export":
        export(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        timed(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
