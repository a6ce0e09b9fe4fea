"""_noise.py - the noise tunnel shared by smoothgrad, smoothgrad_sq and vargrad.

Definition: Captum's NoiseTunnel over Saliency(abs=False) (the raw input gradient of the target
logit), nt_type "smoothgrad" (mean over samples), "smoothgrad_sq" (mean of squares) or
"vargrad" (mean of squares minus the squared mean: the population variance). The statistics
are taken in float64 here (vargrad clamped at 0 against rounding).

Noise: sigma = sigma_frac * (input_hi - input_lo), with input_lo/hi as float32 (the engine's
struct field type). Draws: xai_ref.rng.Rng(ctx.seed).normal(samples * item), in sample-major,
then element (C, H, W) order, as core/methods/_noise.h documents:
x_k[e] = x[e] + float32(sigma * z[k, e]).

Channel reductions: max_abs (max over channels of |v|), sum_abs (sum of |v|), sum (signed sum).
"""
import numpy as np
import torch

from xai_ref.model import batched, input_grad
from xai_ref.rng import Rng

REDUCE = ["max_abs", "sum_abs", "sum"]


def noisy_copies(ctx, samples, sigma_frac):
    lo, hi = float(np.float32(ctx.input_lo)), float(np.float32(ctx.input_hi))
    sigma = sigma_frac * (hi - lo)
    item = ctx.x[0].numel()
    z = Rng(ctx.seed).normal(samples * item).reshape((samples,) + tuple(ctx.x.shape[1:]))
    noise = torch.from_numpy((sigma * z).astype(np.float32))
    return ctx.x.repeat(samples, 1, 1, 1) + noise


def stat(ctx, params, kind):
    samples = int(params.get("samples", 25))
    xs = noisy_copies(ctx, samples, float(params.get("sigma", 0.15)))
    g, _ = batched(lambda z: input_grad(ctx.model, z, ctx.target), xs, ctx.max_batch)
    g = g.double()
    mean, msq = g.mean(dim=0), (g * g).mean(dim=0)
    if kind == "smoothgrad":
        return mean
    if kind == "smoothgrad_sq":
        return msq
    return (msq - mean * mean).clamp(min=0)


def reduce(v, how):
    if how == "max_abs":
        return v.abs().amax(dim=0)
    if how == "sum_abs":
        return v.abs().sum(dim=0)
    return v.sum(dim=0)


def compute(ctx, params, kind, default_reduce):
    v = stat(ctx, params, kind)
    return reduce(v, params.get("reduce", default_reduce)).float().numpy()
