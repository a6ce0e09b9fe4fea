"""lime: LIME for images on the target logit, as the lime package's LimeImageExplainer defines
it and Captum's LimeBase runs it (draw interpretable samples, map them to inputs, score them in
batches, weight them with a similarity kernel, fit an interpretable linear model), in torch on
the same ONNX model, with the fixture's fixed superpixels (ctx.segments; the engine's SLIC is
tested on its own against scikit-image).

- Features: the superpixels, ordered by ascending label (labels < 0: no superpixel, never
  removed).
- Samples (same draws as core/methods/lime.c, from xai_ref.rng): z_0 = all ones (lime's first
  sample); rows 1..n-1 from n-1 x K uniforms in row-major order, kept where < 0.5.
- Input of z: x where the pixel's superpixel is kept, else the fill (_perturb.fill).
- Weights: Captum's exponential kernel exp(-d^2 / (2 width^2)) (= lime's sqrt(exp(-d^2/width^2)))
  with d the cosine distance (torch.nn.functional.cosine_similarity) between z and the all-ones
  sample, as the lime package measures it in the interpretable space; width 0.25 (lime's).
- Surrogate: scikit-learn's Ridge(alpha, fit_intercept=True) with sample weights, solved here
  as the augmented least-squares problem [sqrt(w) Xc; sqrt(alpha) I] b = [sqrt(w) yc; 0] with
  torch.linalg.lstsq in float64 (Xc, yc centred by the weighted means).
- Map: each pixel gets its superpixel's coefficient.
"""
import numpy as np
import torch
import torch.nn.functional as F

from xai_ref.methods._perturb import fill as make_fill
from xai_ref.model import batched
from xai_ref.rng import Rng

NAME = "lime"
CASES = [
    {},
    {"samples": 128, "fill": "mean", "alpha": 0.1},
    {"fill": "segment_mean", "kernel_width": 0.5},
    {"samples": 96, "fill": "blur", "sigma": 3.0, "alpha": 10.0},
]


def samples(seed, n, k):
    z = np.ones((n, k), dtype=np.float64)
    z[1:] = (Rng(seed).uniform((n - 1) * k).reshape(n - 1, k) < 0.5).astype(np.float64)
    return torch.from_numpy(z)


def ridge(z, y, w, alpha):
    sw = w.sum()
    zm = (w[:, None] * z).sum(0) / sw
    ym = (w * y).sum() / sw
    s = w.sqrt()[:, None]
    a = torch.cat([s * (z - zm), alpha ** 0.5 * torch.eye(z.shape[1], dtype=z.dtype)])
    b = torch.cat([s[:, 0] * (y - ym), torch.zeros(z.shape[1], dtype=z.dtype)])
    coef = torch.linalg.lstsq(a, b[:, None], driver="gelsd").solution[:, 0]
    return coef, ym - zm @ coef


def compute(ctx, params):
    x = ctx.x
    _, c, h, w = x.shape
    labels, seg = np.unique(ctx.segments[ctx.segments >= 0], return_inverse=True)
    segc = np.full(ctx.segments.shape, -1, dtype=np.int64)
    segc[ctx.segments >= 0] = seg
    k, n = len(labels), params.get("samples", 256)
    sigma = params.get("sigma", 0) or max((h * w / k) ** 0.5 / 4.0, 0.5)
    base = make_fill(x, params.get("fill", "zero"), sigma, segc)
    z = samples(ctx.seed, n, k)
    segt = torch.from_numpy(segc)
    zpad = torch.cat([z, torch.ones(n, 1, dtype=z.dtype)], dim=1)  # label -1 -> always kept
    keep = zpad[:, segt].float()[:, None]  # n x 1 x H x W
    with torch.no_grad():
        y = batched(lambda m: ctx.model(x * m + base * (1 - m))[:, ctx.target], keep,
                    ctx.max_batch).double()
    d = 1.0 - F.cosine_similarity(z, torch.ones_like(z), dim=1)
    width = params.get("kernel_width", 0.25)
    wts = torch.exp(-d * d / (2.0 * width * width))
    coef, _ = ridge(z, y, wts, params.get("alpha", 1.0))
    return coef[segt].where(segt >= 0, torch.zeros((), dtype=coef.dtype)).float().numpy()
