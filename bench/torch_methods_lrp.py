#!/usr/bin/python3
"""torch_methods_lrp.py - PyTorch timings of LRP, the way bench_methods times xaid: the same
ONNX file at batch 1 through tools/xai_ref (the ONNX graph as torch ops), the Zennit-style
reference of tools/xai_ref/methods/lrp.py for each rule, beside a plain forward pass and a
forward + input-gradient pass on the same graph, in interleaved rounds (two warm-up rounds).
The input and target are bench_methods': x[i] = ((i * 7919) % 1000) / 1000 - 0.5, class 0,
input range [-3, 3]. One JSON line per row.

usage: torch_methods_lrp.py MODEL.onnx SIZE REPEATS THREADS RULE...
   e.g. torch_methods_lrp.py resnet18.onnx 224 7 2 epsilon_plus_flat epsilon_gamma_box
"""
import json
import os
import sys
import time
import types

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from xai_ref.methods import lrp  # noqa: E402
from xai_ref.model import OnnxModel, input_grad  # noqa: E402


def main():
    path, size, reps, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    torch.set_num_threads(threads)
    model = OnnxModel(path)
    n = 3 * size * size
    x = torch.tensor([((i * 7919) % 1000) / 1000.0 - 0.5 for i in range(n)]).reshape(1, 3, size,
                                                                                       size)
    ctx = types.SimpleNamespace(model=model, x=x, target=0, input_lo=-3.0, input_hi=3.0)

    def forward():
        with torch.no_grad():
            model(x)

    rows = [("forward", forward), ("forward+input_grad", lambda: input_grad(model, x, 0))]
    rows += [("lrp:" + r, (lambda r: lambda: lrp.compute(ctx, {"rule": r}))(r))
             for r in sys.argv[5:]]
    times = {name: [] for name, _ in rows}
    for i in range(-2, reps):
        for name, fn in rows:
            t0 = time.perf_counter()
            fn()
            if i >= 0:
                times[name].append((time.perf_counter() - t0) * 1e3)
    for name, _ in rows:
        t = sorted(times[name])
        med = t[len(t) // 2] if len(t) % 2 else 0.5 * (t[len(t) // 2 - 1] + t[len(t) // 2])
        print(json.dumps({"impl": "torch", "method": name, "ms": [round(v, 3) for v in times[name]],
                          "median_ms": round(med, 3)}), flush=True)


if __name__ == "__main__":
    main()
