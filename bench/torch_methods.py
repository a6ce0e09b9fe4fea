#!/usr/bin/python3
"""torch_methods.py - the PyTorch side of bench_methods: times the reference implementations
of tools/xai_ref/methods (torch autograd through the ONNX interpreter xai_ref.model) on the same
model, input, target, batch cap and parameters as bench_methods, one JSON line per spec.

usage: torch_methods.py MODEL.onnx REPEATS BATCH THREADS SPEC...
       torch_methods.py torchvision:NAME REPEATS BATCH THREADS SPEC...
  SPEC as bench_methods: method[:name=value,...]

The ONNX interpreter rebuilds every weight tensor from the protobuf bytes on each call (about
3 s per call for ResNet-18 on a 2-core machine), which swamps the methods' own cost. The
torchvision:NAME form runs the same reference code on the torchvision module itself (the
model bench/torch_bench.py exports for bench_methods: same seed, same weights), so the
timing is PyTorch's, for ratios.
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
from xai_ref.model import OnnxModel  # noqa: E402


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


class TorchvisionModel:
    """A torchvision module with the calling convention of xai_ref.model.OnnxModel (no keep,
    no op overrides: enough for the gradient methods)."""

    def __init__(self, name):
        sys.path.insert(0, os.path.join(ROOT, "bench"))
        import torch_bench
        self.net = torch_bench.build(name)
        self.shape = [1, 3, 224, 224]

    def __call__(self, x, keep=(), ops=None):
        if keep or ops:
            raise NotImplementedError("keep/ops need the ONNX interpreter")
        return self.net(x)


def load(arg):
    if arg.startswith("torchvision:"):
        m = TorchvisionModel(arg.split(":", 1)[1])
        return m, m.shape
    m = OnnxModel(arg)
    return m, [1] + [d for d in m.graph["inputs"][0]["shape"][1:]]


def main():
    onnx, reps, batch, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    torch.set_num_threads(threads)
    model, shape = load(onnx)
    n = int(np.prod(shape))
    x = torch.from_numpy(((np.arange(n, dtype=np.int64) * 7919) % 1000 / 1000.0 - 0.5)
                         .astype(np.float32).reshape(shape))
    for spec in sys.argv[5:]:
        name, params = parse(spec)
        mod = importlib.import_module("xai_ref.methods." + name)
        ctx = types.SimpleNamespace(model=model, x=x, target=0, seed=1234, max_batch=batch,
                                    input_lo=-2.1, input_hi=2.6, layer=None, head_weight=None,
                                    head_bias=None, segments=None)
        times = []
        for i in range(reps + 1):
            t0 = time.perf_counter()
            mod.compute(ctx, dict(params))
            if i:
                times.append((time.perf_counter() - t0) * 1e3)
        print(json.dumps({"impl": "pytorch", "spec": spec, "batch": batch,
                          "median_ms": round(float(np.median(times)), 1),
                          "ms": [round(t, 1) for t in sorted(times)]}), flush=True)


if __name__ == "__main__":
    main()
