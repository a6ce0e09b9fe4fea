#!/usr/bin/env python3
"""make_onnx_fixtures.py - small ONNX files exported by PyTorch for the importer tests.

Writes tests/data/onnx/: tiny models that use only ops the importer tests can run with their
fake ops (1x1 Conv, Relu, Reshape, Add) plus whatever the exporter emits around them (shape
subgraphs, BatchNormalization, Dropout), each with an input batch and PyTorch's output:
  convbn_*   conv 1x1 -> batch norm -> relu -> dropout -> x.view(x.size(0), -1) + 0.5
  shuffle_*  x.view(b, 2, c // 2, h, w) -> relu -> reshape(b, -1) + 0.5
  cls_*      a ViT-style class token: token.expand(x.shape[0], -1, -1) + x, with x [n, 1, 4]
             (Equal/Where/ConstantOfShape around a batch-dependent Expand shape)
dyn: dynamic batch (dynamic_axes), fixed: batch 3; oN: opset N; BN kept by
TrainingMode.PRESERVE (EVAL lets the exporter fold it itself).
Run: python3 tools/make_onnx_fixtures.py  (needs torch; the outputs are committed)
"""
import os

import torch
import torch.nn as nn

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "onnx")


class ConvBn(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 1)
        self.bn = nn.BatchNorm2d(4)
        self.drop = nn.Dropout(0.5)

    def forward(self, x):
        y = self.drop(torch.relu(self.bn(self.conv(x))))
        return y.view(y.size(0), -1) + 0.5


class Shuffle(nn.Module):
    def forward(self, x):
        b, c, h, w = x.size()
        y = torch.relu(x.view(b, 2, c // 2, h, w))
        return y.reshape(b, -1) + 0.5


class ClsToken(nn.Module):
    def __init__(self):
        super().__init__()
        self.token = nn.Parameter(torch.randn(1, 1, 4))

    def forward(self, x):
        return self.token.expand(x.shape[0], -1, -1) + x


def export(model, x, name, opset, dynamic, mode):
    axes = {"x": {0: "N"}, "y": {0: "N"}} if dynamic else None
    torch.onnx.export(model, x, os.path.join(OUT, name + ".onnx"), opset_version=opset,
                      training=mode, input_names=["x"], output_names=["y"], dynamic_axes=axes)


def save(t, name):
    t.detach().numpy().astype("<f4").tofile(os.path.join(OUT, name + ".bin"))


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    m = ConvBn()
    with torch.no_grad():
        m.bn.running_mean.uniform_(-1, 1)
        m.bn.running_var.uniform_(0.5, 2)
        m.bn.weight.uniform_(0.5, 2)
        m.bn.bias.uniform_(-1, 1)
    m.eval()
    x = torch.randn(3, 3, 2, 2)
    save(x, "convbn_x")
    save(m(x), "convbn_y")
    keep, fold = torch.onnx.TrainingMode.PRESERVE, torch.onnx.TrainingMode.EVAL
    export(m, x, "convbn_dyn_o9", 9, True, keep)
    export(m, x, "convbn_dyn_o13", 13, True, keep)
    export(m, x, "convbn_dyn_o17", 17, True, fold)
    export(m, x, "convbn_fixed_o11", 11, False, keep)
    s = Shuffle().eval()
    x = torch.randn(3, 4, 2, 2)
    save(x, "shuffle_x")
    save(s(x), "shuffle_y")
    export(s, x, "shuffle_dyn_o9", 9, True, fold)
    export(s, x, "shuffle_dyn_o13", 13, True, fold)
    c = ClsToken().eval()
    x = torch.randn(3, 1, 4)
    save(x, "cls_x")
    save(c(x), "cls_y")
    export(c, x, "cls_dyn_o13", 13, True, fold)


if __name__ == "__main__":
    main()
