#!/usr/bin/python3
"""torch_perturb.py - the PyTorch side of bench_perturb: occlusion or LIME on a torchvision
model in eager PyTorch, batched as Captum runs them (perturbations_per_eval = MAX_BATCH), with
xaid's default settings (occlusion: 32 px patches at stride 16 on 224, zero fill; LIME: 256
samples over a grid of 49 superpixels, zero fill). One JSON line with the run times.

usage: torch_perturb.py NAME METHOD SIZE REPEATS MAX_BATCH THREADS
"""
import json
import sys
import time

import torch
import torchvision


def occlusion(model, x, target, patch, stride, max_batch):
    _, _, h, w = x.shape
    wins = [(y, xx) for y in range(0, h - patch + 1, stride) for xx in range(0, w - patch + 1, stride)]
    s0 = model(x)[0, target]
    total, weight = torch.zeros_like(x), torch.zeros_like(x)
    for i in range(0, len(wins), max_batch):
        chunk = wins[i:i + max_batch]
        masks = torch.zeros(len(chunk), 1, h, w)
        for j, (y0, x0) in enumerate(chunk):
            masks[j, 0, y0:y0 + patch, x0:x0 + patch] = 1.0
        diff = s0 - model(x * (1 - masks))[:, target]
        total += (diff[:, None, None, None] * masks).sum(0, keepdim=True)
        weight += masks.sum(0, keepdim=True)
    return total / weight.clamp(min=1)


def lime(model, x, target, samples, cell, max_batch):
    _, _, h, w = x.shape
    ys, xs = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    seg = (ys // cell) * ((w + cell - 1) // cell) + xs // cell
    k = int(seg.max()) + 1
    z = (torch.rand(samples, k) < 0.5).double()
    z[0] = 1
    y = torch.cat([model(x * z[i:i + max_batch][:, seg].float()[:, None])[:, target]
                   for i in range(0, samples, max_batch)]).double()
    d = 1 - torch.nn.functional.cosine_similarity(z, torch.ones_like(z), dim=1)
    wt = torch.exp(-d * d / (2 * 0.25 ** 2))
    zm, ym = (wt[:, None] * z).sum(0) / wt.sum(), (wt * y).sum() / wt.sum()
    zc = (z - zm) * wt.sqrt()[:, None]
    coef = torch.linalg.solve(zc.T @ zc + torch.eye(k, dtype=z.dtype), zc.T @ ((y - ym) * wt.sqrt()))
    return coef[seg]


def main():
    name, method, size, reps, max_batch, threads = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:])
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = getattr(torchvision.models, name)(weights=None).eval()
    x = torch.randn(1, 3, size, size)
    patch = size - 12 * max(1, size // 14)
    run = (lambda: occlusion(model, x, 0, patch, patch // 2, max_batch)) if method == "occlusion" \
        else (lambda: lime(model, x, 0, 256, size // 7, max_batch))
    times = []
    with torch.no_grad():
        for _ in range(reps):
            t0 = time.perf_counter()
            run()
            times.append((time.perf_counter() - t0) * 1e3)
    st = sorted(times)
    med = st[reps // 2] if reps % 2 else 0.5 * (st[reps // 2 - 1] + st[reps // 2])
    print(json.dumps({"impl": "pytorch", "method": method, "threads": threads,
                      "max_batch": max_batch, "ms": [round(t, 1) for t in times],
                      "median_ms": round(med, 1)}))


if __name__ == "__main__":
    main()
