#!/usr/bin/python3
"""torch_bench.py - the PyTorch side of bench/run: exports a torchvision model to ONNX, or
times it the way bench_engine times xaid (forward; forward + gradient of one logit with
respect to the input, parameter gradients off). One JSON line per timing run.

usage: torch_bench.py export NAME OUT.onnx SIZE
       torch_bench.py time NAME SIZE BATCH REPEATS THREADS
"""
import json
import resource
import sys
import time

import torch
import torchvision


def build(name):
    torch.manual_seed(0)
    model = getattr(torchvision.models, name)(weights=None)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def export(name, out, size):
    model = build(name)
    x = torch.randn(1, 3, size, size)
    torch.onnx.export(model, x, out, opset_version=13, input_names=["input"],
                      output_names=["logits"], do_constant_folding=True,
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})


def run_once(model, x, grad):
    if not grad:
        with torch.no_grad():
            model(x)
        return
    xi = x.clone().requires_grad_(True)
    out = model(xi)
    out[:, 0].sum().backward()


def timed(name, size, batch, reps, threads):
    torch.set_num_threads(threads)
    model = build(name)
    x = torch.randn(batch, 3, size, size)
    for _ in range(2):
        run_once(model, x, True)
    tf, tb = [], []
    for _ in range(reps):
        t0 = time.perf_counter()
        run_once(model, x, False)
        t1 = time.perf_counter()
        run_once(model, x, True)
        tf.append((t1 - t0) * 1e3)
        tb.append((time.perf_counter() - t1) * 1e3)
    med = lambda v: sorted(v)[len(v) // 2] if len(v) % 2 else 0.5 * (sorted(v)[len(v) // 2 - 1] + sorted(v)[len(v) // 2])
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps({"impl": "pytorch", "version": torch.__version__, "batch": batch,
                      "threads": torch.get_num_threads(), "forward_ms": tf,
                      "forward_median_ms": med(tf), "forward_grad_ms": tb,
                      "forward_grad_median_ms": med(tb), "peak_rss_mb": rss}))


if __name__ == "__main__":
    if sys.argv[1] == "export":
        export(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        timed(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]))
