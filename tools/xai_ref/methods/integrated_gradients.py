"""integrated_gradients: Captum's IntegratedGradients (multiply_by_inputs=True) of the target
logit, with its convergence delta; the map is the signed channel sum of the attributions.

    IG(x) = (x - x') * sum_k w_k * dS/dx (x' + alpha_k (x - x'))
    delta = sum IG - (S(x) - S(x'))          (Captum's compute_convergence_delta)

Rules and nodes as captum/attr/_utils/approximation_methods.py: gausslegendre from
numpy.polynomial.legendre.leggauss mapped to [0, 1]; riemann_left/right/middle with Captum's
alphas and step 1/n. riemann_trapezoid uses Captum's alphas linspace(0, 1, n) but the proper
trapezoid weights 1/(n-1), halved at the ends: Captum's step sizes (1/n, halved at the ends)
sum to (n-1)/n and scale the attributions by that factor (see core/methods/_quadrature.h).
The path points are float32 as in Captum (x' + alpha * (x - x')); the weighted sum of the
gradients and the attributions' sum are float64 here.

Baselines (core/methods/integrated_gradients.c): zeros; black = input_lo everywhere; blur =
separable Gaussian, kernel exp(-i^2/(2 sigma^2)) for |i| <= ceil(3 sigma) normalised, edges
replicated; uniform_noise = input_lo + (input_hi - input_lo) * Rng(seed).uniform(item), element
order C, H, W; constant = baseline_value.
"""
import math

import numpy as np
import torch
import torch.nn.functional as F

from xai_ref.model import batched, input_grad
from xai_ref.rng import Rng

NAME = "integrated_gradients"
CASES = [
    {},
    {"rule": "riemann_trapezoid", "baseline": "black", "steps": 20},
    {"rule": "riemann_left", "baseline": "blur", "blur_sigma": 4.0, "steps": 16},
    {"rule": "riemann_right", "baseline": "uniform_noise", "steps": 16, "batch_size": 5},
    {"rule": "riemann_middle", "baseline": "constant", "baseline_value": -0.5, "steps": 16},
]


def nodes(rule, n):
    """(alphas, weights) of a rule, float64."""
    if rule == "gausslegendre":
        t, w = np.polynomial.legendre.leggauss(n)
        return 0.5 * (1 + t), 0.5 * w
    w = np.full(n, 1.0 / n)
    if rule == "riemann_left":
        return np.linspace(0, 1 - 1 / n, n), w
    if rule == "riemann_right":
        return np.linspace(1 / n, 1, n), w
    if rule == "riemann_middle":
        return np.linspace(1 / (2 * n), 1 - 1 / (2 * n), n), w
    if rule == "riemann_trapezoid":
        w = np.full(n, 1.0 / (n - 1))
        w[0] = w[-1] = 0.5 / (n - 1)
        return np.linspace(0, 1, n), w
    raise ValueError(rule)


def blur(x, sigma):
    r = int(math.ceil(3 * sigma))
    i = torch.arange(-r, r + 1, dtype=torch.float64)
    k = torch.exp(-i * i / (2 * sigma * sigma))
    k = k / k.sum()
    c = x.shape[1]
    y = F.pad(x.double(), (r, r, 0, 0), mode="replicate")
    y = F.conv2d(y, k.view(1, 1, 1, -1).repeat(c, 1, 1, 1), groups=c).float().double()
    y = F.pad(y, (0, 0, r, r), mode="replicate")
    return F.conv2d(y, k.view(1, 1, -1, 1).repeat(c, 1, 1, 1), groups=c).float()


def baseline(ctx, params):
    kind = params.get("baseline", "zeros")
    x = ctx.x
    if kind == "zeros":
        return torch.zeros_like(x)
    if kind == "black":
        return torch.full_like(x, float(np.float32(ctx.input_lo)))
    if kind == "constant":
        return torch.full_like(x, float(params.get("baseline_value", 0.0)))
    if kind == "blur":
        return blur(x, float(params.get("blur_sigma", 10.0)))
    if kind == "uniform_noise":
        lo, hi = float(np.float32(ctx.input_lo)), float(np.float32(ctx.input_hi))
        u = Rng(ctx.seed).uniform(x.numel()).reshape(tuple(x.shape))
        return torch.from_numpy((lo + (hi - lo) * u).astype(np.float32))
    raise ValueError(kind)


def attribute(ctx, params):
    """(attributions [C,H,W] float64, S(x), S(x'))."""
    x, b = ctx.x, baseline(ctx, params)
    alphas, w = nodes(params.get("rule", "gausslegendre"), int(params.get("steps", 50)))
    pts = torch.cat([b + float(a) * (x - b) for a in alphas])
    bs = int(params.get("batch_size", 0)) or ctx.max_batch
    g, _ = batched(lambda z: input_grad(ctx.model, z, ctx.target), pts, min(bs, ctx.max_batch))
    total = (g.double() * torch.from_numpy(w).view(-1, 1, 1, 1)).sum(dim=0)
    with torch.no_grad():
        s = ctx.model(torch.cat([x, b]))[:, ctx.target].double()
    return total * (x - b)[0].double(), s[0].item(), s[1].item()


def compute(ctx, params):
    attr, sx, sb = attribute(ctx, params)
    ds = sx - sb
    delta = attr.sum().item() - ds
    # The delta is a small difference of sums of size |dS|, so it is compared to that scale:
    # 2e-4 |dS| when the engine runs the plain float32 convolutions (XAI_WINOGRAD=0), whose
    # rounding is PyTorch's to 1e-7. "tol_rounding" is the bound for the engine's default
    # path (Winograd F(4x4, 3x3), rounding 1e-5): along the path a few ReLU gates sit so near
    # zero that any change of rounding flips them. OpenBLAS's Haswell kernels instead of the
    # SkylakeX ones move the delta by 4e-3 |dS| with plain convolutions already; hence 5e-3.
    tol, tol_r = 2e-4 * max(abs(ds), 1.0), 5e-3 * max(abs(ds), 1.0)
    metrics = {"ig_delta": {"value": delta, "tol": tol, "tol_rounding": tol_r},
               "ig_delta_relative": {"value": abs(delta) / abs(ds), "tol": tol / abs(ds),
                                     "tol_rounding": tol_r / abs(ds)},
               "ig_score": {"value": sx, "tol": 1e-4 * max(abs(sx), 1.0)},
               "ig_baseline_score": {"value": sb, "tol": 1e-4 * max(abs(sb), 1.0)}}
    return attr.sum(dim=0).float().numpy(), metrics
