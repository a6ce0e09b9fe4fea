#!/usr/bin/python3
"""torch_methods.py - the PyTorch side of bench_methods: times the reference implementations
of tools/xai_ref/methods (the definitions xaid is tested against: torch autograd through the
ONNX graph as torch ops, xai_ref.model) on the same ONNX file, input, target, layer, head, batch
cap, superpixels and parameters as bench_methods, in interleaved rounds (one warm-up round),
beside a plain forward pass and a forward + input-gradient pass on the same graph. One JSON
line per row, as bench_methods prints them.

usage: torch_methods.py MODEL.onnx SIZE REPEATS BATCH THREADS LAYER HEAD_WEIGHT HEAD_BIAS SPEC...
  SPEC as bench_methods: method[:name=value,...]

Input x[i] = ((i * 7919) % 1000) / 1000 - 0.5, target class 0, input range [-3, 3], LIME on a
grid of 7 x 7 square superpixels, seed 1234. The graph's weights are converted to torch tensors
once (xai_ref.model.OnnxModel), so a call costs the ops only, plus Python's walk over the nodes
(about 2 % of a ResNet-18 forward pass, 10 % of a DenseNet-121 one).
"""
import importlib
import json
import os
import sys
import time
import types

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
from xai_ref.model import OnnxModel, input_grad  # noqa: E402


def parse(spec):
    name, _, rest = spec.partition(":")
    params = {}
    for kv in filter(None, rest.split(",")):
        k, v = kv.split("=")
        try:
            params[k] = float(v) if "." in v else int(v)
        except ValueError:
            params[k] = {"true": True, "false": False}.get(v, v)
    return name, params


def grid_segments(h, w, cells):
    cy, cx = -(-h // cells), -(-w // cells)
    ys, xs = np.meshgrid(np.arange(h) // cy, np.arange(w) // cx, indexing="ij")
    return (ys * cells + xs).astype(np.int64)


def median(v):
    v = sorted(v)
    return v[len(v) // 2] if len(v) % 2 else 0.5 * (v[len(v) // 2 - 1] + v[len(v) // 2])


def main():
    path, size, reps, batch, threads = sys.argv[1], *map(int, sys.argv[2:6])
    layer, head_w, head_b = sys.argv[6:9]
    torch.set_num_threads(threads)
    model = OnnxModel(path)
    shape = [1] + list(model.graph["inputs"][0]["shape"][1:])
    shape[2] = shape[3] = size
    n = int(np.prod(shape))
    x = torch.from_numpy(((np.arange(n, dtype=np.int64) * 7919) % 1000 / 1000.0 - 0.5)
                         .astype(np.float32).reshape(shape))
    ctx = types.SimpleNamespace(model=model, x=x, target=0, seed=1234, max_batch=batch,
                                input_lo=-3.0, input_hi=3.0, layer=layer, head_weight=head_w,
                                head_bias=head_b, segments=grid_segments(size, size, 7))

    def forward():
        with torch.no_grad():
            model(x)

    rows = [("forward", forward), ("forward+input_grad", lambda: input_grad(model, x, 0))]
    for spec in sys.argv[9:]:
        name, params = parse(spec)
        mod = importlib.import_module("xai_ref.methods." + name)
        rows.append((spec, (lambda m, p: lambda: m.compute(ctx, dict(p)))(mod, params)))
    times = {name: [] for name, _ in rows}
    for i in range(-1, reps):
        for name, fn in rows:
            t0 = time.perf_counter()
            fn()
            if i >= 0:
                times[name].append((time.perf_counter() - t0) * 1e3)
    for name, _ in rows:
        print(json.dumps({"impl": "pytorch", "method": name, "threads": torch.get_num_threads(),
                          "ms": [round(t, 3) for t in times[name]],
                          "median_ms": round(median(times[name]), 3)}), flush=True)


if __name__ == "__main__":
    main()
